"""Recipes of a project, what each field value does (insights), and the backfill that extracts
recipes from imported videos."""

from __future__ import annotations

from api.deps import DatabaseDep, LimitQuery, OffsetQuery, ProjectIdQuery, ReadsDep
from api.errors import responses
from api.routing import resource_router
from api.schemas import BackfillResult, RecipePage, page
from learning_loop.services import estimates, ingest, recipes
from learning_loop.services.views import InsightsView

router = resource_router(tags=["recipes"])


@router.get("/recipes", responses=responses(404), summary="List a project's recipes")
async def list_recipes(
    reads: ReadsDep,
    project_id: ProjectIdQuery,
    limit: LimitQuery = 100,
    offset: OffsetQuery = 0,
) -> RecipePage:
    """Best first: the model's estimate of the expected reward (unestimated last), then the
    rewarded videos behind it, times used, recipe hash. Each recipe carries its estimate with
    a 95% interval (whole history) and the raw average of its videos in the stats window."""
    rows = await reads(recipes.list_recipes, project_id, limit + 1, offset)
    return page(RecipePage, rows, limit, offset)


@router.post("/backfill-recipes", responses=responses(404), summary="Backfill recipes")
def backfill_recipes(db: DatabaseDep, project_id: ProjectIdQuery) -> BackfillResult:
    """Give every imported video that has no recipe yet the recipe of its production values."""
    return ingest.backfill_recipes(db, project_id)


@router.get("/insights", responses=responses(404), summary="What each recipe field value does")
async def insights(reads: ReadsDep, project_id: ProjectIdQuery) -> InsightsView:
    """Per field, each value's effect on the expected reward against the default recipe's value
    (effect 0), with a 95% interval, the rewarded videos behind it and the probability that it
    is the field's best value, and one sentence a creator can act on."""
    return await reads(estimates.insights, project_id)
