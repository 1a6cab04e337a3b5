"""Migration 0010 on a database holding rewards, verdicts and an unrewarded history: every
stored reward and verdict stays, and the next daily run rewards the history and estimates."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from learning_loop.db.engine import (
    Database,
    current_revision,
    head_revision,
    make_engine,
    upgrade,
)
from learning_loop.db.models import Experiment, RewardBacklog, SettledReward, VideoReward
from learning_loop.services.ingest import backfill_recipes, import_videos, ingest_metrics
from learning_loop.services.recipes import compute_recipe_stats, list_recipes
from learning_loop.services.rewards import compute_rewards_for_date
from learning_loop.services.video_jobs import list_videos
from learning_loop_tests.db.test_reward_history_migration import _downgrade, _table, own_url  # noqa: F401
from learning_loop_tests.factories import T0, metric_row, numbered, project, video_row

WINDOW_DAY = T0.date() + dt.timedelta(days=3)


def test_the_upgrade_keeps_rewards_and_queues_the_unrewarded_history(own_url):  # noqa: F811
    db = Database.from_url(own_url)
    pid = project(db, "history")
    videos = [video_row(i, hook_type=("story", "question")[i % 2]) for i in range(8)]
    import_videos(db, pid, numbered(videos))
    backfill_recipes(db, pid)
    ingest_metrics(
        db,
        pid,
        numbered(
            [
                metric_row(f"v{i}", T0 + dt.timedelta(days=i, hours=7), views_6h=100 + 9 * i)
                for i in range(8)
            ]
        ),
    )
    compute_rewards_for_date(db, WINDOW_DAY)  # v0..v3 rewarded in the window of that day
    before = (_table(db, VideoReward), _table(db, SettledReward), _table(db, Experiment))
    db.dispose()

    _downgrade(own_url, "0009")
    engine = make_engine(own_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    db = Database.from_url(own_url)
    try:
        assert (
            _table(db, VideoReward),
            _table(db, SettledReward),
            _table(db, Experiment),
        ) == before
        with db.read() as session:
            queued = set(session.scalars(select(RewardBacklog.video_id)))
        unrewarded = {v.id for v in list_videos(db, pid) if v.reward is None}
        assert queued == unrewarded and len(unrewarded) == 4  # v4..v7
        # A run long after: the history is rewarded, every recipe estimated.
        later = T0.date() + dt.timedelta(days=60)
        assert compute_rewards_for_date(db, later).history_rewarded == 4
        compute_recipe_stats(db, later, 30)
        assert all(v.reward is not None for v in list_videos(db, pid))
        assert all(r.estimate is not None for r in list_recipes(db, pid))
    finally:
        db.dispose()
