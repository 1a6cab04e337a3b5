"""`shorts-engine learn update-stats`, `evaluate-experiments`, `video-plans` and `replan`, the
commands that start a Dagster run (through `common.run_job`); `run-status` and `runs`, which
look at the runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated

import typer

from learning_loop.cli.common import (
    AsOfOpt,
    JobOpt,
    JsonOpt,
    NoWaitOpt,
    ProjectOpt,
    check_limit,
    database,
    launcher,
    run_errors,
    run_job,
    with_metadata,
)
from learning_loop.cli.output import Shown, print_table, show
from learning_loop.cli.services import experiments as experiments_service
from learning_loop.cli.services import refs, runs, stats, video_plans
from learning_loop.domain.statuses import ExperimentStatus
from learning_loop.services.run_metadata import VideoPlansKey, count

if TYPE_CHECKING:
    from learning_loop.services.runs import RunInfo

DaysOpt = Annotated[
    int | None,
    typer.Option(
        "--days",
        help="Days of the recipes' raw average (`window avg`); default: the project's window. "
        "Rewards always use the project's window, estimates the whole history.",
    ),
]


def update_stats(
    project: ProjectOpt,
    days: DaysOpt = None,
    as_of: AsOfOpt = None,
    no_wait: NoWaitOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Run the daily stats job (rewards, then recipe stats) for a date, as a Dagster run."""
    spec = runs.update_stats_spec(database(), project, as_of, days)
    day = dt.date.fromisoformat(str(spec.partition_key))
    days = spec.days

    def shown(info: RunInfo) -> Shown:
        summary = stats.day_summary(database(), project, day)
        document = {**info.model_dump(mode="json"), **summary.model_dump(mode="json")}
        line = (
            f"run {info.run_id} {info.status}: as of {day}, {summary.history_rewarded} "
            f"video(s) rewarded in all, {summary.videos_rewarded} of them published in the "
            f"project's {summary.window_days}-day window; {summary.estimated_recipes} of "
            f"{summary.recipes} recipe(s) estimated, {summary.rewarded_recipes} with a window "
            f"avg over {days} days"
        )
        return Shown({**document, "days": days}, [line, *(f"hint: {h}" for h in summary.hints)])

    queued = f"as of {day}, window avg over {days} days"
    run_job(spec, json_, shown, no_wait=no_wait, queued=queued)


def evaluate(
    project: ProjectOpt, as_of: AsOfOpt = None, no_wait: NoWaitOpt = False, json_: JsonOpt = False
) -> None:
    """Run the experiment evaluation for a date, as a Dagster run, and print the verdicts."""
    spec = runs.evaluate_experiments_spec(database(), project, as_of)
    day = dt.date.fromisoformat(str(spec.partition_key))

    def shown(info: RunInfo) -> Shown:
        completed = experiments_service.list_experiments(
            database(), project, ExperimentStatus.COMPLETED
        )
        decided = [e for e in completed if e.decided_as_of == day]
        running = experiments_service.list_experiments(
            database(), project, ExperimentStatus.RUNNING
        )
        document = {
            **info.model_dump(mode="json"),
            "as_of": day.isoformat(),
            "decided": decided,
            "still_running": len(running),
        }
        line = (
            f"run {info.run_id} {info.status}: as of {day}, {len(decided)} experiment(s) "
            f"decided, {len(running)} still running"
        )
        verdicts = (
            f"  {e.variable_tested}: {e.baseline_value} -> {e.variant_value}: {e.winner} "
            f"({e.reason})"
            for e in decided
        )
        return Shown(document, [line, *verdicts])

    run_job(spec, json_, shown, no_wait=no_wait, queued=f"as of {day}")


def run_status(
    run_id: Annotated[uuid.UUID, typer.Option("--run", help="Dagster run id (UUID).")],
    json_: JsonOpt = False,
) -> None:
    """The status of a run in this deployment's Dagster instance."""
    info = launcher().status(str(run_id))
    error = [f"error: {info.error}"] if info.error else []
    show(json_, info, [f"run {info.run_id} {info.status}: {info.job_name}", *error])


def recent_runs(
    reaped: Annotated[
        bool, typer.Option("--reaped", help="Only runs failed because their process died.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", help="Runs shown, 1..1000.")] = 20,
    json_: JsonOpt = False,
) -> None:
    """The latest runs of this deployment's Dagster instance, newest first."""
    runs_ = launcher().recent(check_limit(limit), reaped_only=reaped)
    show(
        json_,
        runs_,
        lambda: print_table(
            "Reaped runs" if reaped else "Runs (newest first)",
            ["run_id", "job", "status", "partition", "error"],
            [(r.run_id, r.job_name, r.status, r.partition_key, r.error) for r in runs_],
        ),
    )


def make_video_plans(
    project: ProjectOpt,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", help="Requests in flight, 1..64 (LEARNING_LOOP_PLAN_CONCURRENCY)."
        ),
    ] = None,
    no_wait: NoWaitOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Make the video plans of the project's jobs that have none yet (a video_plans run)."""
    if concurrency is not None and not 1 <= concurrency <= 64:
        from learning_loop.errors import InvalidInput

        raise InvalidInput(f"concurrency must be within 1..64, got {concurrency}", "concurrency")
    spec = runs.video_plans_spec(database(), project)
    if concurrency is not None:
        spec = dataclasses.replace(spec, concurrency=concurrency)

    def shown(info: RunInfo) -> Shown:
        meta = info.metadata or {}
        line = (
            f"run {info.run_id} {info.status}: {count(meta, VideoPlansKey.PLANS_MADE)} plan(s) "
            f"made, {count(meta, VideoPlansKey.PLANS_FAILED)} failed, "
            f"{count(meta, VideoPlansKey.LEFT_PENDING)} left pending (of "
            f"{count(meta, VideoPlansKey.JOBS)} job(s) without a plan); "
            f"{count(meta, VideoPlansKey.RE_ASKED)} re-asked"
        )
        return Shown(with_metadata(info), [line, *run_errors(meta, VideoPlansKey.ERRORS)])

    run_job(spec, json_, shown, no_wait=no_wait, queued=f"of project {project}")


def replan(
    job: JobOpt,
    no_wait: NoWaitOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Ask for a fresh video plan of one queued job, and make it now (a video_plans run)."""
    db = database()
    job_id = refs.resolve_job(db, job)
    project = video_plans.request_replan(db, job_id)
    spec = runs.video_plans_spec(db, project, [job_id])

    def shown(info: RunInfo) -> Shown:
        view = video_plans.job_plan_view(db, job_id)
        line = f"run {info.run_id} {info.status}: job {view.id} plan {view.plan_status}"
        error = [f"error: {view.plan_error}"] if view.plan_error else []
        return Shown({"run_id": info.run_id, "job": view}, [line, *error])

    run_job(spec, json_, shown, no_wait=no_wait, queued=f"of job {job_id}")
