"""The bounded reward history: what retiring dates keeps, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from learning_loop.db.models import RecipeDailyStats, RewardDate, SettledReward, VideoReward
from learning_loop.db.reward_history import (
    current_rewards,
    newest_reward_of,
    partition_name,
    retire_old_dates,
)
from learning_loop.domain.rewards import RewardWeights
from learning_loop.services.ingest import backfill_recipes, import_videos, ingest_metrics
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.recipes import compute_recipe_stats, list_recipes
from learning_loop.services.rewards import compute_rewards_for_date
from learning_loop.services.stats import project_stats
from learning_loop.services.video_jobs import list_videos
from learning_loop_tests.factories import T0, metric_row, numbered, video_row

DAYS = 16
FIRST = (T0 + dt.timedelta(days=2)).date()  # video i is published on T0 + i days
DATES = [FIRST + dt.timedelta(days=k) for k in range(DAYS)]
KEEP_ALL = 3650


def _channel(db):
    """One video a day, four recipes, varied metrics; a 5-day reward window."""
    settings = ProjectSettings(window_days=5, weights=RewardWeights(0.5, 0.3, 0.2))
    pid = create_project(db, "history", settings).id
    videos = [video_row(i, scene_count=6 + i % 4) for i in range(DAYS + 2)]
    import_videos(db, pid, numbered(videos))
    backfill_recipes(db, pid)
    metrics = [
        metric_row(
            f"v{i}",
            T0 + dt.timedelta(days=i, hours=6),
            views=1000 + 37 * ((i * 7) % 11),
            views_6h=100 + 13 * ((i * 5) % 9),
            avg_view_duration_s=10.0 + (i * 3) % 17,
            likes=10 + i,
        )
        for i in range(DAYS + 2)
    ]
    ingest_metrics(db, pid, numbered(metrics))
    return pid


def _current(db, as_of=None):
    with db.read() as session:
        cur = current_rewards(db.dialect, as_of)
        return {
            r.video_id: (r.reward_date, r.reward, r.pct_views_6h, r.window_size)
            for r in session.execute(select(cur))
        }


def _shown(db, pid):
    """What the CLI and the API show of rewards and recipes today."""
    videos = [(v.id, v.reward, v.reward_date) for v in list_videos(db, pid)]
    recipes = [r.model_dump() for r in list_recipes(db, pid)]
    stats = project_stats(db, pid).model_dump()
    return videos, recipes, stats


def _held(db):
    with db.read() as session:
        dates = list(
            session.scalars(select(RewardDate.reward_date).order_by(RewardDate.reward_date))
        )
        row_dates = set(session.scalars(select(VideoReward.reward_date).distinct()))
    return dates, row_dates


def test_retiring_old_dates_keeps_every_current_reward_and_stat(db):
    pid = _channel(db)
    for day in DATES:
        compute_rewards_for_date(db, day, history_days=KEEP_ALL)
        compute_recipe_stats(db, day, None)
    before_current = _current(db)
    before_shown = _shown(db, pid)
    wide_before = compute_recipe_stats(db, DATES[-1], 30)  # the general path: settled rows too
    wide_recipes = [r.model_dump() for r in list_recipes(db, pid)]
    compute_recipe_stats(db, DATES[-1], None)

    retirement = retire_old_dates(db, 3)
    assert retirement.retired == DATES[:-3] and not retirement.deferred
    held, row_dates = _held(db)
    assert held == DATES[-3:] and row_dates == set(DATES[-3:])
    with db.read() as session:
        settled = session.scalar(select(func.count()).select_from(SettledReward))
        stats_dates = set(session.scalars(select(RecipeDailyStats.stats_date).distinct()))
    assert settled and stats_dates == set(DATES[-3:])
    if db.dialect == "postgresql":
        with db.read() as session:
            for day in DATES:
                exists = session.scalar(text("SELECT to_regclass(:n)"), {"n": partition_name(day)})
                assert (exists is not None) == (day in DATES[-3:])

    assert _current(db) == before_current
    assert _shown(db, pid) == before_shown
    compute_recipe_stats(db, DATES[-1], None)  # from the day's rows
    assert _shown(db, pid) == before_shown
    assert compute_recipe_stats(db, DATES[-1], 30) == wide_before
    assert [r.model_dump() for r in list_recipes(db, pid)] == wide_recipes

    # The arms' probe agrees with the subquery for every video and date.
    for as_of in (DATES[3], DATES[-2], DATES[-1]):
        expected = {v: row[1] for v, row in _current(db, as_of).items()}
        with db.read() as session:
            cur = current_rewards(db.dialect, as_of)
            probed = dict(
                session.execute(select(cur.c.video_id, newest_reward_of(cur.c.video_id, as_of)))
                .tuples()
                .all()
            )
        assert probed == pytest.approx(expected)


def test_a_daily_run_retires_as_it_goes_and_matches_the_full_history(db):
    pid = _channel(db)
    for day in DATES:
        result = compute_rewards_for_date(db, day, history_days=3)
        compute_recipe_stats(db, day, None)
        held, row_dates = _held(db)
        assert held == [d for d in DATES if day - dt.timedelta(days=3) < d <= day]
        assert row_dates == set(held)
        assert result.retired_dates == ([day - dt.timedelta(days=3)] if day >= DATES[3] else [])
    rolling_current, rolling_shown = _current(db), _shown(db, pid)

    for day in DATES:  # every date again, keeping everything: the same answers
        compute_rewards_for_date(db, day, history_days=KEEP_ALL)
        compute_recipe_stats(db, day, None)
    assert _current(db) == rolling_current
    assert _shown(db, pid) == rolling_shown


def test_a_date_rerun_after_the_newest_stays_until_a_later_run(db):
    _channel(db)
    for day in DATES[:8]:
        compute_rewards_for_date(db, day, history_days=3)
    old = DATES[1]
    again = compute_rewards_for_date(db, old, history_days=3)
    assert again.retired_dates == [] and again.videos_rewarded > 0
    assert old in _held(db)[0]
    compute_recipe_stats(db, old, None)  # the backfill's own next step still reads its rows
    with db.read() as session:
        rows = session.scalar(
            select(func.count()).select_from(VideoReward).where(VideoReward.reward_date == old)
        )
    assert rows == again.videos_rewarded
    later = compute_rewards_for_date(db, DATES[8], history_days=3)
    assert old in later.retired_dates and old not in _held(db)[0]


def test_history_days_must_be_positive(db):
    with pytest.raises(ValueError, match="history_days"):
        retire_old_dates(db, 0)
