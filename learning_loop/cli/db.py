"""`shorts-engine db`: schema management."""

from __future__ import annotations

import typer

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Bring the product database's schema to the latest migration."""
    from learning_loop.db.engine import current_revision, upgrade
    from learning_loop.services.context import open_database
    from learning_loop.settings import load_settings

    db = open_database(load_settings(), check_schema=False)
    before = current_revision(db.engine)
    upgrade(db.engine)
    after = current_revision(db.engine)
    typer.echo(f"schema at revision {after} (was {before or 'empty'})")
    db.dispose()


@app.command("current")
def current_cmd() -> None:
    """Print the schema revision of the database and of the code."""
    from learning_loop.db.engine import current_revision, head_revision
    from learning_loop.services.context import open_database
    from learning_loop.settings import load_settings

    db = open_database(load_settings(), check_schema=False)
    typer.echo(f"database: {current_revision(db.engine) or 'empty'}  code: {head_revision()}")
    db.dispose()
