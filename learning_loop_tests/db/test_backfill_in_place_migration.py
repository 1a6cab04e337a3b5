"""Migration 0009 (issue 17): a backfill rewrites no index, snapshots keep their video's key
only; no row is lost, and on PostgreSQL the backfill's updates are heap-only ones."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import func, inspect, select, text

from learning_loop.db.engine import (
    Database,
    current_revision,
    head_revision,
    make_engine,
    upgrade,
)
from learning_loop.db.models import MetricSnapshot, VideoJob
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.services.experiments import evaluate_experiments
from learning_loop.services.ingest import (
    METRIC_COLUMNS,
    VIDEO_COLUMNS,
    backfill_recipes,
    import_videos,
    ingest_metrics,
)
from learning_loop.services.planning import plan_and_write
from learning_loop.services.projects import create_project
from learning_loop.services.rows import read_rows
from learning_loop_tests.db.test_reward_history_migration import _downgrade, own_url

__all__ = ["own_url"]  # the fixture, imported for this module's tests


def _schema(url: str) -> tuple[set[str], set[str]]:
    """The indexes of video_jobs, and the tables metric_snapshots' foreign keys point at."""
    engine = make_engine(url)
    try:
        found = inspect(engine)
        indexes = {i["name"] for i in found.get_indexes("video_jobs") if i["name"]}
        keys = {k["referred_table"] for k in found.get_foreign_keys("metric_snapshots")}
    finally:
        engine.dispose()
    return indexes, keys


def test_the_upgrade_keeps_every_row_and_drops_the_index_and_key(own_url, samples):
    db = Database.from_url(own_url)
    pid = create_project(db, "migrated").id
    import_videos(db, pid, read_rows(samples / "videos.csv", VIDEO_COLUMNS))
    backfill_recipes(db, pid)
    ingest_metrics(db, pid, read_rows(samples / "metrics.csv", METRIC_COLUMNS))
    plan_and_write(db, pid, 4, ["a", "b", "c", "d"], seed=2)

    def contents() -> tuple[list[tuple[object, ...]], int]:
        with db.read() as s:
            jobs = s.execute(
                select(VideoJob.id, VideoJob.recipe_id, VideoJob.recipe_hash).order_by(VideoJob.id)
            ).all()
            snapshots = s.scalar(select(func.count()).select_from(MetricSnapshot)) or 0
        return [tuple(j) for j in jobs], snapshots

    before = contents()
    assert before[1] and len(before[0]) > 4
    db.dispose()

    _downgrade(own_url, "0008")
    indexes, keys = _schema(own_url)
    assert "ix_video_jobs_recipe_id" in indexes and "ix_video_jobs_exploit_recipe" not in indexes
    assert keys == {"projects", "video_jobs"}
    engine = make_engine(own_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    indexes, keys = _schema(own_url)
    assert "ix_video_jobs_recipe_id" not in indexes and "ix_video_jobs_exploit_recipe" in indexes
    assert keys == {"video_jobs"}

    db = Database.from_url(own_url)
    try:
        assert contents() == before
        # The schema works as the models say: a later batch, an evaluation, a new import.
        plan_and_write(db, pid, 2, ["e", "f"], seed=3)
        evaluate_experiments(db, dt.date.today(), [pid])
        other = create_project(db, "after").id
        rows = read_rows(samples / "videos.csv", VIDEO_COLUMNS)
        imported = import_videos(db, other, rows).imported
        assert imported == len(rows) and backfill_recipes(db, other).videos_backfilled == imported
    finally:
        db.dispose()


def _video_job_updates(url: str, at_least: int = 0) -> tuple[int, int]:
    """(updates, heap-only updates) of video_jobs so far, once every closed backend's counts
    have reached the statistics (a backend reports its own when it exits)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for _ in range(100):
                row = conn.execute(
                    text(
                        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                        "WHERE relname = 'video_jobs'"
                    )
                ).one()
                if row.n_tup_upd >= at_least:
                    return int(row.n_tup_upd), int(row.n_tup_hot_upd)
                conn.rollback()
                conn.execute(text("SELECT pg_stat_clear_snapshot()"))
                time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError(f"fewer than {at_least} updates of video_jobs were ever reported")


def test_a_backfill_on_postgresql_makes_heap_only_updates(fresh_pg_url, samples):
    """Every backfilled video's new version stays on its page with no new index entry: a
    recipe_id index, or full pages, would make these ordinary updates."""
    db = Database.from_url(fresh_pg_url)
    pid = create_project(db, "in place").id
    imported = import_videos(db, pid, read_rows(samples / "videos.csv", VIDEO_COLUMNS)).imported
    db.dispose()
    updates, hot = _video_job_updates(fresh_pg_url)

    db = Database.from_url(fresh_pg_url)
    assert backfill_recipes(db, pid).videos_backfilled == imported
    with db.read() as s:
        assert (
            s.scalar(select(func.count()).select_from(VideoJob).where(VideoJob.recipe_id.is_(None)))
            == 0
        )
        # The backfill leaves the planned key's column alone; the hash is the recipe's.
        hashes = s.execute(
            select(VideoJob.recipe_hash, RecipeRow.recipe_hash).join(
                RecipeRow, RecipeRow.id == VideoJob.recipe_id
            )
        ).all()
        assert {own for own, _ in hashes} == {None} and all(h for _, h in hashes)
    db.dispose()
    after_updates, after_hot = _video_job_updates(fresh_pg_url, updates + imported)
    assert after_updates - updates == imported
    assert after_hot - hot == imported
