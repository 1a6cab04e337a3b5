"""Migration 0015 (issue #29, point 3): each recipe counts its videos planned and published,
filled from the jobs already stored; planning, publishing and the backfill keep the counts,
which match a count of the jobs."""

from __future__ import annotations

from sqlalchemy import case, func, select

from learning_loop.db.engine import Database, make_engine, upgrade
from learning_loop.db.models import Recipe, VideoJob
from learning_loop.domain.statuses import JobStatus
from learning_loop.services.planning import plan_and_write
from learning_loop.services.video_jobs import publish_job
from learning_loop_tests.db.test_reward_history_migration import _downgrade, own_url
from learning_loop_tests.factories import channel, video_row

__all__ = ["own_url"]  # the fixture, imported for this module's tests


def _stored(db: Database) -> dict[object, tuple[int, int, int]]:
    with db.read() as session:
        return {
            r.id: (r.times_used, r.planned_videos, r.published_videos)
            for r in session.scalars(select(Recipe))
        }


def _counted(db: Database) -> dict[object, tuple[int, int, int]]:
    planned = VideoJob.generation_mode.in_(("exploit", "explore"))
    published = VideoJob.status == JobStatus.PUBLISHED.value
    with db.read() as session:
        rows = session.execute(
            select(
                Recipe.id,
                func.count(VideoJob.id),
                func.coalesce(func.sum(case((planned, 1), else_=0)), 0),
                func.coalesce(func.sum(case((published, 1), else_=0)), 0),
            )
            .outerjoin(VideoJob, VideoJob.recipe_id == Recipe.id)
            .group_by(Recipe.id)
        ).all()
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}


def test_counts_are_filled_by_the_migration_and_kept_after(own_url):
    db = Database.from_url(own_url)
    pid = channel(db, [video_row(i, hook_type=("story", "question")[i % 2]) for i in range(6)], [])
    batch = plan_and_write(db, pid, n=4, topics=[f"topic {i}" for i in range(4)], seed=3)
    publish_job(db, pid, batch.jobs[0].id, "yt-first", None)
    expected = _counted(db)
    assert any(planned for _, planned, _ in expected.values())
    assert sum(published for _, _, published in expected.values()) == 6 + 1
    assert _stored(db) == expected  # kept by the backfill, the planner and the publish
    db.dispose()

    _downgrade(own_url, "0014")
    engine = make_engine(own_url)
    upgrade(engine)  # the counts are made again from the jobs
    engine.dispose()
    db = Database.from_url(own_url)
    try:
        assert _stored(db) == expected
    finally:
        db.dispose()
