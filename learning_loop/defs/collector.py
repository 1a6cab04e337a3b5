"""The metrics collector in Dagster: the `collected_metrics` asset, its `collect_metrics` job
and the schedule that runs a pass every 15 minutes (contract §12).

A pass polls every connected project's videos that are due at a mark. Its runs carry the tag
`learning_loop/platform: youtube`, which every shipped instance limits to one run at a time
(the quota is the deployment's); the asset's pool, `youtube_api`, lets a deployment cap the
platform's calls at the step level too (`dagster instance concurrency set youtube_api 1`).
Each materialization records the pass: videos polled, snapshots written, quota units, marks
missed, errors. No secret reaches the run's config, tags or metadata: the step opens the
credentials itself, from the database.
"""
# Dagster reads these signatures at definition time: no `from __future__ import annotations`.

import datetime as dt
import uuid

from dagster import (
    AssetExecutionContext,
    AssetSelection,
    Config,
    DefaultScheduleStatus,
    MaterializeResult,
    RunConfig,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    schedule,
)

from learning_loop.collector.platform import PLATFORM_TAG
from learning_loop.defs.metadata import errors_metadata, recorded
from learning_loop.defs.resources import LearningLoopDatabase, retry_transient_errors
from learning_loop.services.collector import collect_metrics, projects_to_collect
from learning_loop.services.run_metadata import CollectKey as Key
from learning_loop.services.run_metadata import joined

GROUP = "learning_loop"
COLLECT_CRON = "*/15 * * * *"
POOL = "youtube_api"
PLATFORM_TAGS = {PLATFORM_TAG: "youtube"}


class CollectConfig(Config):
    """Limit a pass to one project (default: every connected project)."""

    project_id: str | None = None


@asset(
    group_name=GROUP,
    pool=POOL,
    description="A pass of the metrics collector: every connected project's videos due at a "
    "mark (1 h, 6 h, 24 h, 72 h, 7 d, 28 d after publication) polled from the platform and "
    "written as metric snapshots, within the daily quota (contract §12).",
)
@retry_transient_errors()
def collected_metrics(
    context: AssetExecutionContext, config: CollectConfig, learning_loop_db: LearningLoopDatabase
) -> MaterializeResult[None]:
    projects = [uuid.UUID(config.project_id)] if config.project_id else None
    result = collect_metrics(learning_loop_db.database(), learning_loop_db.settings(), projects)
    context.log.info(
        f"{result.videos_polled} video(s) polled of {result.videos_due} due, "
        f"{result.snapshots_written} snapshot(s) written, {result.quota_units} quota unit(s), "
        f"{result.marks_missed} mark(s) missed, {result.videos_gone} gone, "
        f"{result.videos_deferred} deferred"
    )
    for error in result.errors:
        context.log.warning(error)
    return MaterializeResult(
        metadata=recorded(
            Key,
            {
                Key.PROJECTS: result.projects,
                Key.VIDEOS_DUE: result.videos_due,
                Key.VIDEOS_POLLED: result.videos_polled,
                Key.SNAPSHOTS_WRITTEN: result.snapshots_written,
                Key.QUOTA_UNITS: result.quota_units,
                Key.ANALYTICS_CALLS: result.analytics_calls,
                Key.MARKS_MISSED: result.marks_missed,
                Key.VIDEOS_GONE: result.videos_gone,
                Key.VIDEOS_DEFERRED: result.videos_deferred,
                Key.BROKEN_CONNECTIONS: joined(result.broken),
                Key.SECONDS: result.seconds,
                Key.ERRORS: errors_metadata(result.errors),
            },
        )
    )


collect_metrics_job = define_asset_job(
    "collect_metrics",
    selection=AssetSelection.assets(collected_metrics),
    description="One pass of the metrics collector over the connected projects (contract §12).",
    tags=PLATFORM_TAGS,
)


def collect_run_config(project_id: str | None = None) -> RunConfig:
    return RunConfig(ops={"collected_metrics": CollectConfig(project_id=project_id)})


@schedule(
    cron_schedule=COLLECT_CRON,
    job=collect_metrics_job,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Every 15 minutes, a pass of the metrics collector when a project is "
    "connected to its platform, so each video is polled near each of its marks.",
)
def collect_metrics_schedule(
    context: ScheduleEvaluationContext, learning_loop_db: LearningLoopDatabase
) -> RunRequest | SkipReason:
    if not projects_to_collect(learning_loop_db.database()):
        return SkipReason("no project is connected to a platform")
    when = (context.scheduled_execution_time or dt.datetime.now(dt.UTC)).isoformat()
    return RunRequest(
        run_key=f"collect:{when}",
        run_config=collect_run_config(),
        tags={**PLATFORM_TAGS, "source": "collect_metrics_schedule"},
    )
