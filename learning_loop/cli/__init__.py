"""The `shorts-engine` command line: thin commands over the services."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

# Typer 0.29 ships its own copy of click; its exceptions are what the parser raises.
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from learning_loop.cli import api_cmd, learn, projects, tokens
from learning_loop.cli import db as db_cli
from learning_loop.cli.demo import demo, sample
from learning_loop.cli.output import error_line
from learning_loop.cli.simulate import simulate
from learning_loop.errors import LearningLoopError, scrub

if TYPE_CHECKING:
    from sqlalchemy.exc import SQLAlchemyError

app = typer.Typer(
    name="shorts-engine",
    help="Learning Loop: learn which video recipes work and plan the next batch.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(projects.app, name="projects")
app.add_typer(learn.app, name="learn")
app.add_typer(db_cli.app, name="db")
app.add_typer(api_cmd.app, name="api")
app.add_typer(tokens.app, name="tokens")
app.command("demo")(demo)
app.command("sample")(sample)
app.command("simulate")(simulate)


def _database_error(exc: SQLAlchemyError) -> str:
    if getattr(exc, "connection_invalidated", False):
        return (
            "database error: the connection to the database was lost; the command's "
            "transaction was rolled back, nothing of it was written: run it again"
        )
    # The driver's text can quote the URL; keep only its first line and no credentials.
    first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return f"database error: {scrub(first)}"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every expected failure ends as one line on stderr and a non-zero exit."""
    command = typer.main.get_command(app)
    try:
        # Without standalone mode, click hands back a command's `typer.Exit(code)` as the
        # return value instead of raising it: a non-zero one is the command's failure.
        code = command.main(args=argv, prog_name="shorts-engine", standalone_mode=False)
        if isinstance(code, int) and code:
            return code
    except typer.Exit as exc:
        return exc.exit_code
    except NoArgsIsHelpError as exc:
        sys.stdout.write(exc.format_message() + "\n")
        return 0
    except ClickException as exc:
        error_line(exc.format_message())
        return exc.exit_code or 2
    except typer.Abort:
        error_line("aborted")
        return 130
    except LearningLoopError as exc:
        error_line(exc.message)
        return 1
    except BrokenPipeError:
        return 1
    except Exception as exc:
        message = _database_failure(exc)
        if message is None:
            raise
        error_line(message)
        return 1
    return 0


def _database_failure(exc: Exception) -> str | None:
    """The line for a failure of the database layer, or None for any other exception.

    The CLI imports SQLAlchemy only in the commands that open the database: when it was never
    imported, no exception can be one of its errors (nor `SchemaNotReady`).
    """
    if "learning_loop.db.engine" in sys.modules:
        from learning_loop.db.engine import SchemaNotReady

        if isinstance(exc, SchemaNotReady):
            return str(exc)
    if "sqlalchemy.exc" in sys.modules:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            return _database_error(exc)
    return None


def entrypoint() -> None:
    sys.exit(main())
