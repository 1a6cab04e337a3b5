"""Asset checks: the invariants of the loop's tables, per daily partition."""

import datetime as dt

from dagster import AssetCheckExecutionContext, AssetCheckResult, asset_check

from learning_loop.defs.assets import experiment_verdicts, recipe_stats, video_rewards
from learning_loop.defs.partitions import daily_partitions
from learning_loop.defs.resources import LearningLoopDatabase
from learning_loop.services import checks
from learning_loop.services.checks import CheckOutcome


def _result(outcome: CheckOutcome) -> AssetCheckResult:
    return AssetCheckResult(
        passed=outcome.passed,
        description=outcome.description,
        metadata={k: v for k, v in outcome.metadata.items() if not isinstance(v, list)}
        | {k: ", ".join(v) for k, v in outcome.metadata.items() if isinstance(v, list)},
    )


def _day(context: AssetCheckExecutionContext) -> dt.date:
    return dt.date.fromisoformat(context.partition_key)


@asset_check(asset=video_rewards, partitions_def=daily_partitions, blocking=True)
def rewards_within_unit_interval(
    context: AssetCheckExecutionContext, learning_loop_db: LearningLoopDatabase
) -> AssetCheckResult:
    """Every reward and percentile of the day lies in [0, 1]."""
    return _result(checks.rewards_in_unit_interval(learning_loop_db.database(), _day(context)))


@asset_check(asset=video_rewards, partitions_def=daily_partitions)
def one_reward_per_video_and_date(
    context: AssetCheckExecutionContext, learning_loop_db: LearningLoopDatabase
) -> AssetCheckResult:
    """No video has two rewards for the same date."""
    return _result(checks.one_reward_per_video_and_date(learning_loop_db.database(), _day(context)))


@asset_check(asset=video_rewards, partitions_def=daily_partitions)
def percentiles_average_half(
    context: AssetCheckExecutionContext, learning_loop_db: LearningLoopDatabase
) -> AssetCheckResult:
    """Mid-rank percentiles average 0.5 in every project's window."""
    return _result(checks.percentiles_average_half(learning_loop_db.database(), _day(context)))


@asset_check(asset=recipe_stats, partitions_def=daily_partitions)
def unique_recipe_hashes(
    context: AssetCheckExecutionContext, learning_loop_db: LearningLoopDatabase
) -> AssetCheckResult:
    """A recipe hash appears once per project."""
    return _result(checks.unique_recipe_hashes(learning_loop_db.database()))


@asset_check(asset=experiment_verdicts, partitions_def=daily_partitions)
def no_running_experiment_past_deadline(
    context: AssetCheckExecutionContext, learning_loop_db: LearningLoopDatabase
) -> AssetCheckResult:
    """After the day's evaluation no experiment runs past its max_days."""
    return _result(
        checks.no_running_experiment_past_deadline(learning_loop_db.database(), _day(context))
    )


asset_checks = [
    rewards_within_unit_interval,
    one_reward_per_video_and_date,
    percentiles_average_half,
    unique_recipe_hashes,
    no_running_experiment_past_deadline,
]
