"""Video jobs after planning: publishing a planned job under the platform's id, and listing
a project's videos with their current rewards."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import PlannedBatch, VideoJob
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import recipe_of
from learning_loop.db.reward_history import current_rewards
from learning_loop.domain.statuses import JobStatus, PlanStatus
from learning_loop.errors import Conflict, InvalidInput, NotFound
from learning_loop.services.projects import get_project
from learning_loop.services.rows import is_encodable
from learning_loop.services.views import RecipeFields, VideoView


def publish_job(
    db: Database,
    project_id: uuid.UUID,
    job_id: uuid.UUID,
    external_id: str,
    published_at: dt.datetime | None = None,
) -> VideoView:
    """Mark a planned job published under the platform's id (at `published_at`, default now)."""
    external_id = external_id.strip()
    if not external_id:
        raise InvalidInput("external_id must be a non-empty string", "external_id")
    if (
        len(external_id) > 200
        or any(ord(c) < 32 for c in external_id)
        or not is_encodable(external_id)
    ):
        raise InvalidInput("external_id must be at most 200 printable characters", "external_id")
    if published_at is None:
        when = dt.datetime.now(dt.UTC)
    elif published_at.tzinfo is None:
        raise InvalidInput("published_at must carry a time zone", "published_at")
    else:
        try:
            when = published_at.astimezone(dt.UTC)
        except OverflowError:
            raise InvalidInput("published_at is out of range", "published_at") from None
    with db.transaction() as session:
        project = get_project(session, project_id)
        job = session.get(VideoJob, job_id)
        if job is None or job.project_id != project.id:
            raise NotFound(f"no video job {job_id} in project {project.id}", "job_id")
        if job.status == JobStatus.PUBLISHED:
            if job.external_id == external_id:
                return video_views(session, project.id, [job.id])[0]
            raise Conflict(
                f"video job {job_id} is already published as {job.external_id}", "job_id"
            )
        if job.status != JobStatus.QUEUED:
            raise Conflict(f"video job {job_id} is {job.status}, not queued", "job_id")
        clash = session.scalar(
            select(VideoJob.id).where(
                VideoJob.project_id == project.id, VideoJob.external_id == external_id
            )
        )
        if clash is not None:
            raise Conflict(
                f"external_id {external_id} already belongs to video {clash}", "external_id"
            )
        job.status = JobStatus.PUBLISHED
        job.external_id = external_id
        job.published_at = when
        if job.recipe_id is not None:
            session.execute(
                update(RecipeRow)
                .where(RecipeRow.id == job.recipe_id)
                .values(published_videos=RecipeRow.published_videos + 1)
            )
        session.flush()
        if job.batch_id is not None:
            done = (
                select(func.count())
                .select_from(VideoJob)
                .where(VideoJob.batch_id == job.batch_id, VideoJob.status == JobStatus.PUBLISHED)
                .scalar_subquery()
            )
            session.execute(
                update(PlannedBatch)
                .where(PlannedBatch.id == job.batch_id)
                .values(jobs_completed=done)
            )
        return video_views(session, project.id, [job.id])[0]


def video_views(
    session: Session,
    project_id: uuid.UUID,
    ids: list[uuid.UUID] | None = None,
    *,
    status: str | None = None,
    batch_id: uuid.UUID | None = None,
    limit: int | None = None,
    offset: int = 0,
    plan_status: str | None = None,
    with_plans: bool = False,
) -> list[VideoView]:
    # The page first, from the listing index; then the current rewards of its videos alone.
    page = (
        select(VideoJob.id)
        .where(VideoJob.project_id == project_id)
        .order_by(VideoJob.created_at, VideoJob.batch_position, VideoJob.id)
    )
    if ids is not None:
        page = page.where(VideoJob.id.in_(ids))
    if status is not None:
        page = page.where(VideoJob.status == status)
    if batch_id is not None:
        page = page.where(VideoJob.batch_id == batch_id)
    if plan_status is not None:
        page = page.where(VideoJob.plan_status == plan_status)
    if limit is not None:
        page = page.limit(limit).offset(offset)
    page_ids = list(session.scalars(page))
    if not page_ids:
        return []
    current = current_rewards(
        session.get_bind().dialect.name, None, [project_id], video_ids=page_ids
    )
    stmt = (
        select(VideoJob, RecipeRow, current)
        .outerjoin(RecipeRow, RecipeRow.id == VideoJob.recipe_id)
        .outerjoin(current, current.c.video_id == VideoJob.id)
        .where(VideoJob.id.in_(page_ids))
        .order_by(VideoJob.created_at, VideoJob.batch_position, VideoJob.id)
    )
    out = []
    for row in session.execute(stmt):
        job: VideoJob = row[0]
        recipe: RecipeRow | None = row[1]
        m = row._mapping
        out.append(
            VideoView(
                id=job.id,
                external_id=job.external_id,
                topic=job.topic,
                recipe_hash=recipe.recipe_hash if recipe else None,
                recipe=RecipeFields.of(recipe_of(recipe)) if recipe else None,
                generation_mode=job.generation_mode,
                status=job.status,
                published_at=job.published_at,
                batch_id=job.batch_id,
                experiment_id=job.experiment_id,
                reward=m["reward"],
                reward_date=m["reward_date"],
                pct_avg_view_duration=m["pct_avg_view_duration"],
                pct_views_6h=m["pct_views_6h"],
                pct_engagement=m["pct_engagement"],
                plan_status=job.plan_status,
                plan_error=job.plan_error,
                plan_attempts=job.plan_attempts,
                plan=job.plan if with_plans else None,
            )
        )
    return out


def list_videos(
    db: Database,
    project_id: uuid.UUID,
    *,
    status: JobStatus | None = None,
    batch_id: uuid.UUID | None = None,
    limit: int | None = None,
    offset: int = 0,
    plan_status: PlanStatus | None = None,
    with_plans: bool = False,
) -> list[VideoView]:
    """A project's videos, oldest first; `with_plans` adds each job's stored video plan (what
    a downstream video pipeline renders: take the `ready` ones)."""
    with db.read() as session:
        project = get_project(session, project_id)
        return video_views(
            session,
            project.id,
            status=status,
            batch_id=batch_id,
            limit=limit,
            offset=offset,
            plan_status=plan_status,
            with_plans=with_plans,
        )


def job_project(db: Database, job_id: uuid.UUID) -> uuid.UUID | None:
    """The project a video job belongs to; None when there is no such job."""
    with db.read() as session:
        return session.scalar(select(VideoJob.project_id).where(VideoJob.id == job_id))


def batch_project(db: Database, batch_id: uuid.UUID) -> uuid.UUID | None:
    """The project a planned batch belongs to; None when there is no such batch."""
    with db.read() as session:
        return session.scalar(select(PlannedBatch.project_id).where(PlannedBatch.id == batch_id))
