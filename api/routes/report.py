"""The project's HTML report (the same page the demo writes), behind the admin token."""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from api.deps import DatabaseDep, ProjectIdQuery
from api.errors import responses
from api.routing import resource_router
from learning_loop.services.report import project_report

router = resource_router(tags=["report"])


@router.get(
    "/report",
    response_class=HTMLResponse,
    # Error answers stay JSON; left alone, FastAPI would document them as HTML too.
    responses={
        code: {
            "description": entry["description"],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
        for code, entry in responses(401, 404, 422, 503).items()
    },
    summary="The project's report: a self-contained HTML page with charts",
)
def report(db: DatabaseDep, project_id: ProjectIdQuery) -> HTMLResponse:
    return HTMLResponse(project_report(db, project_id))
