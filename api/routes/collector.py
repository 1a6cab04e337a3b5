"""The metrics collector (contract §12): connect a project to its YouTube channel, run a pass,
and read the snapshots. No answer ever holds the credential."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query, status
from pydantic import BaseModel, Field

from api.deps import (
    DatabaseDep,
    LimitQuery,
    OffsetQuery,
    ProjectIdQuery,
    ProjectPath,
    ReadsDep,
    RunsDep,
    SettingsDep,
)
from api.errors import responses
from api.routing import resource_router
from api.schemas import Body, Page, page
from learning_loop.services import collector
from learning_loop.services.collector import SnapshotView
from learning_loop.services.runs import RunInfo, collect_metrics_spec
from learning_loop.services.views import ConnectionView

router = resource_router(tags=["collector"])


class YouTubeConnect(Body):
    credentials: dict[str, Any] = Field(
        description='An OAuth "authorized user" credential as Google\'s tools write it: '
        '{"type": "authorized_user", "client_id", "client_secret", "refresh_token"}'
    )
    api_key: str | None = Field(
        default=None, max_length=200, description="A YouTube Data API key (public statistics)"
    )


class SnapshotPage(Page[SnapshotView]):
    pass


@router.put(
    "/projects/{project_id}/youtube",
    responses=responses(404, 413, 415),
    summary="Connect a project to its YouTube channel",
)
def connect_youtube(
    db: DatabaseDep, settings: SettingsDep, project_id: ProjectPath, body: YouTubeConnect
) -> ConnectionView:
    """Checks the credential once (a token refresh and the channel it belongs to), then keeps
    it encrypted with the deployment's key. A refused credential (422) stores nothing; Google
    not answering is a 503. Connecting again replaces the credential."""
    return collector.connect_youtube(db, settings, project_id, body.credentials, body.api_key)


class Disconnected(BaseModel):
    project_id: uuid.UUID
    connected: bool


@router.delete(
    "/projects/{project_id}/youtube",
    responses=responses(404),
    summary="Disconnect a project from YouTube",
)
def disconnect_youtube(db: DatabaseDep, project_id: ProjectPath) -> Disconnected:
    """Forgets the credential; the project's videos are no longer polled. A project that is
    not connected is a 404."""
    collector.disconnect_youtube(db, project_id)
    return Disconnected(project_id=project_id, connected=False)


@router.post(
    "/collect-metrics",
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404),
    summary="Start a pass of the metrics collector",
)
def collect_metrics(db: DatabaseDep, runs: RunsDep, project_id: ProjectIdQuery) -> RunInfo:
    """Submits a `collect_metrics` run for the project to the deployment's instance and
    answers at once (follow it at `GET /runs/{run_id}`). A project that is not connected, or
    whose connection is broken, is a 422."""
    return runs.submit(collect_metrics_spec(db, project_id))


@router.get("/metrics", responses=responses(404), summary="List metric snapshots")
async def list_metrics(
    reads: ReadsDep,
    project_id: ProjectIdQuery,
    external_id: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Only this video's")
    ] = None,
    limit: LimitQuery = 100,
    offset: OffsetQuery = 0,
) -> SnapshotPage:
    """Newest first; each with its source (`file`, `api`, `collector`) and, for `views_6h`,
    its basis (`reported`, `observed`, `interpolated`). A value the platform has not given
    yet is null."""
    rows = await reads(collector.list_snapshots, project_id, external_id, limit + 1, offset)
    return page(SnapshotPage, rows, limit, offset)
