"""Video jobs: list a project's (with their current rewards and plan states), mark one
published, ask for a fresh video plan of one."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from api.deps import (
    DatabaseDep,
    LimitQuery,
    OffsetQuery,
    PrincipalDep,
    ProjectIdQuery,
    ReadsDep,
    RunsDep,
)
from api.errors import ApiError, responses
from api.routing import resource_router
from api.schemas import PublishBody, ReplanView, VideoJobPage, page
from learning_loop.db.engine import Database
from learning_loop.domain.statuses import JobStatus, PlanStatus
from learning_loop.errors import InvalidInput
from learning_loop.services import projects, video_jobs, video_plans
from learning_loop.services.rows import timestamp_input
from learning_loop.services.runs import video_plans_spec
from learning_loop.services.views import VideoView

router = resource_router(prefix="/video-jobs", tags=["video jobs"])


@router.get("", responses=responses(404), summary="List a project's video jobs")
async def list_video_jobs(
    reads: ReadsDep,
    project_id: ProjectIdQuery,
    status: Annotated[JobStatus | None, Query()] = None,
    batch_id: Annotated[uuid.UUID | None, Query(description="Only this batch's jobs")] = None,
    plan_status: Annotated[
        PlanStatus | None, Query(description="Only jobs whose video plan is in this state")
    ] = None,
    include_plan: Annotated[
        bool, Query(description="Each job's stored video plan too (`plan`)")
    ] = False,
    limit: LimitQuery = 100,
    offset: OffsetQuery = 0,
) -> VideoJobPage:
    """Oldest first (creation time, then id), each with its recipe, current reward and the
    reward's percentiles, and its video plan's state (`plan_status`: `pending`, `ready` or
    `failed`, null for imported history; `plan_error`). A downstream video pipeline takes
    `status=queued&plan_status=ready&include_plan=true`."""

    def read(db: Database) -> list[VideoView]:
        if batch_id is not None and video_jobs.batch_project(db, batch_id) != project_id:
            projects.show_project(db, project_id)  # an unknown project is the first thing to say
            raise ApiError(404, f"no batch {batch_id} in project {project_id}", "batch_id")
        return video_jobs.list_videos(
            db,
            project_id,
            status=status,
            batch_id=batch_id,
            limit=limit + 1,
            offset=offset,
            plan_status=plan_status,
            with_plans=include_plan,
        )

    return page(VideoJobPage, await reads(read), limit, offset)


@router.post(
    "/{job_id}/publish", responses=responses(404, 409, 413, 415), summary="Mark a job published"
)
def publish(
    db: DatabaseDep,
    principal: PrincipalDep,
    job_id: uuid.UUID,
    body: PublishBody,
    project_id: Annotated[
        uuid.UUID | None, Query(description="When given, must be the job's own project")
    ] = None,
) -> VideoView:
    """A queued job becomes `published` under the platform's `external_id`; publishing it
    again with the same `external_id` changes nothing."""
    owner = video_jobs.job_project(db, job_id)
    if owner is None or not principal.reaches(owner):
        raise ApiError(404, f"no video job {job_id}", "job_id")
    # Blank means now, as when the field is left out.
    when = timestamp_input(body.published_at, "published_at") if body.published_at else None
    try:
        return video_jobs.publish_job(db, project_id or owner, job_id, body.external_id, when)
    except OverflowError:
        raise InvalidInput("published_at is out of range", "published_at") from None


@router.post(
    "/{job_id}/replan",
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404, 409),
    summary="Ask for a fresh video plan of a job",
)
def replan(
    db: DatabaseDep,
    runs: RunsDep,
    principal: PrincipalDep,
    job_id: uuid.UUID,
    project_id: Annotated[
        uuid.UUID | None, Query(description="When given, must be the job's own project")
    ] = None,
) -> ReplanView:
    """A queued planned job becomes `pending` with no plan, and a `video_plans` run for it is
    submitted to the deployment's instance; answers at once. Follow the run at
    `GET /runs/{run_id}` and the job at `GET /video-jobs?plan_status=...`; `note` says when
    no daemon serves the instance, so the run would wait."""
    found = video_jobs.job_project(db, job_id)
    if found is None or not principal.reaches(found):
        raise ApiError(404, f"no video job {job_id}", "job_id")
    owner = video_plans.request_replan(db, job_id, project_id)
    info = runs.submit(video_plans_spec(db, owner, [job_id]))
    job = video_plans.job_plan_view(db, job_id)
    return ReplanView(job=job, run_id=info.run_id, status=info.status, note=info.note)
