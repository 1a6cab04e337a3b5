"""Backfilling imported videos' recipes: the second half of importing videos, set-based (the
distinct production values grouped, made recipes, and one UPDATE giving each video its own)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    String,
    Table,
    Uuid,
    and_,
    case,
    func,
    null,
    select,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from learning_loop.db.engine import Database
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.models import VideoJob
from learning_loop.db.queries import BULK, ensure_recipes, lock_project_imports, refresh_statistics
from learning_loop.db.staging import staged, temporary_table
from learning_loop.domain.buckets import (
    DENSITY_BOUNDS,
    DENSITY_NAMES,
    WPM_BOUNDS,
    WPM_NAMES,
    InvalidRawValue,
    density_bucket,
    wpm_bucket,
)
from learning_loop.domain.recipe import RECIPE_FIELDS, InvalidRecipe, Recipe
from learning_loop.domain.statuses import GenerationMode, JobStatus
from learning_loop.errors import InvalidInput
from learning_loop.services.projects import get_project


class BackfillResult(BaseModel):
    project_id: uuid.UUID
    videos_backfilled: int
    recipes_created: int
    videos_without_source: int


_LARGEST = 1.7976931348623157e308


def _bucket_sql(
    value: ColumnElement[Any] | InstrumentedAttribute[Any],
    bounds: tuple[float, float],
    names: tuple[str, str, str],
) -> ColumnElement[Any]:
    """`domain.buckets` in SQL; NULL for a value that has no bucket (missing, negative, not
    finite: PostgreSQL sorts NaN above every number)."""
    return case(
        (and_(value >= 0, value < bounds[0]), names[0]),
        (and_(value >= bounds[0], value <= bounds[1]), names[1]),
        (and_(value > bounds[1], value <= _LARGEST), names[2]),
        else_=null(),
    )


def backfill_recipes(db: Database, project_id: uuid.UUID) -> BackfillResult:
    """Give every video that has raw production values but no recipe its recipe.

    It lives with the ingestion because it is the second half of importing videos: only
    `import_videos` stores raw production values (planned jobs get their recipe when planned),
    and imported videos take part in the stats only once this has turned them into recipes.

    Set-based: the distinct production values of the videos without a recipe are read
    grouped (a few thousand at most), made recipes here, and one UPDATE joins every video to
    its recipe by those values.
    """
    wpm = _bucket_sql(VideoJob.source_narration_wpm, WPM_BOUNDS, WPM_NAMES)
    density = _bucket_sql(VideoJob.source_caption_density, DENSITY_BOUNDS, DENSITY_NAMES)
    raw: tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...] = (
        VideoJob.source_preset,
        VideoJob.source_hook_type,
        VideoJob.source_scene_count,
        wpm,
        density,
        VideoJob.source_ending_type,
    )
    with db.transaction() as session:
        project = get_project(session, project_id)
        lock_project_imports(session, project.id)
        pending = and_(VideoJob.project_id == project.id, VideoJob.recipe_id.is_(None))
        with_source = and_(pending, VideoJob.source_preset.is_not(None))
        without = session.scalar(
            select(func.count()).where(pending, VideoJob.source_preset.is_(None))
        )
        recipes: list[Recipe] = []
        videos = 0
        for *values, n in session.execute(
            select(*raw, func.count()).where(with_source).group_by(*raw)
        ):
            try:
                if values[3] is None or values[4] is None:
                    raise InvalidRawValue("no bucket")
                recipes.append(Recipe(*values))
            except (InvalidRecipe, InvalidRawValue):
                _reject_production_values(session, with_source, raw, values)
            videos += n
        before = session.scalar(
            select(func.count()).select_from(RecipeRow).where(RecipeRow.project_id == project.id)
        )
        ensure_recipes(session, project.id, recipes)
        after = session.scalar(
            select(func.count()).select_from(RecipeRow).where(RecipeRow.project_id == project.id)
        )
        if recipes:
            with staged(session, _RECIPE_MAP) as known:
                _assign_recipes(session, project.id, known, with_source, raw)
            _refresh_times_used(session, project.id)
            # Videos already rewarded may have got their recipe: the recipes' history sums
            # are rebuilt by the next recipe-stats run (contract §11).
            project.evidence_as_of = None
        result = BackfillResult(
            project_id=project.id,
            videos_backfilled=videos,
            recipes_created=(after or 0) - (before or 0),
            videos_without_source=without or 0,
        )
    # The pages and the planner read recipes from the rank index: a planner that still
    # believes the project has a handful of recipes would sort them all instead.
    refresh_statistics(db, "recipes", result.recipes_created)
    refresh_statistics(db, "video_jobs", result.videos_backfilled)
    return result


# The project's recipes keyed by their six fields: each video finds its recipe by one probe of
# the key (a join against `recipes` itself has no such index, and SQLite would then scan every
# recipe for every video).
_RECIPE_MAP = temporary_table(
    "backfill_recipe_map",
    Column("preset", String(64)),
    Column("hook_type", String(20)),
    Column("scene_count", Integer),
    Column("narration_wpm_bucket", String(10)),
    Column("caption_density_bucket", String(10)),
    Column("ending_type", String(20)),
    Column("recipe_id", Uuid),
    unique=RECIPE_FIELDS,
)


def _assign_recipes(
    session: Session,
    project_id: uuid.UUID,
    known: Table,
    with_source: ColumnElement[bool],
    raw: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
) -> None:
    """Every video of `with_source` gets the recipe of its production values (`raw`).

    Only `recipe_id` changes, a column no index holds, so on PostgreSQL each row's new version
    stays on its page with no new index entry (a heap-only update; migration 0009)."""
    session.execute(
        known.insert().from_select(
            [*RECIPE_FIELDS, "recipe_id"],
            select(*(RecipeRow.__table__.c[f] for f in RECIPE_FIELDS), RecipeRow.id).where(
                RecipeRow.project_id == project_id
            ),
        )
    )
    match = and_(*(known.c[f] == value for f, value in zip(RECIPE_FIELDS, raw, strict=True)))
    if session.get_bind().dialect.name == "postgresql":
        # UPDATE ... FROM: one hash join of the videos with the few thousand recipes.
        assign = update(VideoJob).where(with_source, match).values(recipe_id=known.c.recipe_id)
    else:
        # SQLite probes the map's unique index once per video.
        assign = (
            update(VideoJob)
            .where(with_source)
            .values(recipe_id=select(known.c.recipe_id).where(match).scalar_subquery())
        )
    session.execute(assign, **BULK)


def _reject_production_values(
    session: Session,
    with_source: ColumnElement[bool],
    raw: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
    values: Sequence[Any],
) -> None:
    """Raise the error of one video whose production values make no recipe."""
    match = [c.is_(None) if v is None else c == v for c, v in zip(raw, values, strict=True)]
    job = session.scalars(select(VideoJob).where(with_source, *match).limit(1)).one()
    try:
        _source_recipe(job)
    except (InvalidRecipe, InvalidRawValue) as exc:
        raise InvalidInput(
            f"video {job.external_id or job.id} has invalid production values: {exc}",
            "videos",
        ) from None
    raise AssertionError("production values without a recipe")  # pragma: no cover


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
    """Each recipe of the project that has videos: how many use it, how many of those the
    planner made and how many are published (one grouped count)."""
    planned = VideoJob.generation_mode.in_((GenerationMode.EXPLOIT, GenerationMode.EXPLORE))
    published = VideoJob.status == JobStatus.PUBLISHED
    used = (
        select(
            VideoJob.recipe_id,
            func.count().label("n"),
            func.sum(case((planned, 1), else_=0)).label("planned"),
            func.sum(case((published, 1), else_=0)).label("published"),
        )
        .where(VideoJob.project_id == project_id, VideoJob.recipe_id.is_not(None))
        .group_by(VideoJob.recipe_id)
        .subquery("used")
    )
    session.execute(
        update(RecipeRow)
        .where(RecipeRow.project_id == project_id, RecipeRow.id == used.c.recipe_id)
        .values(
            times_used=used.c.n,
            planned_videos=used.c.planned,
            published_videos=used.c.published,
        ),
        **BULK,
    )
