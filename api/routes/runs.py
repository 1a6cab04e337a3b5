"""Dagster runs the API submitted: follow one by its id."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path

from api.deps import RunsDep
from api.errors import responses
from api.routing import resource_router
from learning_loop.services.runs import RunInfo

router = resource_router(prefix="/runs", tags=["runs"])


@router.get("/{run_id}", responses=responses(404), summary="A run's status")
def run_status(
    runs: RunsDep,
    run_id: Annotated[uuid.UUID, Path(description="The Dagster run id answered when submitted")],
) -> RunInfo:
    """`QUEUED` until the daemon starts it, then `STARTING`, `STARTED`, and `SUCCESS` or
    `FAILURE`; `success` is set once it has ended."""
    return runs.status(str(run_id))
