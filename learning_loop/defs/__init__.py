"""The `learning_loop` Dagster code location: one Definitions for the whole loop."""

import warnings

from dagster import BetaWarning, Definitions, PreviewWarning, in_process_executor

# Partitioned asset checks are a preview API of Dagster 1.13 that we use on purpose; the
# warning would otherwise greet every CLI run.
warnings.filterwarnings("ignore", category=PreviewWarning)
warnings.filterwarnings("ignore", category=BetaWarning)

from learning_loop.defs.assets import daily_assets
from learning_loop.defs.automation import (
    daily_experiment_evaluation,
    daily_recipe_stats,
    nightly_auto_plan,
    plan_requests_sensor,
)
from learning_loop.defs.checks import asset_checks
from learning_loop.defs.collector import (
    collect_metrics_job,
    collect_metrics_schedule,
    collected_metrics,
)
from learning_loop.defs.jobs import (
    evaluate_experiments_job,
    plan_next_batch,
    planned_batches,
    update_recipe_stats_job,
)
from learning_loop.defs.resources import LearningLoopDatabase
from learning_loop.defs.video_plans import (
    video_plans,
    video_plans_after_batch,
    video_plans_job,
    video_plans_schedule,
)

defs = Definitions(
    assets=[*daily_assets, video_plans, collected_metrics, planned_batches],
    asset_checks=asset_checks,
    jobs=[
        update_recipe_stats_job,
        evaluate_experiments_job,
        plan_next_batch,
        video_plans_job,
        collect_metrics_job,
    ],
    schedules=[
        daily_recipe_stats,
        daily_experiment_evaluation,
        nightly_auto_plan,
        video_plans_schedule,
        collect_metrics_schedule,
    ],
    sensors=[plan_requests_sensor, video_plans_after_batch],
    resources={"learning_loop_db": LearningLoopDatabase()},
    # Runs are small database jobs: a process per step costs seconds on 2 cores.
    executor=in_process_executor,
)
