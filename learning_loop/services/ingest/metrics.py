"""Ingesting the metric snapshots of published videos, from a file, an API request or the
collector: each row's fields and checks, and the ingest's staging, judging and writing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
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
from learning_loop.errors import RowError
from learning_loop.services import columns
from learning_loop.services.ingest.loading import (
    Checked,
    Checker,
    Load,
    Rows,
    as_columns,
    load_rows,
    naive,
)
from learning_loop.services.projects import get_project
from learning_loop.services.row_files import Chunk, CsvChunk, Progress
from learning_loop.services.rows import (
    RowProblem,
    check_rows,
    float_field,
    int_field,
    parse_fields,
    text_field,
    timestamp_field,
)

METRIC_COLUMNS = (
    "external_id",
    "captured_at",
    "views",
    "views_6h",
    "avg_view_duration_s",
    "likes",
    "comments",
)


@dataclass(frozen=True)
class Snapshot:
    external_id: str
    captured_at: dt.datetime
    views: int
    views_6h: int | None
    avg_view_duration_s: float | None
    likes: int
    comments: int
    views_6h_basis: str | None = Views6hBasis.REPORTED.value

    def values(self) -> tuple[int, int | None, float | None, int, int, str | None]:
        return (
            self.views,
            self.views_6h,
            self.avg_view_duration_s,
            self.likes,
            self.comments,
            self.views_6h_basis,
        )


class IngestResult(BaseModel):
    project_id: uuid.UUID
    rows: int
    ingested: int
    unchanged: int


_SNAPSHOT_FIELDS: dict[str, Callable[[Mapping[str, Any], str], Any]] = {
    "external_id": text_field,
    "captured_at": timestamp_field,
    "views": int_field,
    "views_6h": int_field,
    "avg_view_duration_s": float_field,
    "likes": int_field,
    "comments": int_field,
}


def _check_snapshot(row: Mapping[str, Any]) -> Snapshot:
    return _checked_views_6h(Snapshot(**parse_fields(row, _SNAPSHOT_FIELDS)))


def _checked_views_6h(snap: Snapshot) -> Snapshot:
    if snap.views_6h is not None and snap.views_6h > snap.views:
        raise RowProblem(f"views_6h ({snap.views_6h}) must not exceed views ({snap.views})")
    return snap


def _unless_unknown(
    parse: Callable[[Mapping[str, Any], str], Any],
) -> Callable[[Mapping[str, Any], str], Any]:
    """`parse`, but a value the platform has not given yet (null) stays null."""

    def parse_known(row: Mapping[str, Any], key: str) -> Any:
        return None if row.get(key) is None else parse(row, key)

    return parse_known


# A collector's row: the same checks, but `views_6h` before the 6-hour mark and the duration
# before the platform's analytics are null.
_COLLECTED_FIELDS = {
    **_SNAPSHOT_FIELDS,
    "views_6h": _unless_unknown(int_field),
    "avg_view_duration_s": _unless_unknown(float_field),
}


def _check_collected(row: Mapping[str, Any]) -> Snapshot:
    values = parse_fields(row, _COLLECTED_FIELDS)
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


def _snapshot_columns(chunk: CsvChunk) -> list[list[Any]] | None:
    """A clean CSV chunk's staged columns, checked a column at a time; None if a row may be bad."""
    cells = chunk.cells
    views = columns.whole(cells("views"))
    views_6h = views and columns.whole(cells("views_6h"))
    likes = views_6h and columns.whole(cells("likes"))
    comments = likes and columns.whole(cells("comments"))
    duration = comments and columns.number(cells("avg_view_duration_s"))
    external = duration and columns.text(cells("external_id"), 200)
    captured = external and columns.timestamp(cells("captured_at"))
    if not (captured and external and duration and comments and likes and views_6h and views):
        return None
    if not columns.at_most(views_6h, views):
        return None
    reported = [Views6hBasis.REPORTED.value] * len(views)
    return [external, captured, views, views_6h, duration, likes, comments, reported]


def _snapshot_checker(source: SnapshotSource) -> Checker:
    check_row = _check_collected if source == SnapshotSource.COLLECTOR else _check_snapshot

    def check(chunk: Chunk) -> tuple[Checked | None, list[RowError]]:
        if isinstance(chunk, CsvChunk):
            values = _snapshot_columns(chunk)
            if values is not None:
                return (chunk.lines, values), []
        good, errors = check_rows(chunk.rows(), check_row)
        staged = [(s.external_id, naive(s.captured_at), *s.values()) for _, s in good]
        return ([line for line, _ in good], as_columns(staged, 8)), errors

    return check


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
            VideoJob.status == JobStatus.PUBLISHED.value,
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
            [
                "project_id",
                "video_id",
                "captured_at",
                "views",
                "views_6h",
                "avg_view_duration_s",
                "likes",
                "comments",
                "source",
                "views_6h_basis",
            ],
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
        check=_snapshot_checker(source),
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
