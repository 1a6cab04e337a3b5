"""The `video_plans` asset: the video plans of planned jobs, made after their batch is written.

Planning a batch never waits on a language model (contract §6, §8). With the `openai` backend
its jobs start `pending`; this asset plans them, a bounded number of requests in flight, and
records per materialization the plans made, failed and re-asked and the backend's latency.
Its job, `make_video_plans`, is started by `video_plans_after_batch` (a run-status sensor on
`plan_next_batch`), by `video_plans_schedule`, by `shorts-engine learn video-plans` and
`learn replan`, and by hand from the UI.
"""
# Dagster reads these signatures at definition time: no `from __future__ import annotations`.

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetSelection,
    Config,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    MaterializeResult,
    RunConfig,
    RunRequest,
    RunStatusSensorContext,
    ScheduleEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    run_status_sensor,
    schedule,
)

from learning_loop.defs.jobs import plan_next_batch
from learning_loop.defs.metadata import errors_metadata, recorded, seconds_metadata
from learning_loop.defs.resources import LearningLoopDatabase, retry_transient_errors
from learning_loop.services.run_metadata import VideoPlansKey as Key
from learning_loop.services.video_plans import make_video_plans, projects_with_plans_due

GROUP = "learning_loop"
VIDEO_PLANS_CRON = "20 * * * *"


class VideoPlansConfig(Config):
    """Limit a run to one project or to some jobs (default: every job without a valid plan);
    `concurrency` and `max_attempts` default to LEARNING_LOOP_PLAN_CONCURRENCY and
    LEARNING_LOOP_PLAN_MAX_ATTEMPTS."""

    project_id: str | None = None
    job_ids: list[str] | None = None
    concurrency: int | None = None
    max_attempts: int | None = None


@asset(
    group_name=GROUP,
    deps=["planned_batches"],
    description="The video plans of planned jobs that have no valid plan yet, each from its "
    "project's planner backend (contract §8): bounded concurrency, re-asks on validation "
    "failure, retries with backoff on transport errors.",
)
@retry_transient_errors()
def video_plans(
    context: AssetExecutionContext, config: VideoPlansConfig, learning_loop_db: LearningLoopDatabase
) -> MaterializeResult[None]:
    settings = learning_loop_db.settings()
    result = make_video_plans(
        learning_loop_db.database(),
        uuid.UUID(config.project_id) if config.project_id else None,
        [uuid.UUID(j) for j in config.job_ids] if config.job_ids is not None else None,
        concurrency=config.concurrency or settings.plan_concurrency,
        max_attempts=config.max_attempts or settings.plan_max_attempts,
    )
    context.log.info(
        f"{result.made} plan(s) made, {result.failed} failed, {result.left_pending} left "
        f"pending, {result.re_asked} re-asked, of {result.jobs} job(s)"
    )
    return MaterializeResult(
        metadata=recorded(
            Key,
            {
                Key.JOBS: result.jobs,
                Key.PLANS_MADE: result.made,
                Key.PLANS_FAILED: result.failed,
                Key.FAILED_FOR_GOOD: result.failed_for_good,
                Key.LEFT_PENDING: result.left_pending,
                Key.RE_ASKED: result.re_asked,
                Key.BACKEND_REQUESTS: result.requests,
                Key.BACKEND_LATENCY_MEDIAN_S: seconds_metadata(result.latency_median_s),
                Key.BACKEND_LATENCY_P95_S: seconds_metadata(result.latency_p95_s),
                Key.MAX_IN_FLIGHT: result.max_in_flight,
                Key.CONCURRENCY: result.concurrency,
                Key.SECONDS: result.seconds,
                Key.ERRORS: errors_metadata(result.errors),
            },
        )
    )


# The job cannot share the asset's name (Dagster names the asset's op after it).
video_plans_job = define_asset_job(
    "make_video_plans",
    selection=AssetSelection.assets(video_plans),
    description="Plan every job that has no valid video plan yet (contract §8).",
)


def video_plans_run_config(
    project_id: str | None = None,
    job_ids: list[str] | None = None,
    concurrency: int | None = None,
) -> RunConfig:
    config = VideoPlansConfig(project_id=project_id, job_ids=job_ids, concurrency=concurrency)
    return RunConfig(ops={"video_plans": config})


def _project_of(run_tags: Mapping[str, str], run_config: Mapping[str, Any]) -> str | None:
    """The project a plan_next_batch run planned for: its tag, else its run config."""
    if run_tags.get("project_id"):
        return run_tags["project_id"]
    ops = run_config.get("ops") or {}
    config = (ops.get("plan_batch_op") or {}).get("config") or {}
    found = config.get("project_id")
    return str(found) if found else None


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[plan_next_batch],
    request_job=video_plans_job,
    default_status=DefaultSensorStatus.RUNNING,
    description="After each successful plan_next_batch run, a video_plans run for its project "
    "when jobs wait for their plans.",
)
def video_plans_after_batch(
    context: RunStatusSensorContext, learning_loop_db: LearningLoopDatabase
) -> RunRequest | SkipReason:
    run = context.dagster_run
    project = _project_of(run.tags, run.run_config or {})
    settings = learning_loop_db.settings()
    due = dict(projects_with_plans_due(learning_loop_db.database(), settings.plan_max_attempts))
    if project is not None:
        try:
            waiting = due.get(uuid.UUID(project), 0)
        except ValueError:
            return SkipReason(f"run {run.run_id} names no project")
    else:
        waiting = sum(due.values())
    if not waiting:
        return SkipReason(f"run {run.run_id}: every job has its plan")
    return RunRequest(
        run_key=f"video-plans:{run.run_id}",
        run_config=video_plans_run_config(project),
        tags={"project_id": project or "", "source": "plan_next_batch", "batch_run": run.run_id},
    )


@schedule(
    cron_schedule=VIDEO_PLANS_CRON,
    job=video_plans_job,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Every hour, a video_plans run for each project whose jobs wait for a plan "
    "(pending, or failed with attempts left).",
)
def video_plans_schedule(
    context: ScheduleEvaluationContext, learning_loop_db: LearningLoopDatabase
) -> list[RunRequest] | SkipReason:
    when = (context.scheduled_execution_time or dt.datetime.now(dt.UTC)).isoformat()
    settings = learning_loop_db.settings()
    due = projects_with_plans_due(learning_loop_db.database(), settings.plan_max_attempts)
    requests = [
        RunRequest(
            run_key=f"video-plans:{pid}:{when}",
            run_config=video_plans_run_config(str(pid)),
            tags={"project_id": str(pid), "source": "video_plans_schedule"},
        )
        for pid, _ in due
    ]
    return requests or SkipReason("no job waits for its video plan")
