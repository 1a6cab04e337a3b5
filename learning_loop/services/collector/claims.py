"""The videos a pass polls: the published videos enrolled at their first mark, those due now
counted per project, and a project's share of them claimed with a lease (a pass that dies
leaves them due again; two passes never poll the same video), or put back as they were."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from learning_loop.collector.youtube import PLATFORM
from learning_loop.db.engine import Database
from learning_loop.db.models import CollectedVideo, PlatformConnection, VideoJob
from learning_loop.domain import marks
from learning_loop.domain.statuses import CollectionState, ConnectionStatus, JobStatus, Views6hBasis

# How long a pass holds the videos it claimed; after it, a dead pass's videos are due again.
LEASE = dt.timedelta(minutes=10)


@dataclass
class Due:
    """A video claimed for a pass, with the state of its marks."""

    video_id: uuid.UUID
    external_id: str
    published_at: dt.datetime
    next_mark: int
    due_at: dt.datetime
    before_6h_at: dt.datetime | None
    before_6h_views: int | None
    views_6h: int | None
    views_6h_basis: Views6hBasis | None
    marks_missed: int


def enrol(session: Session, project_id: uuid.UUID, now: dt.datetime) -> None:
    """Start following the project's published videos not yet followed, each due at its
    first mark still to come (or now, for a mark just passed within the tolerance)."""
    since = now - marks.MARKS[-1] - marks.ENROL_GRACE
    known = select(CollectedVideo.video_id).where(CollectedVideo.video_id == VideoJob.id)
    new = session.execute(
        select(VideoJob.id, VideoJob.published_at).where(
            VideoJob.project_id == project_id,
            VideoJob.status == JobStatus.PUBLISHED,
            VideoJob.external_id.is_not(None),
            VideoJob.published_at >= since,
            ~known.exists(),
        )
    ).all()
    if not new:
        return
    session.execute(
        CollectedVideo.__table__.insert(),
        [
            {
                "video_id": vid,
                "project_id": project_id,
                "state": CollectionState.POLLING,
                "next_mark": 0,
                "due_at": marks.mark_time(published, 0),
                "marks_missed": 0,
            }
            for vid, published in new
        ],
    )


def connected(
    session: Session, project_ids: Sequence[uuid.UUID] | None
) -> list[PlatformConnection]:
    query = select(PlatformConnection).where(
        PlatformConnection.platform == PLATFORM,
        PlatformConnection.status == ConnectionStatus.CONNECTED,
    )
    if project_ids is not None:
        query = query.where(PlatformConnection.project_id.in_(list(project_ids)))
    return list(session.scalars(query.order_by(PlatformConnection.project_id)))


def due_counts(
    session: Session, project_ids: list[uuid.UUID], now: dt.datetime
) -> dict[uuid.UUID, int]:
    rows = session.execute(
        select(CollectedVideo.project_id, func.count(), func.min(CollectedVideo.due_at))
        .where(
            CollectedVideo.project_id.in_(project_ids),
            CollectedVideo.state == CollectionState.POLLING,
            CollectedVideo.due_at <= now,
        )
        .group_by(CollectedVideo.project_id)
        .order_by(func.min(CollectedVideo.due_at))
    ).all()
    return {pid: int(count) for pid, count, _ in rows}


def claim(db: Database, project_id: uuid.UUID, now: dt.datetime, limit: int) -> list[Due]:
    """The project's `limit` longest-due videos, held for this pass until `now + LEASE`."""
    cv = CollectedVideo
    with db.transaction() as session:
        rows = session.execute(
            select(
                cv.video_id,
                VideoJob.external_id,
                VideoJob.published_at,
                cv.next_mark,
                cv.due_at,
                cv.before_6h_at,
                cv.before_6h_views,
                cv.views_6h,
                cv.views_6h_basis,
                cv.marks_missed,
            )
            .join(VideoJob, VideoJob.id == cv.video_id)
            .where(
                cv.project_id == project_id,
                cv.state == CollectionState.POLLING,
                cv.due_at <= now,
            )
            .order_by(cv.due_at, cv.video_id)
            .limit(limit)
        ).all()
        due = [Due(*row) for row in rows]
        taken: set[uuid.UUID] = set()
        for start in range(0, len(due), 1000):
            part = [d.video_id for d in due[start : start + 1000]]
            taken.update(
                session.scalars(
                    update(cv)
                    .where(cv.video_id.in_(part), cv.due_at <= now)
                    .values(due_at=now + LEASE)
                    .returning(cv.video_id)
                )
            )
    return [d for d in due if d.video_id in taken]


def release(db: Database, videos: Sequence[Due]) -> None:
    """Put claimed videos back as they were: due at their mark."""
    if not videos:
        return
    with db.transaction() as session:
        session.execute(
            update(CollectedVideo),
            [{"video_id": d.video_id, "due_at": d.due_at} for d in videos],
        )
