"""Ingesting files: existing videos (import, then their recipes backfilled) and the metric
snapshots of published videos; their columns, row checks, and all-rows-or-none rule."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import MetricSnapshot, VideoJob
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import chunks, ensure_recipes, refresh_statistics
from learning_loop.domain.buckets import InvalidRawValue, density_bucket, wpm_bucket
from learning_loop.domain.recipe import InvalidRecipe, Recipe
from learning_loop.domain.statuses import GenerationMode, JobStatus
from learning_loop.domain.topics import InvalidTopic, clean_topic, topic_hash
from learning_loop.services.errors import InvalidInput, RowError
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

METRIC_COLUMNS = (
    "external_id",
    "captured_at",
    "views",
    "views_6h",
    "avg_view_duration_s",
    "likes",
    "comments",
)


# Existing videos ---------------------------------------------------------------------------


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


def _check_video_row(
    presets: list[str], project_id: uuid.UUID
) -> Callable[[Mapping[str, Any]], ImportedVideo]:
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
                f"preset {recipe.preset} is not in the project's catalogue "
                f"({', '.join(presets)}); add it with: shorts-engine projects configure "
                f"--project {project_id} --add-preset {recipe.preset}"
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
    project_id: uuid.UUID,
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    what: str = "videos file",
) -> ImportResult:
    """Import existing videos as published manual jobs; all rows or none.

    A row whose external_id is already in the project with the same data is left as it is
    (so loading a file twice adds nothing); with different data it is an error.
    """
    with db.transaction() as session:
        project = get_project(session, project_id)
        checked, errors = check_rows(rows, _check_video_row(list(project.presets), project.id))
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
            stored = existing.get(video.external_id)
            if stored is not None:
                if stored.generation_mode == GenerationMode.MANUAL and _same(stored, video):
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
                    "generation_mode": GenerationMode.MANUAL.value,
                    "status": JobStatus.PUBLISHED.value,
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
        result = ImportResult(
            project_id=project.id, rows=len(checked), imported=len(new), unchanged=unchanged
        )
    refresh_statistics(db, "video_jobs", result.imported)
    return result


# Their recipes -----------------------------------------------------------------------------


class BackfillResult(BaseModel):
    project_id: uuid.UUID
    videos_backfilled: int
    recipes_created: int
    videos_without_source: int


def backfill_recipes(db: Database, project_id: uuid.UUID) -> BackfillResult:
    """Give every video that has raw production values but no recipe its recipe.

    It lives with the ingestion because it is the second half of importing videos: only
    `import_videos` stores raw production values (planned jobs get their recipe when planned),
    and imported videos take part in the stats only once this has turned them into recipes.
    """
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
                recipes[job.id] = _source_recipe(job)
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
        result = BackfillResult(
            project_id=project.id,
            videos_backfilled=len(with_source),
            recipes_created=(after or 0) - (before or 0),
            videos_without_source=len(jobs) - len(with_source),
        )
    # The pages and the planner read recipes from the rank index: a planner that still
    # believes the project has a handful of recipes would sort them all instead.
    refresh_statistics(db, "recipes", result.recipes_created)
    refresh_statistics(db, "video_jobs", result.videos_backfilled)
    return result


def _source_recipe(job: VideoJob) -> Recipe:
    """The recipe of an imported video's raw production values."""
    wpm, density = job.source_narration_wpm, job.source_caption_density
    if wpm is None or density is None:
        raise InvalidRawValue(
            f"narration_wpm and caption_density must be numbers; got {wpm!r} and {density!r}"
        )
    return Recipe(
        job.source_preset or "",
        job.source_hook_type or "",
        job.source_scene_count or 0,
        wpm_bucket(wpm),
        density_bucket(density),
        job.source_ending_type or "",
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


# Metric snapshots --------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    external_id: str
    captured_at: dt.datetime
    views: int
    views_6h: int
    avg_view_duration_s: float
    likes: int
    comments: int

    def values(self) -> tuple[int, int, float, int, int]:
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
    project_id: uuid.UUID,
    rows: Sequence[tuple[int, Mapping[str, Any]]],
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
                    VideoJob.status == JobStatus.PUBLISHED.value,
                    VideoJob.external_id.in_(part),
                )
            ):
                videos[ext] = (vid, published_at)
        existing: dict[tuple[uuid.UUID, dt.datetime], tuple[int, int, float, int, int]] = {}
        video_ids = [v[0] for v in videos.values()]
        for part in chunks(video_ids):
            for row in session.scalars(
                select(MetricSnapshot).where(MetricSnapshot.video_id.in_(part))
            ):
                existing[(row.video_id, row.captured_at)] = (
                    row.views,
                    row.views_6h,
                    row.avg_view_duration_s,
                    row.likes,
                    row.comments,
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
        result = IngestResult(
            project_id=project.id, rows=len(checked), ingested=len(new), unchanged=unchanged
        )
    refresh_statistics(db, "metric_snapshots", result.ingested)
    return result
