"""A project's aggregate statistics, and starting the daily stats run."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, cast

from fastapi import Query, status
from pydantic import Field

from api.deps import DatabaseDep, PrincipalDep, ProjectIdQuery, RunsDep
from api.errors import ApiError, responses
from api.routing import resource_router
from api.schemas import Body, EvaluateRunView, StatsRunView
from learning_loop.services import stats
from learning_loop.services.recipes import MAX_DAYS
from learning_loop.services.runs import evaluate_experiments_spec, update_stats_spec
from learning_loop.services.views import StatsView

router = resource_router(tags=["stats"])


@router.get("/stats", responses=responses(404), summary="A project's aggregate statistics")
def project_stats(db: DatabaseDep, project_id: ProjectIdQuery) -> StatsView:
    return stats.project_stats(db, project_id)


def parse_as_of(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ApiError(
            422, f"as_of must be a date YYYY-MM-DD, got {value[:40]!r}", "as_of"
        ) from None


DAYS = (
    "Days of the recipes' raw average (`window avg`); default: the project's window "
    "(`window_days`). Rewards always use the project's window, estimates the whole history."
)


AS_OF = "YYYY-MM-DD, 2015-01-01 through tomorrow (default: today, UTC)"
DATE = r"^\d{4}-\d{2}-\d{2}$"
ProjectIdParam = Annotated[
    uuid.UUID | None, Query(description="The project's id (or in the JSON body)")
]
AsOfParam = Annotated[str | None, Query(pattern=DATE, description=AS_OF)]


class EvaluateBody(Body):
    """The JSON form of `POST /evaluate-experiments` (the query form stays)."""

    project_id: uuid.UUID
    as_of: str | None = Field(default=None, pattern=DATE, description=AS_OF)


class UpdateStatsBody(EvaluateBody):
    """The JSON form of `POST /update-stats` (the query form stays)."""

    days: int | None = Field(default=None, ge=1, le=MAX_DAYS, description=DAYS)


def _query_or_body(body: Body | None, **query: object) -> dict[str, object]:
    """A run's parameters, from the query string or from the JSON body, never both; the
    project is required either way."""
    if body is not None:
        if any(v is not None for v in query.values()):
            raise ApiError(
                422, "give the parameters in the query string or in the body, not both", "body"
            )
        query = {name: getattr(body, name) for name in query}
    if query["project_id"] is None:
        raise ApiError(422, "project_id: Field required", "project_id")
    return query


@router.post(
    "/update-stats",
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404),
    summary="Start the stats run",
)
def update_stats(
    db: DatabaseDep,
    runs: RunsDep,
    principal: PrincipalDep,
    project_id: ProjectIdParam = None,
    days: Annotated[int | None, Query(ge=1, le=MAX_DAYS, description=DAYS)] = None,
    as_of: AsOfParam = None,
    body: UpdateStatsBody | None = None,
) -> StatsRunView:
    """Submits the Dagster run that computes the rewards of `as_of`, then the recipe stats of
    that date, to the deployment's instance; answers at once with the run's id and status
    (`QUEUED`: the daemon starts it; follow it at `GET /runs/{run_id}` or in Dagster's UI).
    `note` says when no daemon serves the instance, so the run would wait. The parameters
    come in the query string or in a JSON body `{"project_id", "days", "as_of"}`, not both."""
    given = _query_or_body(body, project_id=project_id, days=days, as_of=as_of)
    pid = cast(uuid.UUID, given["project_id"])
    principal.check_project(pid)
    # The date, the window and the project are checked (422, 404) before anything is queued.
    spec = update_stats_spec(
        db, pid, parse_as_of(cast(str | None, given["as_of"])), cast(int | None, given["days"])
    )
    info = runs.submit(spec)
    return StatsRunView.model_validate(
        info.model_dump() | {"project_id": pid, "as_of": spec.partition_key, "days": spec.days}
    )


@router.post(
    "/evaluate-experiments",
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404),
    summary="Start the experiment evaluation run",
)
def evaluate_experiments(
    db: DatabaseDep,
    runs: RunsDep,
    principal: PrincipalDep,
    project_id: ProjectIdParam = None,
    as_of: AsOfParam = None,
    body: EvaluateBody | None = None,
) -> EvaluateRunView:
    """Submits the Dagster run that judges the project's running experiments as of `as_of`
    (what the nightly schedule runs), as `POST /update-stats` does its run: answered at once
    with the run's id; follow it at `GET /runs/{run_id}`. Query string or JSON body
    `{"project_id", "as_of"}`, not both."""
    given = _query_or_body(body, project_id=project_id, as_of=as_of)
    pid = cast(uuid.UUID, given["project_id"])
    principal.check_project(pid)
    spec = evaluate_experiments_spec(db, pid, parse_as_of(cast(str | None, given["as_of"])))
    info = runs.submit(spec)
    return EvaluateRunView.model_validate(
        info.model_dump() | {"project_id": pid, "as_of": spec.partition_key}
    )
