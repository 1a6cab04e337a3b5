"""A project's aggregate statistics, and starting the daily stats run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Query, status

from api.deps import DatabaseDep, ProjectIdQuery, SettingsDep
from api.errors import ApiError, responses
from api.routing import resource_router
from api.schemas import StatsRunView
from learning_loop.services import stats
from learning_loop.services.recipes import MAX_DAYS
from learning_loop.services.views import StatsView

router = resource_router(tags=["stats"])


@router.get("/stats", responses=responses(404), summary="A project's aggregate statistics")
def project_stats(db: DatabaseDep, project_id: ProjectIdQuery) -> StatsView:
    return stats.project_stats(db, project_id)


def get_stats_run_starter() -> Callable[..., Any]:
    """The service that launches the Dagster stats run (a dependency, so tests can stand in)."""
    try:
        from learning_loop.services.runs import start_update_stats
    except ImportError:
        raise ApiError(
            503, "stats runs are not available in this installation", "update-stats"
        ) from None
    return start_update_stats


StatsRunStarter = Annotated[Callable[..., Any], Depends(get_stats_run_starter)]


def parse_as_of(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ApiError(
            422, f"as_of must be a date YYYY-MM-DD, got {value[:40]!r}", "as_of"
        ) from None


@router.post(
    "/update-stats",
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404),
    summary="Start the stats run",
)
def update_stats(
    settings: SettingsDep,
    db: DatabaseDep,
    start: StatsRunStarter,
    project_id: ProjectIdQuery,
    days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="Window of the recipe stats, in days")
    ] = 30,
    as_of: Annotated[
        str | None,
        Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD (default: today, UTC)"),
    ] = None,
) -> StatsRunView:
    """Starts the Dagster run that computes the rewards of `as_of`, then the recipe stats of
    that date; answers at once with the run's id and status (follow it in Dagster's UI)."""
    day = parse_as_of(as_of)
    # The service checks the project (404) before it launches anything.
    info = start(settings=settings, db=db, project_id=project_id, as_of=day, days=days)
    return StatsRunView.model_validate(
        info.model_dump() | {"project_id": project_id, "as_of": day, "days": days}
    )
