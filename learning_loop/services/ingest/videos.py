"""Importing a channel's existing videos as published manual jobs (their recipes come later,
by `backfill`): each row's fields and checks, and the import's staging, judging and writing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Column,
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    Table,
    Text,
    and_,
    case,
    exists,
    literal,
    select,
)
from sqlalchemy.engine import Row
from sqlalchemy.sql import Executable

from learning_loop.db.engine import Database
from learning_loop.db.models import UTCDateTime, VideoJob
from learning_loop.db.queries import refresh_statistics
from learning_loop.db.staging import ordered_uuid, stage_table
from learning_loop.domain.buckets import InvalidRawValue, density_bucket, wpm_bucket
from learning_loop.domain.recipe import InvalidRecipe, Recipe
from learning_loop.domain.statuses import GenerationMode, JobStatus
from learning_loop.domain.topics import topic_hash
from learning_loop.services.ingest.fields import VIDEO_FIELDS, video_columns
from learning_loop.services.ingest.loading import Load, Rows, load_rows, naive
from learning_loop.services.projects import get_project
from learning_loop.services.row_files import Progress
from learning_loop.services.rows import RowProblem, parse_fields


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

    def staged(self) -> tuple[Any, ...]:
        return (
            self.external_id,
            self.topic,
            self.topic_hash,
            naive(self.published_at),
            self.preset,
            self.hook_type,
            self.scene_count,
            self.narration_wpm,
            self.caption_density,
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
        values = parse_fields(row, VIDEO_FIELDS)
        video = ImportedVideo(**values, topic_hash=topic_hash(values["topic"]))
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


_VIDEO_STAGE = stage_table(
    "import_videos_stage",
    Column("external_id", String(200)),
    Column("topic", Text),
    Column("topic_hash", String(64)),
    Column("published_at", UTCDateTime),
    Column("preset", String(64)),
    Column("hook_type", String(20)),
    Column("scene_count", Integer),
    Column("narration_wpm", Float),
    Column("caption_density", Float),
    Column("ending_type", String(20)),
)


def import_videos(
    db: Database,
    project_id: uuid.UUID,
    rows: Rows,
    what: str = "videos file",
    progress: Progress | None = None,
) -> ImportResult:
    """Import existing videos as published manual jobs; all rows or none.

    A row whose external_id is already in the project with the same data is left as it is
    (so loading a file twice adds nothing); with different data it is an error.
    """
    with db.transaction() as session:
        project = get_project(session, project_id)
        plan = _video_load(db, project.id, list(project.presets))
        loaded = load_rows(session, project.id, rows, what, progress, plan)
        result = ImportResult(
            project_id=project.id,
            rows=loaded.rows,
            imported=loaded.written,
            unchanged=loaded.unchanged,
        )
    refresh_statistics(db, "video_jobs", result.imported)
    return result


def _video_load(db: Database, project_id: uuid.UUID, presets: list[str]) -> Load:
    """How an import of videos judges and writes its staged rows."""

    def stored(s: Table) -> ColumnElement[bool]:
        return and_(VideoJob.project_id == project_id, VideoJob.external_id == s.c.external_id)

    def compare(stage: Table) -> Select[Any]:
        s = stage.c
        same = and_(
            VideoJob.generation_mode == GenerationMode.MANUAL,
            VideoJob.topic == s.topic,
            VideoJob.published_at == s.published_at,
            VideoJob.source_preset == s.preset,
            VideoJob.source_hook_type == s.hook_type,
            VideoJob.source_scene_count == s.scene_count,
            VideoJob.source_narration_wpm == s.narration_wpm,
            VideoJob.source_caption_density == s.caption_density,
            VideoJob.source_ending_type == s.ending_type,
        )
        return (
            select(s.line, s.external_id, case((same, 1), else_=0).label("same"))
            .join(VideoJob, stored(stage))
            .order_by(s.line)
        )

    def write(stage: Table) -> Executable:
        s = stage.c
        created = dt.datetime.now(dt.UTC)
        return VideoJob.__table__.insert().from_select(
            [
                "id",
                "project_id",
                "generation_mode",
                "status",
                "external_id",
                "topic",
                "topic_hash",
                "published_at",
                "source_preset",
                "source_hook_type",
                "source_scene_count",
                "source_narration_wpm",
                "source_caption_density",
                "source_ending_type",
                "created_at",
                "batch_position",
            ],
            select(
                ordered_uuid(db.dialect, int(created.timestamp() * 1000), s.line),
                literal(project_id, VideoJob.project_id.type),
                literal(GenerationMode.MANUAL),
                literal(JobStatus.PUBLISHED),
                s.external_id,
                s.topic,
                s.topic_hash,
                s.published_at,
                s.preset,
                s.hook_type,
                s.scene_count,
                s.narration_wpm,
                s.caption_density,
                s.ending_type,
                literal(created, UTCDateTime()),
                # One creation time for the whole import: its rows are listed in the file's
                # order by their position, which is their line.
                s.line,
            )
            .where(~exists().where(stored(stage)))
            .order_by(s.line),
        )

    return Load(
        stage=_VIDEO_STAGE,
        by_columns=lambda chunk: video_columns(chunk, presets),
        by_row=_check_video_row(presets, project_id),
        staged=ImportedVideo.staged,
        key=("external_id",),
        repeats=_repeats,
        stored=compare,
        differs=_differs,
        write=write,
        field="videos",
        compare_repeats=True,
    )


def _repeats(row: Row[Any], first: int) -> str:
    return f"external_id {row.external_id} repeats line {first}"


def _differs(row: Row[Any]) -> str:
    return f"external_id {row.external_id} already exists in the project with different data"
