"""Video plans made after planning (contract §8): every planned job without a valid plan gets
one from its project's planner backend, with a bounded number of requests in flight.

Planning a batch (§6) never waits on a language model: with the `openai` backend its jobs are
written `pending`, and this service plans them afterwards (the `video_plans` asset runs it).
Each job's outcome is written as soon as it is known:

- a valid plan: the job is `ready`, its plan stored;
- a plan that still breaks the recipe after the backend's re-asks, or any other answer that
  cannot make a plan: one failed attempt, the job is `failed` with the error in one line; the
  next run tries again until `max_attempts` failed attempts, after which it stays `failed`;
- the endpoint unreachable (after the backend's retries with backoff), or refusing the
  credentials: the job is not at fault, so no attempt is counted; it keeps its state with the
  error, and the next run tries again. Once `concurrency` jobs in a row end this way the run
  stops asking (the endpoint is down) and leaves the rest for the next run.

A write only lands if the job is still where the run found it (its state and attempts), so two
runs that overlap never count one failure twice nor overwrite a newer plan.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import ColumnElement, CursorResult, and_, func, null, or_, select, update

from learning_loop.db.engine import Database
from learning_loop.db.models import Project, VideoJob
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import recipe_of
from learning_loop.domain.recipe import Recipe
from learning_loop.domain.statuses import GenerationMode, JobStatus, PlanStatus
from learning_loop.errors import Conflict, InvalidInput, NotFound, scrub
from learning_loop.planner.stats import BackendStats
from learning_loop.services.planning import untitled_idea
from learning_loop.services.views import VideoView

ERROR_MAX = 500  # characters of a stored error


class VideoPlansResult(BaseModel):
    """What one `video_plans` run did (the asset's metadata, `learn video-plans`)."""

    jobs: int = 0  # jobs without a valid plan that the run took up
    made: int = 0  # plans made and stored: those jobs are `ready`
    failed: int = 0  # failed attempts: those jobs are `failed` (retried while attempts remain)
    failed_for_good: int = 0  # of those, jobs that reached the maximum of failed attempts
    left_pending: int = 0  # not at fault (endpoint down): left for the next run
    re_asked: int = 0  # plans sent back to the backend for correction
    requests: int = 0  # backend calls (chat completions for `openai`)
    latency_median_s: float | None = None
    latency_p95_s: float | None = None
    max_in_flight: int = 0  # most jobs being planned at once (each has one request in flight)
    concurrency: int = 0
    seconds: float = 0.0
    errors: list[str] = []  # distinct errors of this run, a few


@dataclass
class _RunState:
    in_flight: int = 0
    transient_in_a_row: int = 0
    down: bool = False  # the endpoint is taken as down: the rest wait for the next run


@dataclass(frozen=True)
class _Work:
    job_id: uuid.UUID
    project_id: uuid.UUID
    idea: str
    recipe: Recipe
    target_duration_s: float
    backend: str
    status: str
    attempts: int


def one_line(text: str) -> str:
    """An error as stored and shown: one line, no credential, at most ERROR_MAX characters."""
    line = " ".join(scrub(str(text)).split())
    return line if len(line) <= ERROR_MAX else line[: ERROR_MAX - 1] + "…"


def _due(max_attempts: int) -> ColumnElement[bool]:
    """Jobs whose plan is still to be made: pending, or failed with attempts left."""
    return or_(
        VideoJob.plan_status == PlanStatus.PENDING,
        and_(
            VideoJob.plan_status == PlanStatus.FAILED,
            VideoJob.plan_attempts < max_attempts,
        ),
    )


def _check_limits(concurrency: int, max_attempts: int) -> None:
    if not 1 <= concurrency <= 64:
        raise InvalidInput(f"concurrency must be within 1..64, got {concurrency}", "concurrency")
    if not 1 <= max_attempts <= 100:
        raise InvalidInput(
            f"max_attempts must be within 1..100, got {max_attempts}", "max_attempts"
        )


def due_work(
    db: Database,
    project_id: uuid.UUID | None,
    job_ids: Sequence[uuid.UUID] | None,
    max_attempts: int,
) -> list[_Work]:
    stmt = (
        select(VideoJob, RecipeRow, Project.target_duration_s, Project.planner_backend)
        .join(RecipeRow, RecipeRow.id == VideoJob.recipe_id)
        .join(Project, Project.id == VideoJob.project_id)
        .where(_due(max_attempts))
        .order_by(VideoJob.created_at, VideoJob.batch_position, VideoJob.id)
    )
    if project_id is not None:
        stmt = stmt.where(VideoJob.project_id == project_id)
    if job_ids is not None:
        stmt = stmt.where(VideoJob.id.in_(list(job_ids)))
    out = []
    with db.read() as session:
        if project_id is not None and session.get(Project, project_id) is None:
            raise NotFound(f"no project with id {project_id}", "project_id")
        for job, recipe_row, target, backend in session.execute(stmt).tuples():
            recipe = recipe_of(recipe_row)
            out.append(
                _Work(
                    job_id=job.id,
                    project_id=job.project_id,
                    idea=job.topic or untitled_idea(recipe),
                    recipe=recipe,
                    target_duration_s=target,
                    backend=backend,
                    status=str(job.plan_status),
                    attempts=job.plan_attempts,
                )
            )
    return out


def projects_with_plans_due(db: Database, max_attempts: int) -> list[tuple[uuid.UUID, int]]:
    """(project, jobs) of every project with plans to make, for the schedule and the sensor."""
    with db.read() as session:
        rows = session.execute(
            select(VideoJob.project_id, func.count())
            .where(_due(max_attempts))
            .group_by(VideoJob.project_id)
            .order_by(VideoJob.project_id)
        ).tuples()
        return [(pid, int(n)) for pid, n in rows]


def make_video_plans(
    db: Database,
    project_id: uuid.UUID | None = None,
    job_ids: Sequence[uuid.UUID] | None = None,
    *,
    concurrency: int = 8,
    max_attempts: int = 3,
    backend_options: Mapping[str, Any] | None = None,
) -> VideoPlansResult:
    """Plan every job without a valid plan (of one project, or of these jobs, or all).

    `backend_options` go to the `openai` backend (the LEARNING_LOOP_LLM_* settings otherwise).
    """
    _check_limits(concurrency, max_attempts)
    started = time.perf_counter()
    work = due_work(db, project_id, job_ids, max_attempts)
    result = VideoPlansResult(jobs=len(work), concurrency=concurrency)
    if work:
        asyncio.run(_plan_all(db, work, concurrency, max_attempts, backend_options or {}, result))
    result.seconds = round(time.perf_counter() - started, 3)
    return result


async def _plan_all(
    db: Database,
    work: list[_Work],
    concurrency: int,
    max_attempts: int,
    backend_options: Mapping[str, Any],
    result: VideoPlansResult,
) -> None:
    # Imported here: a batch of template plans never loads the planner's HTTP stack.
    from learning_loop.planner import (
        LearningLoopPlanner,
        PlannerBackendError,
        PlannerConfigError,
        PlannerError,
    )

    stats = BackendStats()
    gate = asyncio.Semaphore(concurrency)
    errors: dict[str, None] = {}
    state = _RunState()

    async with AsyncExitStack() as stack:
        planners: dict[tuple[str, float], LearningLoopPlanner | PlannerError] = {}
        for key in sorted({(w.backend, w.target_duration_s) for w in work}):
            backend, target = key
            options = dict(backend_options) if backend != "template" else {}
            try:
                planner = LearningLoopPlanner(backend, target, stats=stats, **options)
            except PlannerError as exc:
                planners[key] = exc
                continue
            planners[key] = await stack.enter_async_context(planner)

        async def one(w: _Work) -> None:
            planner = planners[(w.backend, w.target_duration_s)]
            outcome: tuple[str, Any]
            async with gate:
                if state.down:
                    result.left_pending += 1
                    return
                if isinstance(planner, PlannerConfigError):
                    # The deployment's settings, not the job: nothing is counted against it.
                    outcome = ("later", planner.message)
                elif isinstance(planner, PlannerError):
                    outcome = ("failed", planner.message)
                else:
                    state.in_flight += 1
                    result.max_in_flight = max(result.max_in_flight, state.in_flight)
                    try:
                        plan = await planner.plan(w.idea, w.recipe)
                    except PlannerBackendError as exc:
                        if exc.retry_later:
                            outcome = ("later", exc.message)
                            state.transient_in_a_row += 1
                            if state.transient_in_a_row >= concurrency:
                                state.down = True
                        else:
                            outcome = ("failed", exc.message)
                    except PlannerError as exc:
                        outcome = ("failed", exc.message)
                    else:
                        state.transient_in_a_row = 0
                        outcome = ("ready", plan.model_dump(mode="json"))
                    finally:
                        state.in_flight -= 1
            kind, value = outcome
            if kind != "ready":
                errors.setdefault(one_line(str(value)), None)
            written = await asyncio.to_thread(_write_outcome, db, w, kind, value)
            if not written:
                return  # another run got there first
            if kind == "ready":
                result.made += 1
            elif kind == "failed":
                result.failed += 1
                if w.attempts + 1 >= max_attempts:
                    result.failed_for_good += 1
            else:
                result.left_pending += 1

        await asyncio.gather(*(one(w) for w in work))

    result.re_asked = stats.re_asks
    result.requests = len(stats.latencies_s)
    result.latency_median_s = _rounded(stats.median_s)
    result.latency_p95_s = _rounded(stats.p95_s)
    result.errors = list(errors)[:5]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _write_outcome(db: Database, w: _Work, kind: str, value: Any) -> bool:
    """Store one job's outcome if the job is still as the run found it; True if it landed."""
    values: dict[str, Any]
    if kind == "ready":
        values = {"plan": value, "plan_status": PlanStatus.READY, "plan_error": None}
    elif kind == "failed":
        values = {
            "plan": null(),
            "plan_status": PlanStatus.FAILED,
            "plan_error": one_line(value),
            "plan_attempts": w.attempts + 1,
        }
    else:
        values = {"plan_error": one_line(value)}
    with db.transaction() as session:
        # An UPDATE's result is a CursorResult (Session.execute is typed for any statement).
        done = cast(
            "CursorResult[Any]",
            session.execute(
                update(VideoJob)
                .where(
                    VideoJob.id == w.job_id,
                    VideoJob.plan_status == w.status,
                    VideoJob.plan_attempts == w.attempts,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            ),
        )
        return bool(done.rowcount)


def request_replan(
    db: Database, job_id: uuid.UUID, project_id: uuid.UUID | None = None
) -> uuid.UUID:
    """Ask for a fresh plan of one queued planned job: it becomes `pending` with no plan and
    no failed attempts, for the next `video_plans` run. Returns the job's project."""
    with db.transaction() as session:
        job = session.get(VideoJob, job_id)
        if job is None or (project_id is not None and job.project_id != project_id):
            where = f" in project {project_id}" if project_id is not None else ""
            raise NotFound(f"no video job {job_id}{where}", "job_id")
        if job.generation_mode == GenerationMode.MANUAL or job.recipe_id is None:
            raise Conflict(
                f"video job {job_id} is imported history: it has no plan to make", "job_id"
            )
        if job.status != JobStatus.QUEUED:
            raise Conflict(
                f"video job {job_id} is {job.status}: its video is made, a plan would not "
                "change it",
                "job_id",
            )
        session.execute(
            update(VideoJob)
            .where(VideoJob.id == job_id)
            .values(plan=null(), plan_status=PlanStatus.PENDING, plan_error=None, plan_attempts=0)
            .execution_options(synchronize_session=False)
        )
        return job.project_id


def job_plan_view(db: Database, job_id: uuid.UUID) -> VideoView:
    """One job as `learn videos` lists it, with its plan."""
    from learning_loop.services.video_jobs import video_views

    with db.read() as session:
        project = session.scalar(select(VideoJob.project_id).where(VideoJob.id == job_id))
        if project is None:
            raise NotFound(f"no video job {job_id}", "job_id")
        return video_views(session, project, [job_id], with_plans=True)[0]
