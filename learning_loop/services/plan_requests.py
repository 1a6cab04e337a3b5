"""Plan requests: rows written by the API and the CLI, processed once by the plan sensor."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import PlanRequest
from learning_loop.domain.statuses import PlanRequestStatus
from learning_loop.errors import NotFound
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
            status=PlanRequestStatus.PENDING.value,
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
            .where(PlanRequest.status == PlanRequestStatus.PENDING.value)
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
    values: dict[str, Any] = {"status": status.value, "updated_at": dt.datetime.now(dt.UTC)}
    if run_id is not None:
        values["run_id"] = run_id
    if batch_id is not None:
        values["batch_id"] = batch_id
    if error is not None:
        values["error"] = error[:2000]
    with db.transaction() as session:
        stmt = update(PlanRequest).where(PlanRequest.id == request_id).values(**values)
        if only_if is not None:
            stmt = stmt.where(PlanRequest.status.in_([state.value for state in only_if]))
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
        status=PlanRequestStatus(request.status),
        run_id=request.run_id,
        batch_id=request.batch_id,
        error=request.error,
        created_at=request.created_at,
        updated_at=request.updated_at,
        batch=batch,
        jobs=jobs,
    )
