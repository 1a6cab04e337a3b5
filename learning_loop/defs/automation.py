"""Schedules and the plan-request sensor."""

import datetime as dt

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    schedule,
    sensor,
)

from learning_loop.defs.jobs import (
    PlanConfig,
    evaluate_experiments_job,
    plan_next_batch,
    plan_run_config,
    update_recipe_stats_job,
)
from learning_loop.defs.partitions import add_evaluation_date
from learning_loop.defs.reaper import reap_dead_runs
from learning_loop.defs.resources import LearningLoopDatabase
from learning_loop.services.plan_requests import pending_plan_requests, resume_dead_requests
from learning_loop.services.projects import auto_plan_projects

PLAN_SENSOR_INTERVAL_S = 10


def previous_day(context: ScheduleEvaluationContext) -> str:
    when = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    return (when.astimezone(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


@schedule(
    cron_schedule="15 0 * * *",
    job=update_recipe_stats_job,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Rewards and recipe stats of the previous UTC day, every night.",
)
def daily_recipe_stats(context: ScheduleEvaluationContext) -> RunRequest:
    day = previous_day(context)
    add_evaluation_date(context.instance, day)
    return RunRequest(run_key=f"stats:{day}", partition_key=day)


@schedule(
    cron_schedule="45 0 * * *",
    job=evaluate_experiments_job,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Experiment verdicts of the previous UTC day, every night after the stats.",
)
def daily_experiment_evaluation(context: ScheduleEvaluationContext) -> RunRequest:
    day = previous_day(context)
    add_evaluation_date(context.instance, day)
    return RunRequest(run_key=f"experiments:{day}", partition_key=day)


@schedule(
    cron_schedule="0 2 * * *",
    job=plan_next_batch,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="A batch for every project with auto-planning on and topics in its backlog.",
)
def nightly_auto_plan(
    context: ScheduleEvaluationContext, learning_loop_db: LearningLoopDatabase
) -> list[RunRequest] | SkipReason:
    when = (context.scheduled_execution_time or dt.datetime.now(dt.UTC)).date().isoformat()
    requests = [
        RunRequest(
            run_key=f"auto-plan:{due.project_id}:{when}",
            run_config=plan_run_config(
                PlanConfig(project_id=str(due.project_id), n=due.count, from_backlog=True)
            ),
            tags={"project_id": str(due.project_id), "source": "nightly_auto_plan"},
        )
        for due in auto_plan_projects(learning_loop_db.database())
    ]
    return requests or SkipReason("no project has auto-planning on and a topic backlog")


@sensor(
    job=plan_next_batch,
    minimum_interval_seconds=PLAN_SENSOR_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Turns each pending plan request into one plan_next_batch run.",
)
def plan_requests_sensor(
    context: SensorEvaluationContext, learning_loop_db: LearningLoopDatabase
) -> list[RunRequest] | SkipReason:
    db = learning_loop_db.database()
    # Runs whose process died are failed first (this host's), and their requests go back to
    # pending with the attempt counted (issue #30): a request's status never lies.
    reap_dead_runs(context.instance)

    def status_of(run_id: str) -> str | None:
        run = context.instance.get_run_by_id(run_id)
        return run.status.value if run is not None else None

    resume_dead_requests(db, status_of)
    pending = pending_plan_requests(db)
    if not pending:
        return SkipReason("no pending plan request")
    # The run key is the request id and its attempt: Dagster never starts a second run for
    # the same key, and a request whose run died is retried under the next one.
    return [
        RunRequest(
            run_key=str(r.id) if not r.attempts else f"{r.id}:{r.attempts}",
            run_config=plan_run_config(PlanConfig(plan_request_id=str(r.id))),
            tags={
                "plan_request_id": str(r.id),
                "project_id": str(r.project_id),
                "source": r.source,
            },
        )
        for r in pending
    ]
