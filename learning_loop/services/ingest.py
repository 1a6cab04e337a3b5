"""Ingesting files: existing videos (import, then their recipes backfilled) and the metric
snapshots of published videos; their columns, row checks, and all-rows-or-none rule.

An import reads its rows a chunk at a time (`row_files`), checks each chunk (a CSV chunk a
column at a time, `columns`; any chunk with a bad row, and JSONL or API rows, row by row,
`rows`), and loads the checked rows into a staging table of its transaction (`db.staging`:
COPY on PostgreSQL). What needs the whole file or the database (a key repeated in the file, a
key already stored with other data, an unknown video) is then judged by set-based statements
over the staging table, and the new rows are copied into the product table by one INSERT ...
SELECT. Any bad row rejects the whole file and nothing is written (one transaction).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Float,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import Executable

from learning_loop.db.engine import Database
from learning_loop.db.models import MetricSnapshot, RewardBacklog, UTCDateTime, VideoJob
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import (
    BULK,
    dialect_insert,
    ensure_recipes,
    lock_project_imports,
    refresh_statistics,
)
from learning_loop.db.staging import load, ordered_uuid, stage_table, staged, temporary_table
from learning_loop.domain.buckets import (
    DENSITY_BOUNDS,
    DENSITY_NAMES,
    WPM_BOUNDS,
    WPM_NAMES,
    InvalidRawValue,
    density_bucket,
    wpm_bucket,
)
from learning_loop.domain.recipe import (
    ENDING_TYPES,
    HOOK_TYPES,
    RECIPE_FIELDS,
    SCENE_COUNT_MAX,
    SCENE_COUNT_MIN,
    InvalidRecipe,
    Recipe,
)
from learning_loop.domain.statuses import GenerationMode, JobStatus, SnapshotSource, Views6hBasis
from learning_loop.domain.topics import TOPIC_MAX_LENGTH, InvalidTopic, clean_topic, topic_hash
from learning_loop.errors import InvalidInput, RowError
from learning_loop.services import columns
from learning_loop.services.projects import get_project
from learning_loop.services.row_files import Chunk, CsvChunk, Progress, RowFile, row_chunks
from learning_loop.services.rows import (
    RowProblem,
    check_rows,
    float_field,
    int_field,
    parse_fields,
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

# What an import reads: a file (in chunks), or rows already in memory (an API request's body).
Rows = RowFile | Iterable[tuple[int, Mapping[str, Any]]]
# A checked chunk: its rows' lines, and its values one list per staged column.
Checked = tuple[list[int], list[list[Any]]]


@dataclass
class _Reading:
    """The rows of an import as chunks, with the form errors of a file raised at the end."""

    rows: Rows
    progress: Progress | None

    def chunks(self) -> Iterable[Chunk]:
        source = self.rows
        if not isinstance(source, RowFile):
            yield from row_chunks(source)
            return
        done = 0
        for chunk in source:
            yield chunk
            done += len(chunk)
            if self.progress is not None:
                self.progress(done, source.bytes_read, source.size)
        source.raise_form_errors()


def _stage_checked(
    session: Session,
    stage: Table,
    reading: _Reading,
    check: Callable[[Chunk], tuple[Checked | None, list[RowError]]],
) -> tuple[int, list[RowError]]:
    """Check every chunk and load its good rows into `stage`: the rows staged, and the errors."""
    errors: list[RowError] = []
    staged_rows = 0
    for chunk in reading.chunks():
        checked, chunk_errors = check(chunk)
        errors.extend(chunk_errors)
        if checked is not None:
            lines, values = checked
            load(session, stage, lines, values)
            staged_rows += len(lines)
    return staged_rows, errors


def _as_columns(values: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    if not values:
        return [[] for _ in range(width)]
    return [list(c) for c in zip(*values, strict=True)]


def _written(session: Session, statement: Executable) -> int:
    """How many rows an INSERT ... SELECT wrote."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount or 0


def _naive(moment: dt.datetime) -> dt.datetime:
    """An aware UTC datetime as stored (naive UTC)."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


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

    def staged(self) -> tuple[Any, ...]:
        return (
            self.external_id,
            self.topic,
            self.topic_hash,
            _naive(self.published_at),
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


def _topic_field(row: Mapping[str, Any], key: str) -> str:
    try:
        return clean_topic(text_field(row, key, max_len=500))
    except InvalidTopic as exc:
        raise RowProblem(f"topic: {exc}") from None


_VIDEO_FIELDS: dict[str, Callable[[Mapping[str, Any], str], Any]] = {
    "external_id": text_field,
    "topic": _topic_field,
    "published_at": timestamp_field,
    "preset": lambda row, key: text_field(row, key, 64),
    "hook_type": lambda row, key: text_field(row, key, 20),
    "scene_count": int_field,
    "narration_wpm": float_field,
    "caption_density": float_field,
    "ending_type": lambda row, key: text_field(row, key, 20),
}


def _check_video_row(
    presets: list[str], project_id: uuid.UUID
) -> Callable[[Mapping[str, Any]], ImportedVideo]:
    def check(row: Mapping[str, Any]) -> ImportedVideo:
        values = parse_fields(row, _VIDEO_FIELDS)
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


def _video_columns(chunk: CsvChunk, presets: list[str]) -> list[list[Any]] | None:
    """A clean CSV chunk's staged columns, checked a column at a time; None if a row may be bad."""
    cells = chunk.cells
    # The cheap checks first: a bad chunk goes to the row checks as soon as it is seen.
    preset = columns.choice(cells("preset"), presets)
    hook = preset and columns.choice(cells("hook_type"), HOOK_TYPES)
    ending = hook and columns.choice(cells("ending_type"), ENDING_TYPES)
    scenes = ending and columns.whole(cells("scene_count"), SCENE_COUNT_MIN, SCENE_COUNT_MAX)
    wpm = scenes and columns.number(cells("narration_wpm"))
    density = wpm and columns.number(cells("caption_density"))
    external = density and columns.text(cells("external_id"), 200)
    published = external and columns.timestamp(cells("published_at"))
    topic = published and columns.text(cells("topic"), min(500, TOPIC_MAX_LENGTH))
    hashes = topic and columns.topic_hashes(topic)
    if not (hashes and topic and published and external and density and wpm and scenes):
        return None
    assert preset and hook and ending
    return [external, topic, hashes, published, preset, hook, scenes, wpm, density, ending]


def _video_checker(
    presets: list[str], project_id: uuid.UUID
) -> Callable[[Chunk], tuple[Checked | None, list[RowError]]]:
    by_row = _check_video_row(presets, project_id)

    def check(chunk: Chunk) -> tuple[Checked | None, list[RowError]]:
        if isinstance(chunk, CsvChunk):
            values = _video_columns(chunk, presets)
            if values is not None:
                return (chunk.lines, values), []
        good, errors = check_rows(chunk.rows(), by_row)
        staged = [v.staged() for _, v in good]
        return ([line for line, _ in good], _as_columns(staged, 10)), errors

    return check


def _repeated(stage: Table, *key: str) -> Any:
    """The rows of `stage` whose `key` is on more than one row, with the key's first line."""
    keys = [stage.c[k] for k in key]
    twice = (
        select(*keys, func.min(stage.c.line).label("first"))
        .group_by(*keys)
        .having(func.count() > 1)
        .subquery("twice")
    )
    return (
        select(stage, twice.c.first)
        .join(twice, and_(*(stage.c[k] == twice.c[k] for k in key)))
        .order_by(stage.c.line)
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
        lock_project_imports(session, project.id)
        presets = list(project.presets)
        with staged(session, _VIDEO_STAGE) as stage:
            count, errors = _stage_checked(
                session, stage, _Reading(rows, progress), _video_checker(presets, project.id)
            )
            s = stage.c
            for row in session.execute(_repeated(stage, "external_id")):
                if row.line > row.first:
                    errors.append(
                        RowError(
                            row.line, f"external_id {row.external_id} repeats line {row.first}"
                        )
                    )
            stored = and_(VideoJob.project_id == project.id, VideoJob.external_id == s.external_id)
            same = and_(
                VideoJob.generation_mode == GenerationMode.MANUAL.value,
                VideoJob.topic == s.topic,
                VideoJob.published_at == s.published_at,
                VideoJob.source_preset == s.preset,
                VideoJob.source_hook_type == s.hook_type,
                VideoJob.source_scene_count == s.scene_count,
                VideoJob.source_narration_wpm == s.narration_wpm,
                VideoJob.source_caption_density == s.caption_density,
                VideoJob.source_ending_type == s.ending_type,
            )
            unchanged = 0
            for line, external_id, is_same in session.execute(
                select(s.line, s.external_id, case((same, 1), else_=0))
                .join(VideoJob, stored)
                .order_by(s.line)
            ):
                if is_same:
                    unchanged += 1
                else:
                    errors.append(
                        RowError(
                            line,
                            f"external_id {external_id} already exists in the project "
                            "with different data",
                        )
                    )
            reject_if_any(errors, what, "videos")
            created = dt.datetime.now(dt.UTC)
            imported = _written(
                session,
                VideoJob.__table__.insert().from_select(
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
                        literal(project.id, VideoJob.project_id.type),
                        literal(GenerationMode.MANUAL.value),
                        literal(JobStatus.PUBLISHED.value),
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
                        # One creation time for the whole import: its rows are listed in
                        # the file's order by their position, which is their line.
                        s.line,
                    )
                    .where(~exists().where(stored))
                    .order_by(s.line),
                ),
            )
        result = ImportResult(
            project_id=project.id, rows=count, imported=imported, unchanged=unchanged
        )
    refresh_statistics(db, "video_jobs", result.imported)
    return result


# Their recipes -----------------------------------------------------------------------------


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
    published = VideoJob.status == JobStatus.PUBLISHED.value
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


# Metric snapshots --------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    external_id: str
    captured_at: dt.datetime
    views: int
    views_6h: int | None
    avg_view_duration_s: float | None
    likes: int
    comments: int
    views_6h_basis: str | None = Views6hBasis.REPORTED.value

    def values(self) -> tuple[int, int | None, float | None, int, int, str | None]:
        return (
            self.views,
            self.views_6h,
            self.avg_view_duration_s,
            self.likes,
            self.comments,
            self.views_6h_basis,
        )


class IngestResult(BaseModel):
    project_id: uuid.UUID
    rows: int
    ingested: int
    unchanged: int


_SNAPSHOT_FIELDS: dict[str, Callable[[Mapping[str, Any], str], Any]] = {
    "external_id": text_field,
    "captured_at": timestamp_field,
    "views": int_field,
    "views_6h": int_field,
    "avg_view_duration_s": float_field,
    "likes": int_field,
    "comments": int_field,
}


def _check_snapshot(row: Mapping[str, Any]) -> Snapshot:
    return _checked_views_6h(Snapshot(**parse_fields(row, _SNAPSHOT_FIELDS)))


def _checked_views_6h(snap: Snapshot) -> Snapshot:
    if snap.views_6h is not None and snap.views_6h > snap.views:
        raise RowProblem(f"views_6h ({snap.views_6h}) must not exceed views ({snap.views})")
    return snap


def _unless_unknown(
    parse: Callable[[Mapping[str, Any], str], Any],
) -> Callable[[Mapping[str, Any], str], Any]:
    """`parse`, but a value the platform has not given yet (null) stays null."""

    def parse_known(row: Mapping[str, Any], key: str) -> Any:
        return None if row.get(key) is None else parse(row, key)

    return parse_known


# A collector's row: the same checks, but `views_6h` before the 6-hour mark and the duration
# before the platform's analytics are null.
_COLLECTED_FIELDS = {
    **_SNAPSHOT_FIELDS,
    "views_6h": _unless_unknown(int_field),
    "avg_view_duration_s": _unless_unknown(float_field),
}


def _check_collected(row: Mapping[str, Any]) -> Snapshot:
    values = parse_fields(row, _COLLECTED_FIELDS)
    basis = None if values["views_6h"] is None else str(Views6hBasis(row["views_6h_basis"]))
    return _checked_views_6h(Snapshot(**values, views_6h_basis=basis))


_SNAPSHOT_STAGE = stage_table(
    "ingest_metrics_stage",
    Column("external_id", String(200)),
    Column("captured_at", UTCDateTime),
    Column("views", BigInteger),
    Column("views_6h", BigInteger),
    Column("avg_view_duration_s", Float),
    Column("likes", BigInteger),
    Column("comments", BigInteger),
    Column("views_6h_basis", String(12)),
)


def _snapshot_columns(chunk: CsvChunk) -> list[list[Any]] | None:
    """A clean CSV chunk's staged columns, checked a column at a time; None if a row may be bad."""
    cells = chunk.cells
    views = columns.whole(cells("views"))
    views_6h = views and columns.whole(cells("views_6h"))
    likes = views_6h and columns.whole(cells("likes"))
    comments = likes and columns.whole(cells("comments"))
    duration = comments and columns.number(cells("avg_view_duration_s"))
    external = duration and columns.text(cells("external_id"), 200)
    captured = external and columns.timestamp(cells("captured_at"))
    if not (captured and external and duration and comments and likes and views_6h and views):
        return None
    if not columns.at_most(views_6h, views):
        return None
    reported = [Views6hBasis.REPORTED.value] * len(views)
    return [external, captured, views, views_6h, duration, likes, comments, reported]


def _snapshot_checker(
    source: SnapshotSource,
) -> Callable[[Chunk], tuple[Checked | None, list[RowError]]]:
    check_row = _check_collected if source == SnapshotSource.COLLECTOR else _check_snapshot

    def check(chunk: Chunk) -> tuple[Checked | None, list[RowError]]:
        if isinstance(chunk, CsvChunk):
            values = _snapshot_columns(chunk)
            if values is not None:
                return (chunk.lines, values), []
        good, errors = check_rows(chunk.rows(), check_row)
        staged = [(s.external_id, _naive(s.captured_at), *s.values()) for _, s in good]
        return ([line for line, _ in good], _as_columns(staged, 8)), errors

    return check


def ingest_metrics(
    db: Database,
    project_id: uuid.UUID,
    rows: Rows,
    what: str = "metrics file",
    progress: Progress | None = None,
    source: SnapshotSource = SnapshotSource.FILE,
) -> IngestResult:
    """Store snapshots; all rows or none. A snapshot is identified by external_id + captured_at.

    A row is judged in this order, the first failure being its error: its video is a
    published video of the project, it was captured no earlier than the video was published,
    no earlier line of the file has the same external_id and captured_at, and a snapshot
    already stored with that key has the same values (then it is counted as unchanged).
    """
    with db.transaction() as session:
        project_id = get_project(session, project_id).id
        result = ingest_snapshots(session, project_id, rows, what, source, progress)
    refresh_statistics(db, "metric_snapshots", result.ingested)
    return result


def ingest_snapshots(
    session: Session,
    project_id: uuid.UUID,
    rows: Rows,
    what: str,
    source: SnapshotSource,
    progress: Progress | None = None,
) -> IngestResult:
    """`ingest_metrics` inside the caller's transaction (the collector writes its polls'
    snapshots with the state of their marks); InvalidFile, and nothing written, on a bad row."""
    lock_project_imports(session, project_id)
    with staged(session, _SNAPSHOT_STAGE) as stage:
        count, errors = _stage_checked(
            session, stage, _Reading(rows, progress), _snapshot_checker(source)
        )
        s = stage.c
        video = and_(
            VideoJob.project_id == project_id,
            VideoJob.status == JobStatus.PUBLISHED.value,
            VideoJob.external_id == s.external_id,
        )
        refused: set[int] = set()
        for line, external_id, captured_at, video_id, published_at in session.execute(
            select(s.line, s.external_id, s.captured_at, VideoJob.id, VideoJob.published_at)
            .outerjoin(VideoJob, video)
            .where(or_(VideoJob.id.is_(None), s.captured_at < VideoJob.published_at))
        ):
            refused.add(line)
            if video_id is None:
                reason = f"external_id {external_id} is not a published video of the project"
            else:
                reason = (
                    f"captured_at {captured_at.isoformat()} is before the video was "
                    f"published ({published_at.isoformat()})"
                )
            errors.append(RowError(line, reason))
        first: dict[tuple[str, dt.datetime], int] = {}
        for row in session.execute(_repeated(stage, "external_id", "captured_at")):
            if row.line in refused:
                continue
            key = (row.external_id, row.captured_at)
            if key in first:
                refused.add(row.line)
                errors.append(
                    RowError(row.line, f"same external_id and captured_at as line {first[key]}")
                )
            else:
                first[key] = row.line
        stored = and_(
            MetricSnapshot.video_id == VideoJob.id,
            MetricSnapshot.captured_at == s.captured_at,
        )
        same = and_(
            MetricSnapshot.views == s.views,
            MetricSnapshot.views_6h.is_not_distinct_from(s.views_6h),
            MetricSnapshot.avg_view_duration_s.is_not_distinct_from(s.avg_view_duration_s),
            MetricSnapshot.likes == s.likes,
            MetricSnapshot.comments == s.comments,
        )
        unchanged = 0
        for line, external_id, captured_at, is_same in session.execute(
            select(s.line, s.external_id, s.captured_at, case((same, 1), else_=0))
            .join(VideoJob, video)
            .join(MetricSnapshot, stored)
            .order_by(s.line)
        ):
            if line in refused:
                continue
            if is_same:
                unchanged += 1
            else:
                errors.append(
                    RowError(
                        line,
                        f"a different snapshot of {external_id} at "
                        f"{captured_at.isoformat()} is already stored",
                    )
                )
        reject_if_any(errors, what, "snapshots")
        ingested = _written(
            session,
            MetricSnapshot.__table__.insert().from_select(
                [
                    "project_id",
                    "video_id",
                    "captured_at",
                    "views",
                    "views_6h",
                    "avg_view_duration_s",
                    "likes",
                    "comments",
                    "source",
                    "views_6h_basis",
                ],
                select(
                    literal(project_id, MetricSnapshot.project_id.type),
                    VideoJob.id,
                    s.captured_at,
                    s.views,
                    s.views_6h,
                    s.avg_view_duration_s,
                    s.likes,
                    s.comments,
                    literal(source.value, MetricSnapshot.source.type),
                    s.views_6h_basis,
                )
                .join(VideoJob, video)
                .where(~exists().where(stored))
                .order_by(s.line),
            ),
        )
        # The videos measured here may need a reward of their own window (contract §11).
        backlog = dialect_insert(session, RewardBacklog.__table__).from_select(
            ["video_id", "project_id"],
            select(VideoJob.id, VideoJob.project_id).join(stage, video).distinct(),
        )
        session.execute(backlog.on_conflict_do_nothing(index_elements=["video_id"]))
    return IngestResult(project_id=project_id, rows=count, ingested=ingested, unchanged=unchanged)
