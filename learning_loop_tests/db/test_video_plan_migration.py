"""Migration 0007 (issue #15): planned jobs holding a plan are `ready`, imported history has no
plan state, projects plan with `template`; no row is lost (no table is rebuilt)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text

from learning_loop.db.engine import Database, current_revision, make_engine, upgrade
from learning_loop.db.models import MetricSnapshot, Project, VideoJob
from learning_loop.services.ingest import (
    METRIC_COLUMNS,
    VIDEO_COLUMNS,
    import_videos,
    ingest_metrics,
)
from learning_loop.services.planning import plan_and_write
from learning_loop.services.projects import create_project
from learning_loop.services.rows import read_rows
from learning_loop_tests.db.test_reward_history_migration import _downgrade, own_url

__all__ = ["own_url"]  # the fixture, imported for this module's tests


def test_planned_jobs_with_plans_become_ready_and_history_is_kept(own_url, samples):
    db = Database.from_url(own_url)
    pid = create_project(db, "migrated").id
    import_videos(db, pid, read_rows(samples / "videos.csv", VIDEO_COLUMNS))
    ingest_metrics(db, pid, read_rows(samples / "metrics.csv", METRIC_COLUMNS))
    plan_and_write(db, pid, 3, ["a", "b", "c"], seed=2)
    with db.read() as s:
        snapshots = s.scalar(select(func.count()).select_from(MetricSnapshot))
        jobs = s.scalar(select(func.count()).select_from(VideoJob))
    assert snapshots and jobs
    db.dispose()

    _downgrade(own_url, "0006")
    engine = make_engine(own_url)
    with engine.connect() as conn:
        assert current_revision(engine) == "0006"
        columns = conn.execute(text("SELECT * FROM video_jobs LIMIT 1")).keys()
        assert "plan_status" not in columns
    upgrade(engine)
    engine.dispose()

    db = Database.from_url(own_url)
    try:
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(MetricSnapshot)) == snapshots
            rows = s.execute(
                select(VideoJob.generation_mode, VideoJob.plan_status, VideoJob.plan_attempts)
            ).all()
            assert s.scalar(select(Project.planner_backend)) == "template"
        assert len(rows) == jobs
        planned = [r for r in rows if r.generation_mode != "manual"]
        history = [r for r in rows if r.generation_mode == "manual"]
        assert len(planned) == 3 and history
        assert {(r.plan_status, r.plan_attempts) for r in planned} == {("ready", 0)}
        assert {r.plan_status for r in history} == {None}
        # The schema works as the models say: the next batch plans as before.
        later = plan_and_write(db, pid, 1, ["d"], planned_at=dt.datetime.now(dt.UTC))
        assert [j.plan_status for j in later.jobs] == ["ready"]
    finally:
        db.dispose()
