"""Plan requests: ask for a batch (the plan sensor runs it), then follow the request."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Response, status

from api.deps import ADMIN_PREFIX, DatabaseDep, PrincipalDep, RunsDep
from api.errors import ApiError, responses
from api.routing import resource_router
from api.schemas import PlanRequestCreate
from learning_loop.services import plan_requests
from learning_loop.services.views import PlanRequestView

router = resource_router(prefix="/plan-requests", tags=["plan requests"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404, 413, 415),
    summary="Request a batch",
)
def request_plan(
    db: DatabaseDep,
    runs: RunsDep,
    principal: PrincipalDep,
    body: PlanRequestCreate,
    response: Response,
) -> PlanRequestView:
    """Recorded as `pending`; the plan sensor starts one `plan_next_batch` run for it.
    Follow it at the `Location` answered. `note` says when no Dagster daemon serves the
    instance, so that the request would stay pending."""
    principal.check_project(body.project_id)
    created = plan_requests.create_plan_request(
        db, body.project_id, body.n, body.topics, body.seed, source="api"
    )
    response.headers["Location"] = f"{ADMIN_PREFIX}{router.prefix}/{created.id}"
    return created.model_copy(update={"note": runs.daemon_note("the request stays pending")})


@router.get("/{request_id}", responses=responses(404), summary="Follow a plan request")
def get_plan_request(
    db: DatabaseDep,
    principal: PrincipalDep,
    request_id: uuid.UUID,
    project_id: Annotated[
        uuid.UUID | None, Query(description="When given, must be the request's own project")
    ] = None,
) -> PlanRequestView:
    """Status (`pending`, `running`, `succeeded`, `failed`), the Dagster run id, and once it
    succeeded the batch and its jobs."""
    found = plan_requests.get_plan_request(db, request_id)
    if not principal.reaches(found.project_id):  # another project's: as if it did not exist
        raise ApiError(404, f"no plan request {request_id}", "request_id")
    if project_id is not None and found.project_id != project_id:
        raise ApiError(404, f"no plan request {request_id} in project {project_id}", "request_id")
    return found
