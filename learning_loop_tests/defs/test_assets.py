import datetime as dt

import pytest
from dagster import AssetKey, DagsterInstance, RunConfig
from dagster import materialize as dagster_materialize
from sqlalchemy import select, update

from learning_loop.db.models import RecipeDailyStats, VideoReward
from learning_loop.defs.assets import DailyConfig, daily_assets
from learning_loop.defs.checks import asset_checks
from learning_loop.defs.jobs import experiments_run_config
from learning_loop.defs.partitions import add_evaluation_date
from learning_loop.services.ingest import (
    METRIC_COLUMNS,
    VIDEO_COLUMNS,
    backfill_recipes,
    import_videos,
    ingest_metrics,
)
from learning_loop.services.rows import read_rows
from learning_loop_tests.factories import project

DAY = "2026-10-30"


@pytest.fixture
def sample_channel(db, samples):
    pid = project(db, "sample")
    import_videos(db, pid, read_rows(samples / "videos.csv", VIDEO_COLUMNS))
    backfill_recipes(db, pid)
    ingest_metrics(db, pid, read_rows(samples / "metrics.csv", METRIC_COLUMNS))
    return pid


def rows(db):
    with db.read() as s:
        rewards = s.execute(
            select(VideoReward.video_id, VideoReward.reward, VideoReward.pct_engagement).order_by(
                VideoReward.video_id
            )
        ).all()
        stats = s.execute(
            select(
                RecipeDailyStats.recipe_id,
                RecipeDailyStats.avg_reward_score,
                RecipeDailyStats.best_reward_score,
                RecipeDailyStats.times_used,
            ).order_by(RecipeDailyStats.recipe_id)
        ).all()
    return rewards, stats


def materialize(assets, partition_key, **kwargs):
    """Dagster's `materialize` of one evaluation date, on an instance that has the date as a
    partition (the launcher and the schedules add it: `add_evaluation_date`)."""
    instance = DagsterInstance.ephemeral()
    add_evaluation_date(instance, partition_key)
    return dagster_materialize(assets, partition_key=partition_key, instance=instance, **kwargs)


def metadata(result, key):
    (mat,) = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == AssetKey(key)
    ]
    return {k: v.value for k, v in mat.metadata.items()}


def test_daily_assets_materialize_and_rerun_identically(db, resources, sample_channel):
    result = materialize([*daily_assets, *asset_checks], partition_key=DAY, resources=resources)
    assert result.success
    window = metadata(result, "metric_window")
    assert window["videos_in_window"] == 59 and window["projects"] == 1
    rewards = metadata(result, "video_rewards")
    assert rewards["rows"] == 59 and rewards["projects_touched"] == 1
    assert rewards["dagster/row_count"] == 59  # Dagster's own key, which its UI shows
    stats = metadata(result, "recipe_stats")
    assert stats["rewarded_recipes"] == 6
    assert "DARK_DYSTOPIAN_ANIME" in stats["top_recipes"]
    assert metadata(result, "experiment_verdicts")["completed"] == 0
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "rewards_within_unit_interval": True,
        "one_reward_per_video_and_date": True,
        "percentiles_average_half": True,
        "unique_recipe_hashes": True,
        "no_running_experiment_past_deadline": True,
    }
    first = rows(db)
    again = materialize([*daily_assets, *asset_checks], partition_key=DAY, resources=resources)
    assert again.success
    assert rows(db) == first


def _scoped(resources, project_id):
    config = DailyConfig(project_id=str(project_id))
    return materialize(
        daily_assets,
        partition_key=DAY,
        resources=resources,
        run_config=RunConfig(ops={a.op.name: config for a in daily_assets}),
    )


def test_project_scope_config(db, resources, sample_channel):
    result = _scoped(resources, project(db, "empty"))
    assert result.success
    assert metadata(result, "video_rewards")["rows"] == 0
    assert rows(db) == ([], [])
    # Scoped to the sample channel, the stats asset carries its six field insights.
    stats = metadata(_scoped(resources, sample_channel), "recipe_stats")
    assert stats["estimated_recipes"] == 6
    lines = stats["insights"].splitlines()
    assert len(lines) == 6 and lines[1].startswith("- hook type")
    assert "estimate [95%]" in stats["top_recipes"]


def test_blocking_check_stops_the_run_on_bad_rewards(db, resources, sample_channel):
    from learning_loop.db.models import Project

    # Weights that no longer sum to 1 (written behind the services' back) push rewards past 1.
    with db.transaction() as s:
        s.execute(update(Project).values(weight_avg_view_duration=1.0, weight_views_6h=1.0))
    result = materialize(
        [*daily_assets, *asset_checks], partition_key=DAY, resources=resources, raise_on_error=False
    )
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["rewards_within_unit_interval"].passed is False
    assert "outside [0, 1]" in checks["rewards_within_unit_interval"].description
    assert checks["percentiles_average_half"].passed is True
    assert not result.success
    # The blocking check kept recipe stats from being computed on bad rewards.
    materialized = {e.materialization.asset_key for e in result.get_asset_materialization_events()}
    assert AssetKey("recipe_stats") not in materialized


def test_percentile_check_fails_when_a_window_is_off(db, sample_channel):
    from learning_loop.services.checks import percentiles_average_half
    from learning_loop.services.rewards import compute_rewards_for_date

    day = dt.date.fromisoformat(DAY)
    compute_rewards_for_date(db, day)
    assert percentiles_average_half(db, day).passed
    with db.transaction() as s:
        first = s.scalars(select(VideoReward).where(VideoReward.reward_date == day)).first()
        first.pct_views_6h = 1.0 if first.pct_views_6h < 0.9 else 0.01
    outcome = percentiles_average_half(db, day)
    assert not outcome.passed and "1 of 1 project window" in outcome.description


def test_deadline_check_fails_on_a_late_running_experiment(db, resources):
    from learning_loop.services import planning
    from learning_loop.services.projects import ProjectSettings, create_project

    pid = create_project(db, "late", ProjectSettings(explore_rate=1.0)).id
    planning.plan_and_write(db, pid, 1, ["t"], seed=1)
    from learning_loop.db.models import Experiment

    with db.transaction() as s:
        s.execute(update(Experiment).values(started_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC)))
    # Evaluating another project's scope leaves the late experiment running: the check sees it.
    (verdicts,) = [a for a in daily_assets if a.key == AssetKey("experiment_verdicts")]
    deadline = [c for c in asset_checks if "deadline" in str(c.check_keys)]
    result = materialize(
        [verdicts, *deadline],
        partition_key=DAY,
        resources=resources,
        run_config=experiments_run_config(str(project(db, "other"))),
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed is False and "1 running experiment" in evaluation.description
    ok = materialize([verdicts, *deadline], partition_key=DAY, resources=resources)
    (evaluation,) = ok.get_asset_check_evaluations()
    assert evaluation.passed is True


def test_transient_database_error_is_retried(db, resources, sample_channel, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from learning_loop.defs import assets

    real = assets.compute_rewards_for_date
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return real(*args, **kwargs)

    monkeypatch.setattr(assets, "compute_rewards_for_date", flaky)
    result = materialize(daily_assets, partition_key=DAY, resources=resources)
    assert result.success and len(calls) == 2
    assert any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events)


def test_a_bug_is_not_retried(db, resources, sample_channel, monkeypatch):
    from learning_loop.defs import assets

    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(assets, "compute_rewards_for_date", broken)
    result = materialize(daily_assets, partition_key=DAY, resources=resources, raise_on_error=False)
    assert not result.success and len(calls) == 1
