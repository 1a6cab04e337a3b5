"""The loop's Dagster runs as the services see them: what to run, and the launcher interface.

The services never import Dagster. The CLI and the API build a launcher at their edge
(`learning_loop.launch.DagsterRuns`) and pass it in; a launcher either runs a job in the
calling process and waits (`run`), or submits it to the deployment's instance, whose run
coordinator and run launcher decide where it executes (`submit`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel

from learning_loop.db.engine import Database
from learning_loop.domain.dates import evaluation_date_error, utc_today
from learning_loop.domain.statuses import PlanRequestStatus
from learning_loop.errors import InvalidInput
from learning_loop.services.plan_requests import (
    create_plan_request,
    get_plan_request,
    mark_plan_request,
)
from learning_loop.services.projects import get_project
from learning_loop.services.recipes import check_days
from learning_loop.services.views import PlanRequestView


class JobName(StrEnum):
    UPDATE_RECIPE_STATS = "update_recipe_stats"
    EVALUATE_EXPERIMENTS = "evaluate_experiments"
    PLAN_NEXT_BATCH = "plan_next_batch"
    VIDEO_PLANS = "make_video_plans"  # materializes the `video_plans` asset
    COLLECT_METRICS = "collect_metrics"  # materializes `collected_metrics` (one pass)


@dataclass(frozen=True)
class RunSpec:
    """One run of one of the loop's jobs, in the product's terms."""

    job: JobName
    project_id: uuid.UUID
    partition_key: str | None = None
    days: int | None = None
    plan_request_id: uuid.UUID | None = None
    planned_at: dt.datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    job_ids: tuple[uuid.UUID, ...] | None = None  # video_plans: only these jobs
    concurrency: int | None = None  # video_plans: requests in flight (default: the setting)


class RunInfo(BaseModel):
    run_id: str
    job_name: str
    status: str
    partition_key: str | None = None
    success: bool | None = None
    error: str | None = None
    # Set when a submitted run will not start by itself (no daemon serves the instance).
    note: str | None = None
    # The project the run was for (its tag), when it was for one.
    project_id: str | None = None
    # A run executed here (`run`): the metadata its assets recorded, by label.
    metadata: dict[str, float | int | str | None] | None = None


class RunLauncher(Protocol):
    """How runs start; implemented over the deployment's Dagster instance."""

    def run(self, spec: RunSpec) -> RunInfo:
        """Execute in this process, recorded in the instance; returns when the run ends."""
        ...

    def submit(self, spec: RunSpec) -> RunInfo:
        """Queue in the instance and return at once; the deployment executes it."""
        ...

    def status(self, run_id: str) -> RunInfo:
        """The run's current status; NotFound when the instance has no such run."""
        ...

    def recent(
        self, limit: int = 20, reaped_only: bool = False, project_id: uuid.UUID | None = None
    ) -> list[RunInfo]:
        """The instance's latest runs, newest first; with `reaped_only`, only the runs failed
        because their process died (their `error` says so); with `project_id`, only the
        runs of that project."""
        ...

    def daemon_note(self, waiting: str = "the run stays QUEUED") -> str | None:
        """Why queued work will wait (no daemon serves the instance), or None; `waiting`
        names what waits."""
        ...


def check_evaluation_date(day: dt.date | None) -> dt.date:
    """The date to evaluate (default today, UTC); InvalidInput outside the accepted range."""
    day = day or utc_today()
    problem = evaluation_date_error(day)
    if problem is not None:
        raise InvalidInput(f"as_of {problem}", "as_of")
    return day


def update_stats_spec(
    db: Database, project_id: uuid.UUID, as_of: dt.date | None, days: int | None = None
) -> RunSpec:
    """The stats run of a project and date, once its inputs are checked (no run starts).

    `days` is the window of the recipes' raw average (`window avg`); None takes the project's
    own window (`window_days`), which the rewards always use, as the nightly run does."""
    if days is not None:
        check_days(days)
    day = check_evaluation_date(as_of)
    with db.read() as session:
        project = get_project(session, project_id)
        pid = project.id
        days = project.window_days if days is None else days
    return RunSpec(
        JobName.UPDATE_RECIPE_STATS,
        pid,
        partition_key=day.isoformat(),
        days=days,
        tags={"project_id": str(pid)},
    )


def evaluate_experiments_spec(
    db: Database, project_id: uuid.UUID, as_of: dt.date | None
) -> RunSpec:
    day = check_evaluation_date(as_of)
    with db.read() as session:
        pid = get_project(session, project_id).id
    return RunSpec(
        JobName.EVALUATE_EXPERIMENTS,
        pid,
        partition_key=day.isoformat(),
        tags={"project_id": str(pid)},
    )


def video_plans_spec(
    db: Database, project_id: uuid.UUID, job_ids: list[uuid.UUID] | None = None
) -> RunSpec:
    """The `video_plans` run of a project (or of some of its jobs)."""
    with db.read() as session:
        pid = get_project(session, project_id).id
    return RunSpec(
        JobName.VIDEO_PLANS,
        pid,
        job_ids=tuple(job_ids) if job_ids is not None else None,
        tags={"project_id": str(pid)},
    )


def collect_metrics_spec(db: Database, project_id: uuid.UUID) -> RunSpec:
    """A collector pass for one project, once the project is connected and working."""
    from learning_loop.services.collector import check_collectable

    pid = check_collectable(db, project_id)
    return RunSpec(
        JobName.COLLECT_METRICS,
        pid,
        tags={"project_id": str(pid), "learning_loop/platform": "youtube"},
    )


def run_plan_request(
    db: Database,
    launcher: RunLauncher,
    project_id: uuid.UUID,
    n: int,
    topics: list[str] | None,
    seed: int | None,
    source: str = "cli",
    planned_at: dt.datetime | None = None,
) -> tuple[PlanRequestView, RunInfo]:
    """Write a plan request and fulfil it now in a `plan_next_batch` run (`--wait`).

    The request is marked running with its run id before the run starts, so the sensor,
    which only picks pending requests, never plans it a second time.
    """
    request = create_plan_request(db, project_id, n, topics, seed, source=source)
    run_id = str(uuid.uuid4())
    if not mark_plan_request(
        db,
        request.id,
        PlanRequestStatus.RUNNING,
        run_id=run_id,
        only_if=[PlanRequestStatus.PENDING],
    ):
        raise InvalidInput("the plan request was taken by another planner", "plan_request")
    info = launcher.run(
        RunSpec(
            JobName.PLAN_NEXT_BATCH,
            request.project_id,
            plan_request_id=request.id,
            planned_at=planned_at,
            tags={
                "plan_request_id": str(request.id),
                "project_id": str(request.project_id),
                "source": source,
            },
            run_id=run_id,
        )
    )
    return get_plan_request(db, request.id), info
