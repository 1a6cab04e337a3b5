"""Video jobs: importing existing videos, backfilling their recipes, publishing, listing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import PlannedBatch, VideoJob
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import chunks, current_rewards, ensure_recipes, recipe_of
from learning_loop.domain.buckets import InvalidRawValue, density_bucket, wpm_bucket
from learning_loop.domain.recipe import InvalidRecipe, Recipe
from learning_loop.domain.topics import InvalidTopic, clean_topic, topic_hash
from learning_loop.services.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    RowError,
)
from learning_loop.services.projects import get_project, parse_uuid
from learning_loop.services.rows import (
    RowProblem,
    check_rows,
    float_field,
    int_field,
    is_encodable,
    parse_timestamp,
    reject_if_any,
    text_field,
    timestamp_field,
)
from learning_loop.services.views import RecipeFields, VideoView

VIDEO_COLUMNS = (
    "external_id",
    "topic",
    "published_at",
    "preset",
    "hook_type",
    "scene_count",
    "narration_wpm",
    "caption_density",
    "ending_type",
)


@dataclass(frozen=True)
class ImportedVideo:
    external_id: str
    topic: str
    topic_hash: str
    published_at: dt.datetime
    preset: str
    hook_type: str
    scene_count: int
    narration_wpm: float
    caption_density: float
    ending_type: str

    def recipe(self) -> Recipe:
        return Recipe(
            self.preset,
            self.hook_type,
            self.scene_count,
            wpm_bucket(self.narration_wpm),
            density_bucket(self.caption_density),
            self.ending_type,
        )


class ImportResult(BaseModel):
    project_id: uuid.UUID
    rows: int
    imported: int
    unchanged: int


class BackfillResult(BaseModel):
    project_id: uuid.UUID
    videos_backfilled: int
    recipes_created: int
    videos_without_source: int


def _check_video_row(presets: list[str]) -> Any:
    def check(row: Mapping[str, Any]) -> ImportedVideo:
        external_id = text_field(row, "external_id")
        try:
            topic = clean_topic(text_field(row, "topic", max_len=500))
        except InvalidTopic as exc:
            raise RowProblem(f"topic: {exc}") from None
        video = ImportedVideo(
            external_id=external_id,
            topic=topic,
            topic_hash=topic_hash(topic),
            published_at=timestamp_field(row, "published_at"),
            preset=text_field(row, "preset", 64),
            hook_type=text_field(row, "hook_type", 20),
            scene_count=int_field(row, "scene_count"),
            narration_wpm=float_field(row, "narration_wpm"),
            caption_density=float_field(row, "caption_density"),
            ending_type=text_field(row, "ending_type", 20),
        )
        try:
            recipe = video.recipe()
        except (InvalidRecipe, InvalidRawValue) as exc:
            raise RowProblem(str(exc)) from None
        if recipe.preset not in presets:
            raise RowProblem(
                f"preset {recipe.preset} is not in the project's catalogue ({', '.join(presets)})"
            )
        return video

    return check


def _same(job: VideoJob, v: ImportedVideo) -> bool:
    return (
        job.topic == v.topic
        and job.published_at == v.published_at
        and job.source_preset == v.preset
        and job.source_hook_type == v.hook_type
        and job.source_scene_count == v.scene_count
        and job.source_narration_wpm == v.narration_wpm
        and job.source_caption_density == v.caption_density
        and job.source_ending_type == v.ending_type
    )


def import_videos(
    db: Database,
    project_id: Any,
    rows: list[tuple[int, Mapping[str, Any]]],
    what: str = "videos file",
) -> ImportResult:
    """Import existing videos as published manual jobs; all rows or none.

    A row whose external_id is already in the project with the same data is left as it is
    (so loading a file twice adds nothing); with different data it is an error.
    """
    with db.transaction() as session:
        project = get_project(session, project_id)
        checked, errors = check_rows(rows, _check_video_row(list(project.presets)))
        seen: dict[str, int] = {}
        for line_no, video in checked:
            if video.external_id in seen:
                errors.append(
                    RowError(
                        line_no,
                        f"external_id {video.external_id} repeats line {seen[video.external_id]}",
                    )
                )
            seen.setdefault(video.external_id, line_no)
        existing: dict[str, VideoJob] = {}
        ids = list(seen)
        for part in chunks(ids):
            for job in session.scalars(
                select(VideoJob).where(
                    VideoJob.project_id == project.id, VideoJob.external_id.in_(part)
                )
            ):
                existing[job.external_id or ""] = job
        new: list[dict[str, Any]] = []
        unchanged = 0
        for line_no, video in checked:
            job = existing.get(video.external_id)
            if job is not None:
                if job.generation_mode == "manual" and _same(job, video):
                    unchanged += 1
                else:
                    errors.append(
                        RowError(
                            line_no,
                            f"external_id {video.external_id} already exists in the project "
                            "with different data",
                        )
                    )
                continue
            new.append(
                {
                    "id": uuid.uuid4(),
                    "project_id": project.id,
                    "generation_mode": "manual",
                    "status": "published",
                    "external_id": video.external_id,
                    "topic": video.topic,
                    "topic_hash": video.topic_hash,
                    "published_at": video.published_at,
                    "source_preset": video.preset,
                    "source_hook_type": video.hook_type,
                    "source_scene_count": video.scene_count,
                    "source_narration_wpm": video.narration_wpm,
                    "source_caption_density": video.caption_density,
                    "source_ending_type": video.ending_type,
                    "created_at": dt.datetime.now(dt.UTC),
                }
            )
        reject_if_any(errors, what, "videos")
        if new:
            session.execute(VideoJob.__table__.insert(), new)
        return ImportResult(
            project_id=project.id, rows=len(checked), imported=len(new), unchanged=unchanged
        )


def backfill_recipes(db: Database, project_id: Any) -> BackfillResult:
    """Give every video that has raw production values but no recipe its recipe."""
    with db.transaction() as session:
        project = get_project(session, project_id)
        jobs = list(
            session.scalars(
                select(VideoJob).where(
                    VideoJob.project_id == project.id, VideoJob.recipe_id.is_(None)
                )
            )
        )
        with_source = [j for j in jobs if j.source_preset is not None]
        recipes: dict[uuid.UUID, Recipe] = {}
        for job in with_source:
            try:
                recipes[job.id] = Recipe(
                    job.source_preset or "",
                    job.source_hook_type or "",
                    job.source_scene_count or 0,
                    wpm_bucket(job.source_narration_wpm),  # type: ignore[arg-type]
                    density_bucket(job.source_caption_density),  # type: ignore[arg-type]
                    job.source_ending_type or "",
                )
            except (InvalidRecipe, InvalidRawValue) as exc:
                raise InvalidInput(
                    f"video {job.external_id or job.id} has invalid production values: {exc}",
                    "videos",
                ) from None
        before = session.scalar(
            select(func.count()).select_from(RecipeRow).where(RecipeRow.project_id == project.id)
        )
        rows = ensure_recipes(session, project.id, recipes.values())
        after = session.scalar(
            select(func.count()).select_from(RecipeRow).where(RecipeRow.project_id == project.id)
        )
        for job in with_source:
            row = rows[recipes[job.id].recipe_hash]
            job.recipe_id = row.id
            job.recipe_hash = row.recipe_hash
        session.flush()
        _refresh_times_used(session, project.id)
        return BackfillResult(
            project_id=project.id,
            videos_backfilled=len(with_source),
            recipes_created=(after or 0) - (before or 0),
            videos_without_source=len(jobs) - len(with_source),
        )


def _refresh_times_used(session: Session, project_id: uuid.UUID) -> None:
    counts = (
        select(func.count())
        .select_from(VideoJob)
        .where(VideoJob.recipe_id == RecipeRow.id)
        .scalar_subquery()
    )
    session.execute(
        update(RecipeRow).where(RecipeRow.project_id == project_id).values(times_used=counts)
    )


def publish_job(
    db: Database,
    project_id: Any,
    job_id: Any,
    external_id: Any,
    published_at: Any = None,
) -> VideoView:
    """Mark a planned job published under the platform's id."""
    jid = parse_uuid(job_id, "job_id")
    if not isinstance(external_id, str) or not external_id.strip():
        raise InvalidInput("external_id must be a non-empty string", "external_id")
    external_id = external_id.strip()
    if (
        len(external_id) > 200
        or any(ord(c) < 32 for c in external_id)
        or not is_encodable(external_id)
    ):
        raise InvalidInput("external_id must be at most 200 printable characters", "external_id")
    if published_at is None or published_at == "":
        when = dt.datetime.now(dt.UTC)
    else:
        try:
            when = parse_timestamp(published_at, "published_at")
        except RowProblem as exc:
            raise InvalidInput(str(exc), "published_at") from None
    with db.transaction() as session:
        project = get_project(session, project_id)
        job = session.get(VideoJob, jid)
        if job is None or job.project_id != project.id:
            raise NotFound(f"no video job {jid} in project {project.id}", "job_id")
        if job.status == "published":
            if job.external_id == external_id:
                return video_views(session, project.id, [job.id])[0]
            raise Conflict(f"video job {jid} is already published as {job.external_id}", "job_id")
        if job.status != "queued":
            raise Conflict(f"video job {jid} is {job.status}, not queued", "job_id")
        clash = session.scalar(
            select(VideoJob.id).where(
                VideoJob.project_id == project.id, VideoJob.external_id == external_id
            )
        )
        if clash is not None:
            raise Conflict(
                f"external_id {external_id} already belongs to video {clash}", "external_id"
            )
        job.status = "published"
        job.external_id = external_id
        job.published_at = when
        session.flush()
        if job.batch_id is not None:
            done = (
                select(func.count())
                .select_from(VideoJob)
                .where(VideoJob.batch_id == job.batch_id, VideoJob.status == "published")
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
) -> list[VideoView]:
    current = current_rewards(session.get_bind().dialect.name, None, [project_id])
    stmt = (
        select(VideoJob, RecipeRow, current)
        .outerjoin(RecipeRow, RecipeRow.id == VideoJob.recipe_id)
        .outerjoin(current, current.c.video_id == VideoJob.id)
        .where(VideoJob.project_id == project_id)
        .order_by(VideoJob.created_at, VideoJob.batch_position, VideoJob.id)
    )
    if ids is not None:
        stmt = stmt.where(VideoJob.id.in_(ids))
    if status is not None:
        stmt = stmt.where(VideoJob.status == status)
    if batch_id is not None:
        stmt = stmt.where(VideoJob.batch_id == batch_id)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
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
                recipe_hash=job.recipe_hash,
                recipe=RecipeFields(**recipe_of(recipe).to_dict()) if recipe else None,
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
            )
        )
    return out


JOB_STATUS_FILTER = ("queued", "published", "failed")


def list_videos(
    db: Database,
    project_id: Any,
    *,
    status: str | None = None,
    batch_id: Any = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[VideoView]:
    if status is not None and status not in JOB_STATUS_FILTER:
        raise InvalidInput(
            f"status must be one of {', '.join(JOB_STATUS_FILTER)}, got {status!r}", "status"
        )
    bid = parse_uuid(batch_id, "batch_id") if batch_id not in (None, "") else None
    with db.read() as session:
        project = get_project(session, project_id)
        return video_views(
            session, project.id, status=status, batch_id=bid, limit=limit, offset=offset
        )
