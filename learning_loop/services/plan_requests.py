"""Plan requests: rows written by the API and the CLI, processed once by the plan sensor."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import PlanRequest
from learning_loop.domain.statuses import PlanRequestStatus
from learning_loop.errors import NotFound, scrub
from learning_loop.services.planning import check_request, existing_batch
from learning_loop.services.projects import get_project
from learning_loop.services.views import PlanRequestView


def create_plan_request(
    db: Database,
    project_id: uuid.UUID,
    n: int = 5,
    topics: Sequence[str] | None = None,
    seed: int | None = None,
    source: str = "api",
) -> PlanRequestView:
    """Record a request to plan a batch; the sensor turns it into a `plan_next_batch` run."""
    cleaned = check_request(n, topics, seed)
    with db.transaction() as session:
        project = get_project(session, project_id)
        now = dt.datetime.now(dt.UTC)
        request = PlanRequest(
            id=uuid.uuid4(),
            project_id=project.id,
            n=n,
            topics=cleaned,
            seed=seed,
            source=source,
            status=PlanRequestStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        session.add(request)
        session.flush()
        return _view(session, request)


def get_plan_request(db: Database, request_id: uuid.UUID) -> PlanRequestView:
    with db.read() as session:
        request = session.get(PlanRequest, request_id)
        if request is None:
            raise NotFound(f"no plan request {request_id}", "request_id")
        return _view(session, request)


def pending_plan_requests(db: Database, limit: int = 100) -> list[PlanRequestView]:
    """Oldest first: what the sensor has not handed to a run yet."""
    with db.read() as session:
        rows = session.scalars(
            select(PlanRequest)
            .where(PlanRequest.status == PlanRequestStatus.PENDING)
            .order_by(PlanRequest.created_at, PlanRequest.id)
            .limit(limit)
        )
        return [_view(session, r, with_jobs=False) for r in rows]


def mark_plan_request(
    db: Database,
    request_id: uuid.UUID,
    status: PlanRequestStatus,
    *,
    run_id: str | None = None,
    batch_id: uuid.UUID | None = None,
    error: str | None = None,
    only_if: Sequence[PlanRequestStatus] | None = None,
) -> bool:
    """Move a request to `status`; with `only_if`, only from those states. True if it moved."""
    values: dict[str, Any] = {"status": status, "updated_at": dt.datetime.now(dt.UTC)}
    if run_id is not None:
        values["run_id"] = run_id
    if batch_id is not None:
        values["batch_id"] = batch_id
    if error is not None:
        values["error"] = scrub(error)[:2000]
    with db.transaction() as session:
        stmt = update(PlanRequest).where(PlanRequest.id == request_id).values(**values)
        if only_if is not None:
            stmt = stmt.where(PlanRequest.status.in_(list(only_if)))
        # An UPDATE's result is a CursorResult (Session.execute is typed for any statement).
        result = cast("CursorResult[Any]", session.execute(stmt))
        return bool(result.rowcount)


def _view(session: Session, request: PlanRequest, with_jobs: bool = True) -> PlanRequestView:
    written = existing_batch(session, request.id) if with_jobs else None
    batch = written.batch if written else None
    jobs = written.jobs if written else None
    return PlanRequestView(
        id=request.id,
        project_id=request.project_id,
        n=request.n,
        topics=request.topics,
        seed=request.seed,
        source=request.source,
        status=request.status,
        run_id=request.run_id,
        batch_id=request.batch_id,
        attempts=request.attempts or 0,
        error=request.error,
        created_at=request.created_at,
        updated_at=request.updated_at,
        batch=batch,
        jobs=jobs,
    )


# A request whose run died is retried this many times in all, then failed for good.
PLAN_REQUEST_MAX_ATTEMPTS = 3
# A running request whose run the instance does not know yet may be about to start it.
UNKNOWN_RUN_GRACE = dt.timedelta(minutes=10)
ENDED = ("FAILURE", "CANCELED")


def resume_dead_requests(
    db: Database, run_status: Callable[[str], str | None], now: dt.datetime | None = None
) -> list[uuid.UUID]:
    """Put back to `pending` the running requests whose run ended without finishing them (it
    was killed, or reaped: issue #30), counting the attempt; after PLAN_REQUEST_MAX_ATTEMPTS
    such runs a request is `failed`. `run_status` is the run's Dagster status (None: no such
    run). The requests moved."""
    now = now or dt.datetime.now(dt.UTC)
    moved: list[uuid.UUID] = []
    with db.read() as session:
        running = session.execute(
            select(PlanRequest.id, PlanRequest.run_id, PlanRequest.attempts, PlanRequest.updated_at)
            .where(PlanRequest.status == PlanRequestStatus.RUNNING)
            .order_by(PlanRequest.updated_at)
            .limit(1000)
        ).all()
    for request_id, run_id, attempts, updated_at in running:
        status = run_status(run_id) if run_id else None
        if status is None and now - updated_at < UNKNOWN_RUN_GRACE:
            continue
        if status is not None and status not in ENDED:
            continue
        attempts = (attempts or 0) + 1
        again = attempts < PLAN_REQUEST_MAX_ATTEMPTS
        what = (
            f"its run {run_id} ended ({status or 'unknown to the instance'}) without finishing it"
        )
        values: dict[str, Any] = {
            "status": PlanRequestStatus.PENDING if again else PlanRequestStatus.FAILED,
            "attempts": attempts,
            "updated_at": now,
            "error": f"{what}; retried (attempt {attempts + 1} of {PLAN_REQUEST_MAX_ATTEMPTS})"
            if again
            else f"{what}, {attempts} times; not retried",
        }
        with db.transaction() as session:
            result = cast(
                "CursorResult[Any]",
                session.execute(
                    update(PlanRequest)
                    .where(
                        PlanRequest.id == request_id,
                        PlanRequest.status == PlanRequestStatus.RUNNING,
                        PlanRequest.run_id.is_not_distinct_from(run_id),
                    )
                    .values(**values)
                ),
            )
        if result.rowcount:
            moved.append(request_id)
    return moved
