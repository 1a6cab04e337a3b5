"""Alembic environment: runs on the connection handed over by `db.engine.upgrade` or on a URL."""

from alembic import context
from sqlalchemy import Connection, create_engine

from learning_loop.db.engine import VERSION_TABLE
from learning_loop.db.models import Base

config = context.config
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic: set sqlalchemy.url or hand over a connection")
    engine = create_engine(url)
    with engine.begin() as conn:
        run(conn)
