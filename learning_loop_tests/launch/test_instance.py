"""Which Dagster instance each deployment opens, and that the shipped files agree with it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from learning_loop.launch.instance import (
    EMBEDDED_DAGSTER_YAML,
    QUEUED_RUN_COORDINATOR,
    RUN_MONITORING,
    instance_kind,
    open_instance,
    postgres_instance_config,
)
from learning_loop.settings import Settings
from learning_loop_tests.processes import ROOT

PG = "postgresql+psycopg2://u@db:5432/loop"


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({}, "embedded"),
        ({"LEARNING_LOOP_DATABASE_URL": "sqlite:////tmp/x.db"}, "embedded"),
        ({"LEARNING_LOOP_DATABASE_URL": PG}, "postgres"),
        ({"LEARNING_LOOP_DATABASE_URL": "postgresql://u@db/loop"}, "postgres"),
        ({"LEARNING_LOOP_DATABASE_URL": PG, "DAGSTER_HOME": "/srv/dagster"}, "dagster_home"),
        ({"DAGSTER_HOME": "/srv/dagster"}, "dagster_home"),
    ],
)
def test_the_instance_rule(env, kind):
    assert instance_kind(Settings(**env)) == kind


def test_the_implicit_postgres_instance_is_deploy_postgres(monkeypatch):
    """The instance the CLI and the API open without DAGSTER_HOME is the documented one."""
    shipped = yaml.safe_load((ROOT / "deploy" / "postgres" / "dagster.yaml").read_text())
    assert shipped["storage"] == {
        "postgres": {"postgres_url": {"env": "LEARNING_LOOP_DATABASE_URL"}}
    }
    ours = postgres_instance_config("postgresql://u@db:5432/loop")
    assert ours["storage"] == {
        "postgres": {"postgres_url": PG}
    }  # psycopg2, as dagster-postgres needs
    assert ours["compute_logs"] == shipped["compute_logs"]
    assert ours["run_coordinator"]["class"] == shipped["run_coordinator"]["class"]
    for key in ("dequeue_interval_seconds", "tag_concurrency_limits"):
        assert ours["run_coordinator"]["config"][key] == shipped["run_coordinator"]["config"][key]


@pytest.mark.parametrize(
    "config",
    ["dagster.yaml", "deploy/postgres/dagster.yaml", "deploy/celery/dagster.yaml",
     "deploy/kubernetes/dagster.yaml"],
)  # fmt: skip
def test_every_shipped_instance_queues_runs(config):
    loaded = yaml.safe_load((ROOT / config).read_text())
    assert loaded["run_coordinator"]["class"] == QUEUED_RUN_COORDINATOR["class"]
    assert loaded["telemetry"] == {"enabled": False}
    assert yaml.safe_load(EMBEDDED_DAGSTER_YAML)["run_coordinator"] == QUEUED_RUN_COORDINATOR
    assert loaded["run_monitoring"] == RUN_MONITORING
    assert yaml.safe_load(EMBEDDED_DAGSTER_YAML)["run_monitoring"] == RUN_MONITORING


def test_the_embedded_instance_lives_under_the_home(tmp_path: Path):
    settings = Settings(LEARNING_LOOP_HOME=tmp_path / "home")
    instance = open_instance(settings)
    try:
        assert Path(instance.root_directory) == (tmp_path / "home" / "dagster").resolve()
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    finally:
        instance.dispose()
    assert (tmp_path / "home" / "dagster" / "dagster.yaml").read_text() == EMBEDDED_DAGSTER_YAML
