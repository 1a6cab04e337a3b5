"""The "no daemon" note names the way to start a daemon on the deployment's own instance."""

from __future__ import annotations

from pathlib import Path

import pytest

from learning_loop.launch.launcher import start_daemon_hint
from learning_loop.settings import Settings

DAEMON = "dagster-daemon run -w workspace.yaml"


@pytest.fixture(autouse=True)
def no_dagster_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


def test_the_embedded_default_names_its_own_dagster_home(tmp_path: Path):
    hint = start_daemon_hint(Settings(LEARNING_LOOP_HOME=tmp_path / "home"))
    assert "`make dev`" in hint
    assert f"`DAGSTER_HOME={(tmp_path / 'home' / 'dagster').resolve()} {DAEMON}`" in hint
    assert "same environment" in hint


def test_postgres_without_dagster_home_names_the_shipped_instance_file(tmp_path: Path):
    settings = Settings(
        LEARNING_LOOP_DATABASE_URL="postgresql+psycopg2://u@db:5432/loop",
        LEARNING_LOOP_HOME=tmp_path / "home",
    )
    hint = start_daemon_hint(settings)
    assert "`make dev`" in hint and f"`{DAEMON}`" in hint
    assert "deploy/postgres/dagster.yaml" in hint and "LEARNING_LOOP_DATABASE_URL" in hint
    # No folder of this machine is named: the instance is in the database.
    assert "DAGSTER_HOME=" not in hint and str(tmp_path) not in hint


def test_a_set_dagster_home_is_named_and_quoted(tmp_path: Path):
    home = tmp_path / "dagster home"
    hint = start_daemon_hint(
        Settings(DAGSTER_HOME=home, LEARNING_LOOP_DATABASE_URL="postgresql://u@db/loop")
    )
    assert f"`DAGSTER_HOME='{home.resolve()}' {DAEMON}`" in hint and "`make dev`" in hint
