"""Projects: create one, list them, show one."""

from __future__ import annotations

import uuid

from fastapi import status

from api.deps import DatabaseDep, LimitQuery, OffsetQuery
from api.errors import responses
from api.routing import resource_router
from api.schemas import ProjectCreate, ProjectPage, page
from learning_loop.services import projects
from learning_loop.services.views import ProjectView

router = resource_router(prefix="/projects", tags=["projects"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=responses(409, 413, 415),
    summary="Create a project",
)
def create_project(db: DatabaseDep, body: ProjectCreate) -> ProjectView:
    """A new project with the contract's default settings; answers the project with its `id`."""
    return projects.create_project(db, body.name)


@router.get("", summary="List projects")
def list_projects(db: DatabaseDep, limit: LimitQuery = 100, offset: OffsetQuery = 0) -> ProjectPage:
    """Oldest first (creation time, then id)."""
    rows = projects.list_projects(db, limit + 1, offset)
    return page(ProjectPage, rows, limit, offset)


@router.get("/{project_id}", responses=responses(404), summary="Show a project")
def show_project(db: DatabaseDep, project_id: uuid.UUID) -> ProjectView:
    return projects.show_project(db, project_id)
