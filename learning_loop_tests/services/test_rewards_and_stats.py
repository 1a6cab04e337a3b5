import datetime as dt

import pytest
from sqlalchemy import select

from learning_loop.db.models import RecipeDailyStats, VideoReward
from learning_loop.errors import InvalidInput
from learning_loop.services.ingest import backfill_recipes, import_videos, ingest_metrics
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.recipes import compute_recipe_stats, list_recipes
from learning_loop.services.rewards import compute_rewards_for_date
from learning_loop.services.stats import project_stats, update_stats
from learning_loop.services.video_jobs import list_videos
from learning_loop_tests.factories import channel, metric_row, numbered, video_row

D = dt.date(2026, 10, 10)


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


def reward_rows(db, pid=None):
    with db.read() as s:
        rows = s.scalars(
            select(VideoReward).order_by(VideoReward.video_id, VideoReward.reward_date)
        )
        return [
            (
                r.video_id,
                r.reward_date,
                r.reward,
                r.pct_avg_view_duration,
                r.pct_views_6h,
                r.pct_engagement,
                r.engagement,
                r.window_size,
            )
            for r in rows
        ]


def test_rewards_match_a_hand_computed_example(db):
    videos = [video_row(i, published_at=utc(2026, 10, 5, 12).isoformat()) for i in (1, 2, 3)]
    at = utc(2026, 10, 6, 12)
    metrics = [
        metric_row("v1", at, avg_view_duration_s=10, views_6h=100, likes=10, comments=0),
        metric_row("v2", at, avg_view_duration_s=20, views_6h=200, likes=50, comments=0),
        metric_row("v3", at, avg_view_duration_s=20, views_6h=300, likes=20, comments=10),
    ]
    pid = channel(db, videos, metrics)
    result = compute_rewards_for_date(db, D)
    assert result.videos_rewarded == 3
    got = {v.external_id: v for v in list_videos(db, pid)}
    assert got["v1"].pct_avg_view_duration == pytest.approx(1 / 6)
    assert got["v2"].pct_avg_view_duration == pytest.approx(2 / 3)
    assert got["v3"].pct_views_6h == pytest.approx(5 / 6)
    assert got["v2"].pct_engagement == pytest.approx(5 / 6)
    assert got["v1"].reward == pytest.approx(1 / 6)
    assert got["v2"].reward == pytest.approx(0.65)
    assert got["v3"].reward == pytest.approx(0.5 * 2 / 3 + 0.3 * 5 / 6 + 0.2 * 0.5)
    assert {v.reward_date for v in got.values()} == {D}


def test_one_video_alone_scores_half(db):
    pid = channel(db, [video_row(1)], [metric_row("v1", utc(2026, 10, 3))])
    compute_rewards_for_date(db, D)
    (video,) = list_videos(db, pid)
    assert video.reward == 0.5 and video.pct_views_6h == 0.5


def test_window_bounds_and_latest_snapshot(db):
    pid = create_project(db, "w", ProjectSettings(window_days=3)).id
    published = {
        "out_early": utc(2026, 10, 7, 23, 59),
        "first_in": utc(2026, 10, 8, 0, 0),
        "last_in": utc(2026, 10, 10, 23, 59),
        "out_late": utc(2026, 10, 11, 0, 0),
    }
    rows = [
        video_row(i, external_id=name, published_at=at.isoformat())
        for i, (name, at) in enumerate(published.items())
    ]
    import_videos(db, pid, numbered(rows))
    backfill_recipes(db, pid)
    snaps = [
        metric_row("out_early", utc(2026, 10, 8, 1), views_6h=50),
        metric_row("first_in", utc(2026, 10, 9), views=500, views_6h=100),
        metric_row("first_in", utc(2026, 10, 10, 23, 59, 59), views=900, views_6h=100),
        # Captured at the first instant of the next day: not yet known on D.
        metric_row("first_in", utc(2026, 10, 11), views=5, views_6h=5, likes=0, comments=0),
        metric_row("last_in", utc(2026, 10, 10, 23, 59, 30)),
        metric_row("out_late", utc(2026, 10, 11, 1)),
    ]
    ingest_metrics(db, pid, numbered(snaps))
    result = compute_rewards_for_date(db, D)
    assert result.videos_rewarded == 2 and result.history_rewarded == 1
    got = {v.external_id: v for v in list_videos(db, pid)}
    assert got["out_late"].reward is None  # published after D
    assert got["first_in"].reward is not None and got["last_in"].reward is not None
    assert {got["first_in"].reward_date, got["last_in"].reward_date} == {D}
    # Published before D's window: the reward of its own window, the last one that holds it
    # (the date 2026-10-07 + 3 - 1), among out_early and first_in, measured as of D.
    assert got["out_early"].reward_date == dt.date(2026, 10, 9)
    # 50 views in its first 6 h against first_in's 100 (its latest snapshot by the end of D).
    assert got["out_early"].pct_views_6h == 0.25
    # first_in's latest snapshot by the end of D has 900 views and 44 interactions.
    with db.read() as s:
        eng = s.scalar(
            select(VideoReward.engagement).where(VideoReward.video_id == got["first_in"].id)
        )
    assert eng == pytest.approx(44 / 900)


def test_rerunning_a_date_gives_identical_rows(db, samples):
    from learning_loop.services.ingest import METRIC_COLUMNS, VIDEO_COLUMNS
    from learning_loop.services.rows import read_rows

    pid = channel(db, [], [])
    import_videos(db, pid, read_rows(samples / "videos.csv", VIDEO_COLUMNS))
    backfill_recipes(db, pid)
    ingest_metrics(db, pid, read_rows(samples / "metrics.csv", METRIC_COLUMNS))
    day = dt.date(2026, 10, 30)
    compute_rewards_for_date(db, day)
    compute_rewards_for_date(db, day - dt.timedelta(days=5))
    first = reward_rows(db)
    compute_rewards_for_date(db, day)
    assert reward_rows(db) == first
    rewards = [r[2] for r in first]
    assert all(0 <= r <= 1 for r in rewards)
    latest = [r for r in first if r[1] == day]
    assert sum(r[3] for r in latest) / len(latest) == pytest.approx(0.5)


def test_recipe_stats_and_update_stats(db):
    videos = [
        video_row(1, hook_type="story"),
        video_row(2, hook_type="story"),
        video_row(3, hook_type="question"),
        video_row(4, hook_type="mystery", published_at=utc(2026, 8, 1).isoformat()),
    ]
    at = utc(2026, 10, 9)
    metrics = [
        metric_row("v1", at, avg_view_duration_s=30),
        metric_row("v2", at, avg_view_duration_s=10),
        metric_row("v3", at, avg_view_duration_s=20),
    ]
    pid = channel(db, videos, metrics)
    result = update_stats(db, pid, D, 30)
    assert result.rewards.videos_rewarded == 3
    assert result.recipe_stats.recipes == 3 and result.recipe_stats.rewarded_recipes == 2
    recipes = list_recipes(db, pid)
    rewards = {v.external_id: v.reward for v in list_videos(db, pid)}
    top = recipes[0]
    by_hook = {r.hook_type: r for r in recipes}
    assert by_hook["story"].avg_reward_score == pytest.approx((rewards["v1"] + rewards["v2"]) / 2)
    assert by_hook["story"].best_reward_score == pytest.approx(max(rewards["v1"], rewards["v2"]))
    assert by_hook["story"].times_used == 2 and by_hook["story"].rewarded_videos == 2
    assert by_hook["mystery"].avg_reward_score is None and by_hook["mystery"].times_used == 1
    # The leaderboard goes by estimate; a recipe with no rewarded video is predicted.
    assert by_hook["mystery"].evidence_videos == 0 and by_hook["mystery"].estimate is not None
    assert [r.estimate for r in recipes] == sorted((r.estimate for r in recipes), reverse=True)
    assert by_hook["story"].evidence_videos == 2 and result.recipe_stats.estimated_recipes == 3
    with db.read() as s:
        daily = s.scalars(select(RecipeDailyStats)).all()
    assert {d.stats_date for d in daily} == {D} and len(daily) == 3
    # Stats of an earlier date are stored for that date without replacing the current ones.
    compute_recipe_stats(db, D - dt.timedelta(days=20), 30)
    assert list_recipes(db, pid)[0].stats_as_of == D
    stats = project_stats(db, pid)
    assert stats.videos == 4 and stats.rewarded_videos == 3 and stats.recipes == 3
    assert stats.best_recipe.recipe_hash == top.recipe_hash
    assert stats.latest_reward_date == D


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_days_out_of_range(db, days):
    pid = channel(db, [], [])
    with pytest.raises(InvalidInput, match="days"):
        update_stats(db, pid, D, days)
