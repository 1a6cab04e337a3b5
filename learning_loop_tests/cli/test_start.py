"""What keeps the CLI's start fast stays correct: the lazily imported service modules, the
database errors told apart without importing SQLAlchemy first, and the schema check that
reads the head revision without Alembic. (What each start loads: test_layering.py.)"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from learning_loop.db.engine import (
    SchemaNotReady,
    ensure_schema,
    head_revision,
    migration_head,
    recorded_revision,
    upgrade,
)
from learning_loop.lazy import lazy_module


@pytest.fixture
def probe_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A package whose module `mod` counts how often its code ran."""
    name = f"lazy_probe_{tmp_path.name.replace('-', '_')}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("runs = 0\n")
    (package / "mod.py").write_text(f"import {name}\n{name}.runs += 1\nVALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


def test_a_lazy_module_runs_on_first_use_once(probe_package: str) -> None:
    module = lazy_module(f"{probe_package}.mod")
    package = sys.modules[probe_package]
    assert package.runs == 0 and f"{probe_package}.mod" not in sys.modules
    assert module.VALUE == 42
    assert package.runs == 1
    # An import elsewhere gets the real module, run once; both read the same values.
    real = importlib.import_module(f"{probe_package}.mod")
    assert real.VALUE == 42 and lazy_module(f"{probe_package}.mod").VALUE == 42
    assert package.mod is real and package.runs == 1
    real.VALUE = 43  # what a test patches on the real module is what the lazy one reads
    assert module.VALUE == 43


def test_an_import_elsewhere_runs_a_lazy_module(probe_package: str) -> None:
    module = lazy_module(f"{probe_package}.mod")
    assert importlib.import_module(f"{probe_package}.mod").VALUE == 42
    assert sys.modules[probe_package].runs == 1 and module.VALUE == 42


def test_threads_that_read_a_lazy_module_first_all_find_it_whole(
    probe_package: str, tmp_path: Path
) -> None:
    """Issue #30, finding 6: the API server's first requests read a lazily imported service
    module from several threads at once; `importlib.util.LazyLoader` handed the second thread
    the module before its code had run (an `AttributeError`, a 500)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    (tmp_path / probe_package / "slow.py").write_text(
        f"import time\nimport {probe_package}\n{probe_package}.runs += 1\n"
        "time.sleep(0.2)\nVALUE = 42\n"
    )
    module = lazy_module(f"{probe_package}.slow")
    barrier = threading.Barrier(16)

    def read(_: int) -> object:
        barrier.wait()
        return getattr(module, "VALUE", None)

    with ThreadPoolExecutor(16) as pool:
        assert list(pool.map(read, range(16))) == [42] * 16
    assert sys.modules[probe_package].runs == 1


def test_a_lazy_module_that_does_not_exist_fails_at_once(probe_package: str) -> None:
    with pytest.raises(ModuleNotFoundError):
        lazy_module(f"{probe_package}.missing")


def test_the_head_read_from_the_files_is_alembics() -> None:
    assert migration_head() is not None
    assert migration_head() == head_revision()


def test_the_recorded_revision_is_alembics(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert recorded_revision(engine) is None  # no version table yet
    upgrade(engine)
    assert recorded_revision(engine) == head_revision()
    with engine.begin() as conn:
        conn.execute(text("UPDATE learning_loop_schema_version SET version_num = '0001'"))
    assert recorded_revision(engine) == "0001"
    with pytest.raises(SchemaNotReady):  # behind the head: Alembic decides, as before
        ensure_schema(engine, auto_upgrade=False)
    engine.dispose()


def test_a_schema_error_is_one_line(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from learning_loop.cli import projects

    def stale() -> None:
        raise SchemaNotReady("the database schema is not up to date: run it")

    monkeypatch.setattr(projects, "database", stale)
    result = cli("projects", "list")
    assert (result.code, result.out) == (1, "")
    assert result.err == "error: the database schema is not up to date: run it\n"


def test_a_database_error_is_one_line_without_the_password(
    cli, cli_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from learning_loop.cli import common

    # Nothing listens on port 1: the driver's connection error, raised by SQLAlchemy.
    url = "postgresql+psycopg2://someone:s3cret-pw@127.0.0.1:1/nowhere?connect_timeout=2"
    monkeypatch.setenv("LEARNING_LOOP_DATABASE_URL", url)
    common.reset()
    result = cli("projects", "list")
    assert result.code == 1 and result.out == ""
    assert result.err.startswith("error: database error: ") and result.err.count("\n") == 1
    assert "s3cret" not in result.err


def test_any_other_exception_is_not_swallowed(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from learning_loop.cli import projects

    def broken() -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(projects, "database", broken)
    with pytest.raises(KeyError):
        cli("projects", "list")
