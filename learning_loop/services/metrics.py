"""Ingesting metric snapshots of published videos."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from learning_loop.db.engine import Database
from learning_loop.db.models import MetricSnapshot, VideoJob
from learning_loop.db.queries import chunks
from learning_loop.services.errors import RowError
from learning_loop.services.projects import get_project
from learning_loop.services.rows import (
    RowProblem,
    check_rows,
    float_field,
    int_field,
    reject_if_any,
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
    views_6h: int
    avg_view_duration_s: float
    likes: int
    comments: int

    def values(self) -> tuple[Any, ...]:
        return (self.views, self.views_6h, self.avg_view_duration_s, self.likes, self.comments)


class IngestResult(BaseModel):
    project_id: uuid.UUID
    rows: int
    ingested: int
    unchanged: int


def _check_snapshot(row: Mapping[str, Any]) -> Snapshot:
    snap = Snapshot(
        external_id=text_field(row, "external_id"),
        captured_at=timestamp_field(row, "captured_at"),
        views=int_field(row, "views"),
        views_6h=int_field(row, "views_6h"),
        avg_view_duration_s=float_field(row, "avg_view_duration_s"),
        likes=int_field(row, "likes"),
        comments=int_field(row, "comments"),
    )
    if snap.views_6h > snap.views:
        raise RowProblem(f"views_6h ({snap.views_6h}) must not exceed views ({snap.views})")
    return snap


def ingest_metrics(
    db: Database,
    project_id: Any,
    rows: list[tuple[int, Mapping[str, Any]]],
    what: str = "metrics file",
) -> IngestResult:
    """Store snapshots; all rows or none. A snapshot is identified by external_id + captured_at."""
    with db.transaction() as session:
        project = get_project(session, project_id)
        checked, errors = check_rows(rows, _check_snapshot)
        videos: dict[str, tuple[uuid.UUID, dt.datetime | None]] = {}
        ids = sorted({s.external_id for _, s in checked})
        for part in chunks(ids):
            for vid, ext, published_at in session.execute(
                select(VideoJob.id, VideoJob.external_id, VideoJob.published_at).where(
                    VideoJob.project_id == project.id,
                    VideoJob.status == "published",
                    VideoJob.external_id.in_(part),
                )
            ):
                videos[ext] = (vid, published_at)
        existing: dict[tuple[uuid.UUID, dt.datetime], tuple[Any, ...]] = {}
        video_ids = [v[0] for v in videos.values()]
        for part in chunks(video_ids):
            for snap in session.scalars(
                select(MetricSnapshot).where(MetricSnapshot.video_id.in_(part))
            ):
                existing[(snap.video_id, snap.captured_at)] = (
                    snap.views,
                    snap.views_6h,
                    snap.avg_view_duration_s,
                    snap.likes,
                    snap.comments,
                )
        seen: dict[tuple[str, dt.datetime], int] = {}
        new: list[dict[str, Any]] = []
        unchanged = 0
        for line_no, snap in checked:
            video = videos.get(snap.external_id)
            if video is None:
                errors.append(
                    RowError(
                        line_no,
                        f"external_id {snap.external_id} is not a published video of the project",
                    )
                )
                continue
            video_id, published_at = video
            if published_at is not None and snap.captured_at < published_at:
                errors.append(
                    RowError(
                        line_no,
                        f"captured_at {snap.captured_at.isoformat()} is before the video was "
                        f"published ({published_at.isoformat()})",
                    )
                )
                continue
            key = (snap.external_id, snap.captured_at)
            if key in seen:
                errors.append(
                    RowError(line_no, f"same external_id and captured_at as line {seen[key]}")
                )
                continue
            seen[key] = line_no
            stored = existing.get((video_id, snap.captured_at))
            if stored is not None:
                if stored == snap.values():
                    unchanged += 1
                else:
                    errors.append(
                        RowError(
                            line_no,
                            f"a different snapshot of {snap.external_id} at "
                            f"{snap.captured_at.isoformat()} is already stored",
                        )
                    )
                continue
            new.append(
                {
                    "project_id": project.id,
                    "video_id": video_id,
                    "captured_at": snap.captured_at,
                    "views": snap.views,
                    "views_6h": snap.views_6h,
                    "avg_view_duration_s": snap.avg_view_duration_s,
                    "likes": snap.likes,
                    "comments": snap.comments,
                }
            )
        reject_if_any(errors, what, "snapshots")
        if new:
            session.execute(MetricSnapshot.__table__.insert(), new)
        return IngestResult(
            project_id=project.id, rows=len(checked), ingested=len(new), unchanged=unchanged
        )
