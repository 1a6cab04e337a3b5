"""Recipes of a project, and the backfill that extracts them from imported videos."""

from __future__ import annotations

from api.deps import DatabaseDep, LimitQuery, OffsetQuery, ProjectIdQuery, ReadsDep
from api.errors import responses
from api.routing import resource_router
from api.schemas import BackfillResult, RecipePage, page
from learning_loop.services import ingest, recipes

router = resource_router(tags=["recipes"])


@router.get("/recipes", responses=responses(404), summary="List a project's recipes")
async def list_recipes(
    reads: ReadsDep,
    project_id: ProjectIdQuery,
    limit: LimitQuery = 100,
    offset: OffsetQuery = 0,
) -> RecipePage:
    """Best first: average reward (unrewarded last), then times used, then recipe hash."""
    rows = await reads(recipes.list_recipes, project_id, limit + 1, offset)
    return page(RecipePage, rows, limit, offset)


@router.post("/backfill-recipes", responses=responses(404), summary="Backfill recipes")
def backfill_recipes(db: DatabaseDep, project_id: ProjectIdQuery) -> BackfillResult:
    """Give every imported video that has no recipe yet the recipe of its production values."""
    return ingest.backfill_recipes(db, project_id)
