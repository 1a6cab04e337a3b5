"""Ingesting metric snapshots (the rows of a metrics file, as JSON)."""

from __future__ import annotations

from api.deps import DatabaseDep, ProjectIdQuery
from api.errors import responses
from api.routing import resource_router
from api.schemas import IngestResult, MetricsUpload
from learning_loop.domain.statuses import SnapshotSource
from learning_loop.services.ingest import ingest_metrics

router = resource_router(tags=["metrics"])


@router.post("/metrics", responses=responses(404, 413, 415), summary="Ingest metric snapshots")
def ingest(db: DatabaseDep, project_id: ProjectIdQuery, body: MetricsUpload) -> IngestResult:
    """All rows or none, like `learn ingest-metrics`; a snapshot is identified by
    `external_id` + `captured_at`, so sending the same list twice adds nothing."""
    rows = list(enumerate(body.snapshots, start=1))
    return ingest_metrics(db, project_id, rows, what="snapshots", source=SnapshotSource.API)
