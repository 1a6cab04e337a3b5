"""Importing existing videos (the rows of an import file, as JSON)."""

from __future__ import annotations

from api.deps import DatabaseDep, ProjectIdQuery
from api.errors import responses
from api.routing import resource_router
from api.schemas import ImportResult, VideoImport
from learning_loop.services import ingest

router = resource_router(prefix="/videos", tags=["videos"])


@router.post("/import", responses=responses(404, 413, 415), summary="Import existing videos")
def import_videos(db: DatabaseDep, project_id: ProjectIdQuery, body: VideoImport) -> ImportResult:
    """All rows or none, like `learn import-videos`; a row already imported with the same data
    is left as it is, so sending the same list twice adds nothing."""
    rows = list(enumerate(body.videos, start=1))
    return ingest.import_videos(db, project_id, rows, what="videos")
