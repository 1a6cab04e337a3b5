"""Dagster runs the API submitted: follow one by its id."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel

from api.deps import PrincipalDep, RunsDep
from api.errors import responses
from api.routing import resource_router
from learning_loop.errors import NotFound
from learning_loop.services.runs import RunInfo

router = resource_router(prefix="/runs", tags=["runs"])


class RunList(BaseModel):
    items: list[RunInfo]
    limit: int


@router.get("", summary="The latest runs")
def recent_runs(
    runs: RunsDep,
    principal: PrincipalDep,
    reaped: Annotated[
        bool, Query(description="Only runs failed because the process running them died")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=1000, description="Runs listed")] = 20,
) -> RunList:
    """Newest first. A reaped run (its process died before it ended; issue #30) is `FAILURE`
    with the reason in `error`."""
    items = runs.recent(limit, reaped_only=reaped, project_id=principal.project_id)
    return RunList(items=items, limit=limit)


@router.get("/{run_id}", responses=responses(404), summary="A run's status")
def run_status(
    runs: RunsDep,
    principal: PrincipalDep,
    run_id: Annotated[uuid.UUID, Path(description="The Dagster run id answered when submitted")],
) -> RunInfo:
    """`QUEUED` until the daemon starts it, then `STARTING`, `STARTED`, and `SUCCESS` or
    `FAILURE`; `success` is set once it has ended."""
    info = runs.status(str(run_id))
    if not principal.is_admin and info.project_id != str(principal.project_id):
        raise NotFound(f"no run {run_id} in this Dagster instance", "run_id")
    return info
