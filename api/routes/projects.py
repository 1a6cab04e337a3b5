"""Projects: create one, list them, show and change one's settings."""

from __future__ import annotations

from fastapi import status

from api.deps import DatabaseDep, LimitQuery, OffsetQuery, PrincipalDep, ProjectPath, ReadsDep
from api.errors import ApiError, responses
from api.routing import resource_router
from api.schemas import ProjectCreate, ProjectPage, ProjectPatch, page
from learning_loop.domain.setting_rules import ProjectSettings
from learning_loop.services import projects
from learning_loop.services.views import ProjectSettingsView, ProjectView

router = resource_router(prefix="/projects", tags=["projects"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=responses(409, 413, 415),
    summary="Create a project",
)
def create_project(db: DatabaseDep, principal: PrincipalDep, body: ProjectCreate) -> ProjectView:
    """A new project; a setting left out takes the contract's default. Answers the project
    with its `id`. The admin token only (403 for a project's token)."""
    if not principal.is_admin:
        raise ApiError(403, "a project's token cannot create projects", "Authorization")
    settings = projects.merge_settings(ProjectSettings(), body.change())
    return projects.create_project(db, body.name, settings)


@router.get("", summary="List projects")
async def list_projects(
    reads: ReadsDep, principal: PrincipalDep, limit: LimitQuery = 100, offset: OffsetQuery = 0
) -> ProjectPage:
    """Oldest first (creation time, then id); a project's token lists its project alone."""
    if principal.project_id is not None:
        rows = await reads(projects.list_projects, limit + 1, offset, principal.project_id)
        return page(ProjectPage, rows, limit, offset)
    rows = await reads(projects.list_projects, limit + 1, offset)
    return page(ProjectPage, rows, limit, offset)


@router.get("/{project_id}", responses=responses(404), summary="Show a project's settings")
async def show_project(reads: ReadsDep, project_id: ProjectPath) -> ProjectSettingsView:
    """Every setting of the project and the recorded changes, oldest first."""
    return await reads(projects.show_settings, project_id)


@router.patch(
    "/{project_id}",
    responses=responses(404, 413, 415),
    summary="Change a project's settings",
)
def patch_project(
    db: DatabaseDep, project_id: ProjectPath, body: ProjectPatch
) -> ProjectSettingsView:
    """Change any subset of the settings. A rejected change writes nothing; every change is
    recorded and applies to dates evaluated and batches planned after it."""
    projects.configure_project(
        db,
        project_id,
        change=body.change(body.add_presets, body.remove_presets),
    )
    return projects.show_settings(db, project_id)
