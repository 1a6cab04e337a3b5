"""The `shorts-engine` command line: thin commands over the services."""

from __future__ import annotations

import sys

import typer
from sqlalchemy.exc import SQLAlchemyError

# Typer 0.29 ships its own copy of click; its exceptions are what the parser raises.
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from learning_loop.cli import api_cmd, learn, projects
from learning_loop.cli import db as db_cli
from learning_loop.cli.demo import demo, sample
from learning_loop.cli.output import error_line
from learning_loop.cli.simulate import simulate
from learning_loop.db.engine import SchemaNotReady
from learning_loop.services.errors import LearningLoopError

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
app.command("demo")(demo)
app.command("sample")(sample)
app.command("simulate")(simulate)


def _database_error(exc: SQLAlchemyError) -> str:
    # The driver's text can quote the URL; keep only its first line and no credentials.
    first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return f"database error: {first}"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every expected failure ends as one line on stderr and a non-zero exit."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="shorts-engine", standalone_mode=False)
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
    except SchemaNotReady as exc:
        error_line(str(exc))
        return 1
    except SQLAlchemyError as exc:
        error_line(_database_error(exc))
        return 1
    except BrokenPipeError:
        return 1
    return 0


def entrypoint() -> None:
    sys.exit(main())
