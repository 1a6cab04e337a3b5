"""Engine and transaction helpers, and the schema upgrade that runs Alembic's migrations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:  # Alembic is imported where a schema is checked or changed, not at start
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Not Alembic's default `alembic_version`: Dagster's PostgreSQL storage keeps its own table of
# that name, and the two may share a database.
VERSION_TABLE = "learning_loop_schema_version"


class SchemaNotReady(RuntimeError):
    """The database exists but its schema is not at the code's revision."""


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 128 MB of page cache (the default is 2 MB): a daily run's inserts land all over the
    # reward history's indexes, and a cache smaller than them turns each into disk reads.
    cursor.execute("PRAGMA cache_size=-131072")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock at BEGIN, so two writers queue on busy_timeout instead of
    # one failing when it upgrades a read lock mid-transaction. Readers begin deferred, so
    # they never wait for each other (WAL lets them read beside a writer).
    if conn.get_execution_options().get("sqlite_read_only"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


READS_APPLICATION_NAME = "learning-loop-reads"


def make_engine(url: str, *, time_limit_ms: int | None = None, reads_only: bool = False) -> Engine:
    """The engine of `url`. `time_limit_ms` (PostgreSQL): every statement of its connections
    that runs longer, or waits longer for a lock, is cancelled (an OperationalError).

    `reads_only` (PostgreSQL): connections for short reads. Each statement runs on its own
    (autocommit, in a read-only session), so a read is one round trip: no BEGIN before it,
    no ROLLBACK after it, and no ping when the connection is taken from the pool. READ
    COMMITTED gives each statement its own snapshot inside a transaction too, so nothing is
    lost; a connection the server dropped fails its read once (`is_disconnect`), and the
    caller retries (`api.deps.Reads`).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is switched off so BEGIN IMMEDIATE is ours.
        event.listen(
            engine,
            "connect",
            lambda dbapi_conn, _rec: setattr(dbapi_conn, "isolation_level", None),
        )
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No JIT: the product's statements are either short or plain scans and sorts, and JIT
    # compilation alone took most of the experiments step (bench/RESULTS.md).
    options = "-c jit=off"
    if time_limit_ms is not None:
        options += f" -c statement_timeout={time_limit_ms} -c lock_timeout={time_limit_ms}"
    if reads_only:
        options += " -c default_transaction_read_only=on"
        return create_engine(
            url,
            isolation_level="AUTOCOMMIT",
            pool_pre_ping=False,
            pool_reset_on_return=None,
            pool_size=5,
            max_overflow=10,
            connect_args={
                "options": options,
                "connect_timeout": 10,
                "application_name": READS_APPLICATION_NAME,  # shown in pg_stat_activity
            },
        )
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        # A server that does not answer fails the connection after 10 s instead of the
        # operating system's minutes.
        connect_args={"options": options, "connect_timeout": 10},
    )


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


# A migration file's own lines `revision = "…"` and `down_revision = "…"` (or None), with or
# without an annotation.
_REVISION_LINE = re.compile(
    r"""^revision(?:[ \t]*:[^=\n]*)?[ \t]*=[ \t]*["']([^"'\n]+)["'][ \t]*$""", re.M
)
_DOWN_LINE = re.compile(
    r"""^down_revision(?:[ \t]*:[^=\n]*)?[ \t]*=[ \t]*(?:None|["']([^"'\n]+)["'])[ \t]*$""", re.M
)


@lru_cache(maxsize=1)
def migration_head() -> str | None:
    """The head revision, read from the migration files' text without importing Alembic.

    None unless every file names one revision and one parent (or None) and they form a single
    line with one head; the caller then asks Alembic (`head_revision`).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    files = [p for p in (MIGRATIONS_DIR / "versions").glob("*.py") if p.name != "__init__.py"]
    for path in files:
        source = path.read_text(encoding="utf-8")
        revision = _REVISION_LINE.findall(source)
        parent = _DOWN_LINE.findall(source)
        if len(revision) != 1 or len(parent) != 1:
            return None
        revisions.add(revision[0])
        if parent[0]:
            parents.add(parent[0])
    heads = revisions - parents
    if len(revisions) != len(files) or not parents <= revisions or len(heads) != 1:
        return None
    return heads.pop()


def recorded_revision(engine: Engine) -> str | None:
    """The revision in the database's version table (None: no table or not one row), read
    with plain SQL: what `current_revision` reads, without importing Alembic."""
    with engine.connect() as conn:
        conn.execution_options(sqlite_read_only=True)
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        found = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return str(found[0]) if len(found) == 1 else None


def ensure_schema(engine: Engine, *, auto_upgrade: bool) -> None:
    """Upgrade the embedded database on first use; refuse to run on a stale server database."""
    # The usual case, a database at the head, is told without Alembic (about 0.1 s of imports
    # at every start of the CLI); anything else goes through Alembic as before.
    head = migration_head()
    if head is not None and recorded_revision(engine) == head:
        return
    if current_revision(engine) == head_revision():
        return
    if auto_upgrade:
        upgrade(engine)
        return
    raise SchemaNotReady(
        "the database schema is not up to date: run `shorts-engine db upgrade` first"
    )


class Database:
    """An engine plus the one way services open a unit of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: commit when the block ends, roll back if it raises."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; closing it ends its transaction without expiring what it read."""
        with self._sessions() as session:
            session.connection(execution_options={"sqlite_read_only": True})
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
