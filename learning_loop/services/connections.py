"""A project's connection to its platform as people see it: where it leads, whether it works,
and how far its videos' polling has gone; never its secret (contract §12)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from learning_loop.collector.platform import YOUTUBE as PLATFORM
from learning_loop.db.models import CollectedVideo, PlatformConnection
from learning_loop.domain.statuses import CollectionState
from learning_loop.services.views import ConnectionView


def connection_view(session: Session, project_id: uuid.UUID) -> ConnectionView | None:
    row = session.get(PlatformConnection, (project_id, PLATFORM))
    if row is None:
        return None
    counts: dict[str, int] = dict(
        session.execute(
            select(CollectedVideo.state, func.count())
            .where(CollectedVideo.project_id == project_id)
            .group_by(CollectedVideo.state)
        )
        .tuples()
        .all()
    )
    return ConnectionView(
        platform=row.platform,
        channel_id=row.channel_id,
        channel_title=row.channel_title,
        status=row.status,
        problem=row.problem,
        connected_at=row.connected_at,
        checked_at=row.checked_at,
        videos_polling=counts.get(CollectionState.POLLING, 0),
        videos_done=counts.get(CollectionState.DONE, 0),
        videos_gone=counts.get(CollectionState.GONE, 0),
    )
