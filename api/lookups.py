"""Reads the API needs and no service offers: which project an object belongs to."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from learning_loop.db.engine import Database
from learning_loop.db.models import PlannedBatch, PlanRequest, VideoJob

Owned = type[VideoJob] | type[PlannedBatch] | type[PlanRequest]


def project_of(db: Database, model: Owned, object_id: uuid.UUID) -> uuid.UUID | None:
    """The project of a video job, batch or plan request; None when there is no such object."""
    with db.read() as session:
        return session.scalar(select(model.project_id).where(model.id == object_id))
