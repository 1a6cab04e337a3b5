"""Video jobs: list a project's (with their current rewards), mark one published."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from api.deps import DatabaseDep, LimitQuery, OffsetQuery, ProjectIdQuery, ReadsDep
from api.errors import ApiError, responses
from api.routing import resource_router
from api.schemas import PublishBody, VideoJobPage, page
from learning_loop.db.engine import Database
from learning_loop.domain.statuses import JobStatus
from learning_loop.services import projects, video_jobs
from learning_loop.services.errors import InvalidInput
from learning_loop.services.rows import timestamp_input
from learning_loop.services.views import VideoView

router = resource_router(prefix="/video-jobs", tags=["video jobs"])


@router.get("", responses=responses(404), summary="List a project's video jobs")
async def list_video_jobs(
    reads: ReadsDep,
    project_id: ProjectIdQuery,
    status: Annotated[JobStatus | None, Query()] = None,
    batch_id: Annotated[uuid.UUID | None, Query(description="Only this batch's jobs")] = None,
    limit: LimitQuery = 100,
    offset: OffsetQuery = 0,
) -> VideoJobPage:
    """Oldest first (creation time, then id), each with its recipe, current reward and the
    reward's percentiles."""

    def read(db: Database) -> list[VideoView]:
        if batch_id is not None and video_jobs.batch_project(db, batch_id) != project_id:
            projects.show_project(db, project_id)  # an unknown project is the first thing to say
            raise ApiError(404, f"no batch {batch_id} in project {project_id}", "batch_id")
        return video_jobs.list_videos(
            db, project_id, status=status, batch_id=batch_id, limit=limit + 1, offset=offset
        )

    return page(VideoJobPage, await reads(read), limit, offset)


@router.post(
    "/{job_id}/publish", responses=responses(404, 409, 413, 415), summary="Mark a job published"
)
def publish(
    db: DatabaseDep,
    job_id: uuid.UUID,
    body: PublishBody,
    project_id: Annotated[
        uuid.UUID | None, Query(description="When given, must be the job's own project")
    ] = None,
) -> VideoView:
    """A queued job becomes `published` under the platform's `external_id`; publishing it
    again with the same `external_id` changes nothing."""
    owner = video_jobs.job_project(db, job_id)
    if owner is None:
        raise ApiError(404, f"no video job {job_id}", "job_id")
    # Blank means now, as when the field is left out.
    when = timestamp_input(body.published_at, "published_at") if body.published_at else None
    try:
        return video_jobs.publish_job(db, project_id or owner, job_id, body.external_id, when)
    except OverflowError:
        raise InvalidInput("published_at is out of range", "published_at") from None
