"""Ingesting the metric snapshots of published videos, from a file, an API request or the
collector: each row's fields and checks, and the ingest's staging, judging and writing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Float,
    Select,
    String,
    Table,
    and_,
    case,
    exists,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from learning_loop.db.engine import Database
from learning_loop.db.models import MetricSnapshot, RewardBacklog, UTCDateTime, VideoJob
from learning_loop.db.queries import dialect_insert, refresh_statistics
from learning_loop.db.staging import stage_table
from learning_loop.domain.statuses import JobStatus, SnapshotSource, Views6hBasis
from learning_loop.services.ingest.fields import (
    COLLECTED_FIELDS,
    METRIC_COLUMNS,
    SNAPSHOT_FIELDS,
    snapshot_columns,
)
from learning_loop.services.ingest.loading import Load, Rows, load_rows, naive
from learning_loop.services.projects import get_project
from learning_loop.services.row_files import Progress
from learning_loop.services.rows import RowProblem, parse_fields


class IngestResult(BaseModel):
    project_id: uuid.UUID
    rows: int
    ingested: int
    unchanged: int


@dataclass(frozen=True)
class Snapshot:
    external_id: str
    captured_at: dt.datetime
    views: int
    views_6h: int | None
    avg_view_duration_s: float | None
    likes: int
    comments: int
    views_6h_basis: str | None = Views6hBasis.REPORTED

    def staged(self) -> tuple[Any, ...]:
        return (
            self.external_id,
            naive(self.captured_at),
            self.views,
            self.views_6h,
            self.avg_view_duration_s,
            self.likes,
            self.comments,
            self.views_6h_basis,
        )


def _check_snapshot(row: Mapping[str, Any]) -> Snapshot:
    return _checked_views_6h(Snapshot(**parse_fields(row, SNAPSHOT_FIELDS)))


def _checked_views_6h(snap: Snapshot) -> Snapshot:
    if snap.views_6h is not None and snap.views_6h > snap.views:
        raise RowProblem(f"views_6h ({snap.views_6h}) must not exceed views ({snap.views})")
    return snap


def _check_collected(row: Mapping[str, Any]) -> Snapshot:
    values = parse_fields(row, COLLECTED_FIELDS)
    basis = None if values["views_6h"] is None else str(Views6hBasis(row["views_6h_basis"]))
    return _checked_views_6h(Snapshot(**values, views_6h_basis=basis))


_SNAPSHOT_STAGE = stage_table(
    "ingest_metrics_stage",
    Column("external_id", String(200)),
    Column("captured_at", UTCDateTime),
    Column("views", BigInteger),
    Column("views_6h", BigInteger),
    Column("avg_view_duration_s", Float),
    Column("likes", BigInteger),
    Column("comments", BigInteger),
    Column("views_6h_basis", String(12)),
)


def ingest_metrics(
    db: Database,
    project_id: uuid.UUID,
    rows: Rows,
    what: str = "metrics file",
    progress: Progress | None = None,
    source: SnapshotSource = SnapshotSource.FILE,
) -> IngestResult:
    """Store snapshots; all rows or none. A snapshot is identified by external_id + captured_at.

    A row is judged in this order, the first failure being its error: its video is a
    published video of the project, it was captured no earlier than the video was published,
    no earlier line of the file has the same external_id and captured_at, and a snapshot
    already stored with that key has the same values (then it is counted as unchanged).
    """
    with db.transaction() as session:
        project_id = get_project(session, project_id).id
        result = ingest_snapshots(session, project_id, rows, what, source, progress)
    refresh_statistics(db, "metric_snapshots", result.ingested)
    return result


def ingest_snapshots(
    session: Session,
    project_id: uuid.UUID,
    rows: Rows,
    what: str,
    source: SnapshotSource,
    progress: Progress | None = None,
) -> IngestResult:
    """`ingest_metrics` inside the caller's transaction (the collector writes its polls'
    snapshots with the state of their marks); InvalidFile, and nothing written, on a bad row."""
    plan = _snapshot_load(session, project_id, source)
    loaded = load_rows(session, project_id, rows, what, progress, plan)
    return IngestResult(
        project_id=project_id,
        rows=loaded.rows,
        ingested=loaded.written,
        unchanged=loaded.unchanged,
    )


def _snapshot_load(session: Session, project_id: uuid.UUID, source: SnapshotSource) -> Load:
    """How an ingest of snapshots judges and writes its staged rows."""

    def video(stage: Table) -> ColumnElement[bool]:
        return and_(
            VideoJob.project_id == project_id,
            VideoJob.status == JobStatus.PUBLISHED,
            VideoJob.external_id == stage.c.external_id,
        )

    def stored(stage: Table) -> ColumnElement[bool]:
        return and_(
            MetricSnapshot.video_id == VideoJob.id,
            MetricSnapshot.captured_at == stage.c.captured_at,
        )

    def unknown(stage: Table) -> Select[Any]:
        s = stage.c
        return (
            select(s.line, s.external_id, s.captured_at, VideoJob.id, VideoJob.published_at)
            .outerjoin(VideoJob, video(stage))
            .where(or_(VideoJob.id.is_(None), s.captured_at < VideoJob.published_at))
        )

    def compare(stage: Table) -> Select[Any]:
        s = stage.c
        same = and_(
            MetricSnapshot.views == s.views,
            MetricSnapshot.views_6h.is_not_distinct_from(s.views_6h),
            MetricSnapshot.avg_view_duration_s.is_not_distinct_from(s.avg_view_duration_s),
            MetricSnapshot.likes == s.likes,
            MetricSnapshot.comments == s.comments,
        )
        return (
            select(s.line, s.external_id, s.captured_at, case((same, 1), else_=0).label("same"))
            .join(VideoJob, video(stage))
            .join(MetricSnapshot, stored(stage))
            .order_by(s.line)
        )

    def write(stage: Table) -> Executable:
        s = stage.c
        return MetricSnapshot.__table__.insert().from_select(
            ["project_id", "video_id", *METRIC_COLUMNS[1:], "source", "views_6h_basis"],
            select(
                literal(project_id, MetricSnapshot.project_id.type),
                VideoJob.id,
                s.captured_at,
                s.views,
                s.views_6h,
                s.avg_view_duration_s,
                s.likes,
                s.comments,
                literal(source.value, MetricSnapshot.source.type),
                s.views_6h_basis,
            )
            .join(VideoJob, video(stage))
            .where(~exists().where(stored(stage)))
            .order_by(s.line),
        )

    def backlog(stage: Table) -> Executable:
        # The videos measured here may need a reward of their own window (contract §11).
        insert = dialect_insert(session, RewardBacklog.__table__).from_select(
            ["video_id", "project_id"],
            select(VideoJob.id, VideoJob.project_id).join(stage, video(stage)).distinct(),
        )
        return cast(Executable, insert.on_conflict_do_nothing(index_elements=["video_id"]))

    return Load(
        stage=_SNAPSHOT_STAGE,
        by_columns=snapshot_columns,
        by_row=_check_collected if source == SnapshotSource.COLLECTOR else _check_snapshot,
        staged=Snapshot.staged,
        key=("external_id", "captured_at"),
        repeats=_repeats,
        stored=compare,
        differs=_differs,
        write=write,
        field="snapshots",
        unknown=(unknown, _unknown),
        then=backlog,
    )


def _unknown(row: Row[Any]) -> str:
    if row.id is None:
        return f"external_id {row.external_id} is not a published video of the project"
    return (
        f"captured_at {row.captured_at.isoformat()} is before the video was "
        f"published ({row.published_at.isoformat()})"
    )


def _repeats(row: Row[Any], first: int) -> str:
    return f"same external_id and captured_at as line {first}"


def _differs(row: Row[Any]) -> str:
    return (
        f"a different snapshot of {row.external_id} at {row.captured_at.isoformat()} "
        "is already stored"
    )
