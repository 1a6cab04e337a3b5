"""Reading a project's stored snapshots (or one video's), newest first."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel
from sqlalchemy import select

from learning_loop.db.engine import Database
from learning_loop.db.models import MetricSnapshot, VideoJob
from learning_loop.errors import NotFound
from learning_loop.services.projects import get_project


class SnapshotView(BaseModel):
    external_id: str
    captured_at: dt.datetime
    views: int
    views_6h: int | None
    views_6h_basis: str | None
    avg_view_duration_s: float | None
    likes: int
    comments: int
    source: str


def list_snapshots(
    db: Database,
    project_id: uuid.UUID,
    external_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[SnapshotView]:
    """The project's snapshots (or one video's), newest first."""
    s = MetricSnapshot
    with db.read() as session:
        pid = get_project(session, project_id).id
        query = (
            select(
                VideoJob.external_id,
                s.captured_at,
                s.views,
                s.views_6h,
                s.views_6h_basis,
                s.avg_view_duration_s,
                s.likes,
                s.comments,
                s.source,
            )
            .join(VideoJob, VideoJob.id == s.video_id)
            .where(s.project_id == pid)
        )
        if external_id is not None:
            video = session.execute(
                select(VideoJob.id).where(
                    VideoJob.project_id == pid, VideoJob.external_id == external_id
                )
            ).scalar()
            if video is None:
                raise NotFound(
                    f"project {pid} has no video with external_id {external_id}", "external_id"
                )
            query = query.where(s.video_id == video)
        rows = session.execute(
            query.order_by(s.captured_at.desc(), s.id.desc()).limit(limit).offset(offset)
        ).all()
    return [SnapshotView(**row._mapping) for row in rows]
