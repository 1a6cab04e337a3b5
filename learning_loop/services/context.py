"""Opening the product database the settings point at, ready for use."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.orm import configure_mappers

from learning_loop.db import models  # noqa: F401  (the mappers configure_mappers readies)
from learning_loop.db.engine import Database, ensure_schema
from learning_loop.settings import Settings


def open_database(settings: Settings, *, check_schema: bool = True) -> Database:
    """The product database; a SQLite database brings its schema up to date by itself.

    A server database (PostgreSQL) is upgraded only by `shorts-engine db upgrade`, so that a
    schema change there is always a deliberate step.
    """
    url = settings.resolved_database_url
    # The ORM's mappers are configured here, once, before any thread is handed the database,
    # rather than by whichever request uses them first.
    configure_mappers()
    db = Database.from_url(url)
    if check_schema:
        ensure_schema(db.engine, auto_upgrade=make_url(url).get_backend_name() == "sqlite")
    return db
