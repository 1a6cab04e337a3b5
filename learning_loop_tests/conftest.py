"""Test databases: every database test runs on SQLite and on PostgreSQL.

SQLite: a fresh file per test, copied from a migrated template. PostgreSQL: one fresh database
per test session (created on the server named by LEARNING_LOOP_TEST_PG_URL, dropped at the end),
emptied after every test. LEARNING_LOOP_TEST_BACKENDS=sqlite limits a run to SQLite.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from learning_loop.db.engine import Database, make_engine, upgrade
from learning_loop.db.models import Base

PG_SERVER_URL = os.environ.get(
    "LEARNING_LOOP_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [
    b.strip()
    for b in os.environ.get("LEARNING_LOOP_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if b.strip()
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `postgres_only` runs on PostgreSQL alone: its SQLite case is not made
    (deselected, not skipped: there is nothing to run there)."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        sqlite_case = callspec is not None and callspec.params.get("database_url") == "sqlite"
        (dropped if sqlite_case and item.get_closest_marker("postgres_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@contextmanager
def new_pg_database() -> Iterator[str]:
    """A fresh database on the test server with the product schema, dropped afterwards."""
    name = f"ll_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with new_pg_database() as url:
        yield url


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """A PostgreSQL database of its own for one test: the product schema and nothing else
    (no Dagster tables yet)."""
    if "postgresql" not in BACKENDS:
        pytest.skip("PostgreSQL is switched off for this run by LEARNING_LOOP_TEST_BACKENDS")
    with new_pg_database() as url:
        yield url


def _truncate_pg(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def _pg_tables(url: str) -> set[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        names = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        tables = set(names)
    engine.dispose()
    return tables


def _restore_pg(url: str, tables: set[str]) -> None:
    """Drop the tables added since `tables` was taken (Dagster's) and empty the product ones."""
    added = _pg_tables(url) - tables
    if added:
        engine = create_engine(url)
        with engine.begin() as conn:
            names = ", ".join(f'"{name}"' for name in sorted(added))
            conn.execute(text(f"DROP TABLE {names} CASCADE"))
        engine.dispose()
    _truncate_pg(url)


@pytest.fixture
def shared_pg_url(pg_url: str) -> Iterator[str]:
    """The session's PostgreSQL database for a test that uses it by URL (other processes, a
    Dagster instance): left as it was found, product tables empty and no table added."""
    if "postgresql" not in BACKENDS:
        pytest.skip("PostgreSQL is switched off for this run by LEARNING_LOOP_TEST_BACKENDS")
    tables = _pg_tables(pg_url)
    yield pg_url
    _restore_pg(pg_url, tables)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty product database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "learning_loop.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    elif request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        yield url
        _truncate_pg(url)
    else:
        raise ValueError(f"unknown backend {request.param}")


@pytest.fixture
def backend(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    yield database
    database.dispose()


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli_env(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The environment a CLI user has, pointing at this test's database."""
    from learning_loop.cli import common

    env = {
        "LEARNING_LOOP_DATABASE_URL": database_url,
        "LEARNING_LOOP_HOME": str(tmp_path / "home"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    common.reset()
    yield env
    common.reset()


@pytest.fixture
def cli(cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `shorts-engine ARGS...` in this process; returns exit code, stdout and stderr."""
    from learning_loop.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


SAMPLES = Path(__file__).resolve().parent.parent / "learning_loop" / "samples"


@pytest.fixture
def samples() -> Path:
    return SAMPLES
