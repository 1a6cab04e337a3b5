"""A/B experiments of a project and their verdicts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from api.deps import LimitQuery, OffsetQuery, ProjectIdQuery, ReadsDep
from api.errors import responses
from api.routing import resource_router
from api.schemas import ExperimentPage, page
from learning_loop.domain.statuses import ExperimentStatus
from learning_loop.services import experiments

router = resource_router(tags=["experiments"])


@router.get("/experiments", responses=responses(404), summary="List a project's experiments")
async def list_experiments(
    reads: ReadsDep,
    project_id: ProjectIdQuery,
    status: Annotated[ExperimentStatus | None, Query()] = None,
    limit: LimitQuery = 100,
    offset: OffsetQuery = 0,
) -> ExperimentPage:
    """Oldest first (start time, then id)."""
    rows = await reads(experiments.list_experiments, project_id, status, limit + 1, offset)
    return page(ExperimentPage, rows, limit, offset)
