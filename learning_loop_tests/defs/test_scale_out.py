"""Two Dagster instances that share only PostgreSQL see each other's runs: no local state."""

import datetime as dt
import os
from pathlib import Path

import pytest
import yaml
from dagster import AssetCheckKey, AssetKey, DagsterRunStatus

from learning_loop.db.engine import Database
from learning_loop.launch import DagsterRuns
from learning_loop.launch.instance import open_instance
from learning_loop.services.ingest import (
    METRIC_COLUMNS,
    VIDEO_COLUMNS,
    backfill_recipes,
    import_videos,
    ingest_metrics,
)
from learning_loop.services.plan_requests import create_plan_request
from learning_loop.services.projects import create_project
from learning_loop.services.rows import read_rows
from learning_loop.services.runs import JobName, RunSpec, update_stats_spec
from learning_loop.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    "postgresql" not in os.environ.get("LEARNING_LOOP_TEST_BACKENDS", "sqlite,postgresql"),
    reason="PostgreSQL is switched off for this run by LEARNING_LOOP_TEST_BACKENDS",
)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "config",
    [
        "deploy/postgres/dagster.yaml",
        "deploy/kubernetes/dagster.yaml",
        "deploy/celery/dagster.yaml",
    ],
)
def test_instances_on_one_postgres_share_everything(
    shared_pg_url, tmp_path, monkeypatch, samples, config
):
    # The session's database: its product rows and Dagster's tables go again afterwards.
    pg_url = shared_pg_url
    instance_config = yaml.safe_load((ROOT / config).read_text())
    # A Kubernetes launcher needs a cluster; the storage and coordination are what we test.
    instance_config.pop("run_launcher", None)
    monkeypatch.setenv("LEARNING_LOOP_DATABASE_URL", pg_url)
    homes = []
    for name in ("a", "b"):
        home = tmp_path / name
        home.mkdir()
        (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config))
        homes.append(home)
    settings_a = Settings(
        LEARNING_LOOP_DATABASE_URL=pg_url,
        DAGSTER_HOME=homes[0],
        LEARNING_LOOP_HOME=tmp_path / "home-a",
    )
    settings_b = Settings(
        LEARNING_LOOP_DATABASE_URL=pg_url,
        DAGSTER_HOME=homes[1],
        LEARNING_LOOP_HOME=tmp_path / "home-b",
    )

    db = Database.from_url(pg_url)
    pid = create_project(db, f"scale-{config}").id
    import_videos(db, pid, read_rows(samples / "videos.csv", VIDEO_COLUMNS))
    backfill_recipes(db, pid)
    ingest_metrics(db, pid, read_rows(samples / "metrics.csv", METRIC_COLUMNS))

    runs_a = DagsterRuns(settings_a)
    stats = runs_a.run(update_stats_spec(db, pid, dt.date(2026, 10, 30), 30))
    assert stats.success, stats.error
    request = create_plan_request(db, pid, 2, ["north", "south"], seed=1)
    plan = runs_a.run(RunSpec(JobName.PLAN_NEXT_BATCH, pid, plan_request_id=request.id))
    assert plan.success, plan.error
    runs_a.close()

    # The instance the CLI and the API open with no DAGSTER_HOME is the same one (contract §10).
    implicit = open_instance(
        Settings(LEARNING_LOOP_DATABASE_URL=pg_url, LEARNING_LOOP_HOME=tmp_path / "home-c")
    )
    assert implicit.get_run_by_id(plan.run_id).status == DagsterRunStatus.SUCCESS
    implicit.dispose()
    assert not (tmp_path / "home-c").exists()

    other = open_instance(settings_b)
    try:
        assert other.get_run_by_id(stats.run_id).status == DagsterRunStatus.SUCCESS
        assert other.get_run_by_id(plan.run_id).job_name == "plan_next_batch"
        event = other.get_latest_materialization_event(AssetKey("video_rewards"))
        assert event is not None and event.run_id == stats.run_id
        checks = other.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey("video_rewards"), "rewards_within_unit_interval"),
            limit=5,
        )
        assert any(c.run_id == stats.run_id for c in checks)
    finally:
        other.dispose()
    # Nothing but the instance configuration was written to either Dagster home.
    assert files_under(homes[0]) == ["dagster.yaml"]
    assert files_under(homes[1]) == ["dagster.yaml"]
    db.dispose()
