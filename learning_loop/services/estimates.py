"""Recipe estimates over the whole history (contract §11): the additive model fitted per project
on its evidence (`services.evidence`), the estimates written on the recipes and read by the
planner, and the field insights."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    JSON,
    Column,
    Date,
    Float,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import Project, RecipeDailyStats, RecipeModel
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import BULK, chunks, dialect_insert
from learning_loop.db.staging import load, stage_table, staged
from learning_loop.domain.additive_model import (
    Evidence,
    EvidenceSummary,
    FloatArray,
    catalogue,
    fit_summary,
    summarise_evidence,
)
from learning_loop.domain.decay import decay_weight
from learning_loop.domain.estimates import (
    RecipeEstimates,
    estimate_from_summary,
    estimate_recipes,
    estimates_at,
    field_insights,
)
from learning_loop.domain.recipe import RECIPE_FIELDS, Recipe
from learning_loop.services.evidence import (
    SUM_COLUMNS,
    as_text,
    carried_evidence,
    exact_evidence,
    id_text,
)
from learning_loop.services.projects import get_project
from learning_loop.services.views import FieldInsightView, InsightsView, ValueInsightView

# A project's recipes with their evidence: what a fit reads.
_EVIDENCE = select(
    RecipeRow.id,
    *(getattr(RecipeRow, f) for f in RECIPE_FIELDS),
    RecipeRow.evidence_videos,
    RecipeRow.evidence_weight,
    RecipeRow.evidence_sum,
    RecipeRow.evidence_sumsq,
).where(RecipeRow.project_id == bindparam("project_id"))
_WITH_EVIDENCE = _EVIDENCE.where(RecipeRow.evidence_videos > 0)
_MODEL = select(RecipeModel.presets, RecipeModel.summary).where(
    RecipeModel.project_id == bindparam("project_id")
)
# `created_at` is in no index: SQLite would otherwise scan the project's whole rank index (it
# covers both columns) instead of probing the (project_id, recipe_hash) key.
_VIDEOS_OF = select(RecipeRow.recipe_hash, RecipeRow.evidence_videos, RecipeRow.created_at).where(
    RecipeRow.project_id == bindparam("project_id"),
    RecipeRow.recipe_hash.in_(bindparam("hashes", expanding=True)),
)
# Every recipe of the projects a stats run covers, with its project, its history sums and its
# stats of the run's date (none for a recipe made while the run went on); ids as text
# (`evidence.id_text`).
_DAY_STATS = RecipeDailyStats.__table__.c
# The stats of the date a recipe row takes from its `recipe_daily_stats` row.
STATS_COLUMNS = ("times_used", "avg_reward_score", "best_reward_score", "rewarded_videos")
_RUN_RECIPES = (
    select(
        as_text(RecipeRow.id),
        as_text(RecipeRow.project_id),
        *(getattr(RecipeRow, f) for f in RECIPE_FIELDS),
        RecipeRow.history_videos,
        RecipeRow.history_weight,
        RecipeRow.history_sum,
        RecipeRow.history_sumsq,
        _DAY_STATS.recipe_id.is_not(None),
        *(_DAY_STATS[name] for name in STATS_COLUMNS),
    )
    .outerjoin(
        RecipeDailyStats.__table__,
        and_(
            _DAY_STATS.recipe_id == RecipeRow.id,
            _DAY_STATS.stats_date == bindparam("as_of"),
            # Said to the database: it reads the date's stats by (project_id, stats_date).
            _DAY_STATS.project_id == RecipeRow.project_id,
        ),
    )
    .order_by(RecipeRow.project_id, RecipeRow.id)
)


def _evidence_of(rows: Sequence[Any], presets: Sequence[str]) -> tuple[Evidence, list[int | None]]:
    """The Evidence of recipe rows (of `_EVIDENCE`), and each row's catalogue index (None for
    a recipe outside the catalogue, which the model leaves out)."""
    lookup = catalogue(tuple(dict.fromkeys(presets))).lookup
    # The stored fields are valid (checked when the recipe was written): no Recipe to build.
    indices: list[int | None] = [lookup.get(tuple(row[1:7])) for row in rows]
    # The recipes with videos, in catalogue order (Evidence's).
    used = sorted(
        (i for i, index in enumerate(indices) if index is not None and rows[i][7] > 0),
        key=lambda i: indices[i] or 0,
    )
    evidence = Evidence(
        index=np.asarray([indices[i] for i in used], dtype=np.int64),
        videos=np.asarray([rows[i][7] for i in used], dtype=np.int64),
        weight=np.asarray([rows[i][8] or 0.0 for i in used]),
        total=np.asarray([rows[i][9] or 0.0 for i in used]),
        squares=np.asarray([rows[i][10] or 0.0 for i in used]),
    )
    return evidence, indices


# Projects estimated together: their recipes, sums and fits are held in memory at once.
PROJECTS_PER_PASS = 1000


def write_estimates(
    session: Session,
    dialect: str,
    as_of: dt.date,
    ids: Sequence[uuid.UUID] | None,
    held: bool,
) -> tuple[int, list[uuid.UUID]]:
    """The whole-history evidence of every recipe of the projects whose newest stats date is
    `as_of` (or earlier: this run's), and the estimates of the model fitted on it, written
    with the recipes' stats of `as_of` (`recipe_daily_stats`, already computed) in one pass
    over their rows. Returns the recipes estimated, and the projects of the scope whose rows
    it did not write (no recipe, or a date before their newest stats date).

    A project whose history sums are as of an earlier date, built with its current window and
    half-life, has them carried forward (`carried_evidence`; `held`: `as_of`'s reward rows
    are held); any other (never built, a setting changed, a backfill, or `as_of`'s rewards not
    held) is read whole once (`exact_evidence`). A date before the project's newest stats date
    changes nothing: the current estimates are those of the newest date. Projects are taken
    `PROJECTS_PER_PASS` at a time, so memory stays bounded however many there are.
    """
    scope = select(
        Project.id,
        Project.presets,
        Project.window_days,
        Project.half_life_days,
        Project.evidence_as_of,
        Project.evidence_window_days,
        Project.evidence_half_life_days,
    ).order_by(Project.id)
    newest_stats = select(RecipeRow.project_id, func.max(RecipeRow.stats_as_of)).group_by(
        RecipeRow.project_id
    )
    if ids is not None:
        scope = scope.where(Project.id.in_(list(ids)))
        newest_stats = newest_stats.where(RecipeRow.project_id.in_(list(ids)))
    projects = {row[0]: row for row in session.execute(scope)}
    # Projects with recipes, and the newest date their stats were computed for (before this
    # run writes its own).
    newest = dict(session.execute(newest_stats).tuples().all())
    carry: dict[uuid.UUID, tuple[dt.date, int]] = {}
    exact: set[uuid.UUID] = set()
    for pid, (_, _, window, half_life, since, built_window, built_half_life) in projects.items():
        if pid not in newest or (newest[pid] or as_of) > as_of:
            continue  # no recipe, or a date before the project's newest stats
        if since is not None and (built_window, built_half_life) == (window, half_life):
            if as_of < since:
                continue
            if held:
                carry[pid] = (since, window)
                continue
        exact.add(pid)
    done = sorted([*carry, *exact])
    estimated = 0
    for part in chunks(done, PROJECTS_PER_PASS):
        estimated += _estimate_projects(session, dialect, as_of, projects, part, carry, exact)
    skipped = [pid for pid in projects if pid not in carry and pid not in exact]
    for part in chunks(done, 10_000):
        session.execute(
            update(Project)
            .where(Project.id.in_(list(part)))
            .values(
                evidence_as_of=as_of,
                evidence_window_days=Project.window_days,
                evidence_half_life_days=Project.half_life_days,
            ),
            **BULK,
        )
    return estimated, skipped


def _estimate_projects(
    session: Session,
    dialect: str,
    as_of: dt.date,
    projects: dict[uuid.UUID, Any],
    part: Sequence[uuid.UUID],
    carry: dict[uuid.UUID, tuple[dt.date, int]],
    exact: set[uuid.UUID],
) -> int:
    """`write_estimates` for the projects `part`: their evidence, fits and writes. Column by
    column (numpy): only the fits go project by project."""
    rows = session.execute(
        _RUN_RECIPES.where(RecipeRow.project_id.in_(list(part))), {"as_of": as_of}
    ).all()
    if not rows:
        return 0
    columns = list(zip(*rows, strict=True))
    ids, owners = columns[0], columns[1]
    keys = {id_text(dialect, pid): pid for pid in part}
    # The stored history sums of the carried projects, weighted down to `as_of`.
    factor_of = {
        id_text(dialect, pid): float(
            decay_weight((as_of - projects[pid][4]).days, projects[pid][3])
        )
        for pid in part
        if pid in carry
    }
    factor = np.fromiter((factor_of.get(o, np.nan) for o in owners), np.float64, len(rows))
    carried = ~np.isnan(factor)
    stored = pd.DataFrame(
        {
            "videos": np.asarray(columns[8], dtype=np.int64),
            **{
                name: np.asarray(values, dtype=np.float64) * factor
                for name, values in zip(SUM_COLUMNS[1:], columns[9:12], strict=True)
            },
        },
        index=pd.Index(ids),
    )[carried]
    groups: dict[tuple[dt.date, int], list[uuid.UUID]] = {}
    for pid in part:
        if pid in carry:
            groups.setdefault(carry[pid], []).append(pid)
    found: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    if groups:
        found.append(carried_evidence(session, dialect, as_of, groups, stored))
    read_whole = [pid for pid in part if pid in exact]
    if read_whole:
        found.append(exact_evidence(session, dialect, as_of, read_whole))
    every = pd.concat([e for e, _ in found]).reindex(ids, fill_value=0)
    history = pd.concat([h for _, h in found]).reindex(ids, fill_value=0)
    videos = every["videos"].to_numpy(np.int64)
    sums = [every[name].to_numpy(np.float64) for name in SUM_COLUMNS[1:]]
    # Each recipe's catalogue index (-1: outside its project's catalogue, left out).
    presets_of = {text: tuple(dict.fromkeys(projects[pid][1])) for text, pid in keys.items()}
    lookups = {key: catalogue(key).lookup for key in set(presets_of.values())}
    index = np.fromiter(
        (
            lookups[presets_of[o]].get(fields, -1)
            for o, fields in zip(owners, zip(*columns[2:8], strict=True), strict=True)
        ),
        np.int64,
        len(rows),
    )
    values = np.full((3, len(rows)), np.nan)  # estimate, low, high
    models: list[dict[str, Any]] = []
    # Rows come ordered by project: each project's rows are one slice.
    starts = [0, *(i for i in range(1, len(rows)) if owners[i] != owners[i - 1]), len(rows)]
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        presets = presets_of[owners[a]]
        at = index[a:b]
        used = np.flatnonzero((at >= 0) & (videos[a:b] > 0))
        used = used[np.argsort(at[used])]  # catalogue order, as Evidence keeps it
        summary = summarise_evidence(
            Evidence(
                index=at[used],
                videos=videos[a:b][used],
                weight=sums[0][a:b][used],
                total=sums[1][a:b][used],
                squares=sums[2][a:b][used],
            ),
            presets,
        )
        model = fit_summary(summary)
        known = np.flatnonzero(at >= 0)
        if len(known) and model.intercept is not None:
            values[:, a + known] = np.vstack(estimates_at(model, at[known]))
        models.append(
            {
                "project_id": keys[owners[a]],
                "as_of": as_of,
                "presets": list(summary.presets),
                "summary": summary.to_bytes(),
            }
        )
    made = videos > 0
    _write_recipes(
        session,
        as_of,
        [
            list(ids),
            videos.tolist(),
            *(_cells(column, made) for column in sums),
            history["videos"].to_numpy(np.int64).tolist(),
            *(history[name].to_numpy(np.float64).tolist() for name in SUM_COLUMNS[1:]),
            *(_cells(column, ~np.isnan(column)) for column in values),
            [int(bool(has)) for has in columns[12]],
            *(list(column) for column in columns[13:17]),
        ],
    )
    _write_models(session, dialect, models)
    return int((~np.isnan(values[0])).sum())


def _cells(values: FloatArray, present: Any) -> list[float | None]:
    """A float column for the stage: None where not `present`."""
    return [v if p else None for v, p in zip(values.tolist(), present.tolist(), strict=True)]


# Each estimated recipe's new values, staged (COPY on PostgreSQL) and written by one UPDATE: a
# row-by-row UPDATE took most of the run.
WRITTEN_COLUMNS = (
    "evidence_videos",
    "evidence_weight",
    "evidence_sum",
    "evidence_sumsq",
    "history_videos",
    "history_weight",
    "history_sum",
    "history_sumsq",
    "estimate",
    "estimate_low",
    "estimate_high",
)
_ESTIMATES_STAGE = stage_table(
    "recipe_estimates_stage",
    # The id as text (`evidence.id_text`): a uuid on PostgreSQL, SQLite's own hex form there.
    Column("recipe_id", Uuid().with_variant(String(32), "sqlite")),
    *(Column(c, Integer if c.endswith("_videos") else Float) for c in WRITTEN_COLUMNS),
    Column("has_stats", Integer),
    *(Column(c, Float if c.endswith("_score") else Integer) for c in STATS_COLUMNS),
)


def _write_recipes(session: Session, as_of: dt.date, columns: list[list[Any]]) -> None:
    """Write each recipe's (id, *WRITTEN_COLUMNS, has_stats, *STATS_COLUMNS): its evidence and
    estimates, and its stats of `as_of`, in one UPDATE, so each recipe row is rewritten once a
    night. A recipe with no stats row of the date (made while the run went on) keeps its
    stats."""
    with staged(session, _ESTIMATES_STAGE) as stage:
        load(session, stage, list(range(len(columns[0]))), columns)
        kept = stage.c.has_stats == 0
        session.execute(
            update(RecipeRow)
            .where(RecipeRow.id == stage.c.recipe_id)
            .values(
                {
                    **{name: stage.c[name] for name in WRITTEN_COLUMNS},
                    **{
                        name: case((kept, getattr(RecipeRow, name)), else_=stage.c[name])
                        for name in STATS_COLUMNS
                    },
                    "stats_as_of": case((kept, RecipeRow.stats_as_of), else_=literal(as_of, Date)),
                }
            ),
            **BULK,
        )


_MODELS_STAGE = stage_table(
    "recipe_models_stage",
    Column("project_id", Uuid),
    Column("as_of", Date),
    Column("presets", Text),
    Column("summary", LargeBinary),
)


def _write_models(session: Session, dialect: str, models: list[dict[str, Any]]) -> None:
    """Upsert the projects' evidence summaries, staged (COPY on PostgreSQL): one statement
    instead of a parameter set of some kilobytes per project."""
    if not models:
        return
    with staged(session, _MODELS_STAGE) as stage:
        load(
            session,
            stage,
            list(range(len(models))),
            [
                [m["project_id"] for m in models],
                [m["as_of"] for m in models],
                [json.dumps(m["presets"]) for m in models],
                [m["summary"] for m in models],
            ],
        )
        # The presets are JSON text: PostgreSQL's json column needs the cast, SQLite stores
        # the text as it is (a CAST there would make it a number).
        presets = cast(stage.c.presets, JSON) if dialect == "postgresql" else stage.c.presets
        stmt = dialect_insert(session, RecipeModel.__table__).from_select(
            ["project_id", "as_of", "presets", "summary"],
            # A WHERE before ON CONFLICT: SQLite would otherwise read it as a join's ON.
            select(stage.c.project_id, stage.c.as_of, presets, stage.c.summary).where(
                stage.c.line >= 0
            ),
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["project_id"],
                set_={c: stmt.excluded[c] for c in ("as_of", "presets", "summary")},
            )
        )


def project_estimates(
    session: Session, project: Project, with_videos: bool = False
) -> RecipeEstimates:
    """The model of the project's stored evidence (as of its last recipe-stats run).

    One row, the project's evidence summary, is enough to estimate every recipe. The recipes'
    own evidence is read instead (each made recipe's row, through `ix_recipes_evidence`) when
    the per-recipe videos are needed (`with_videos`: the ranking of the recipes made), when
    the model is not informative (then there are at most two such rows, or one recipe), or
    when the preset catalogue changed since the summary was stored."""
    conn = session.connection()
    stored = conn.execute(_MODEL, {"project_id": project.id}).one_or_none()
    presets = tuple(dict.fromkeys(project.presets))
    if stored is not None and not with_videos and tuple(stored.presets) == presets:
        summary = EvidenceSummary.from_bytes(presets, stored.summary)
        if summary.is_informative:
            return estimate_from_summary(summary)
    rows = conn.execute(_WITH_EVIDENCE, {"project_id": project.id}).all()
    evidence, _ = _evidence_of(rows, project.presets)
    return estimate_recipes(evidence, project.presets)


def videos_of(session: Session, project_id: uuid.UUID, hashes: Sequence[str]) -> dict[str, int]:
    """The rewarded videos behind each of these recipes (by hash; absent: never made)."""
    if not hashes:
        return {}
    rows = session.connection().execute(
        _VIDEOS_OF, {"project_id": project_id, "hashes": list(hashes)}
    )
    return {h: int(n) for h, n, _ in rows.tuples()}


def insights(db: Database, project_id: uuid.UUID) -> InsightsView:
    """Per field, what each value does to the expected reward (contract §9, insights)."""
    with db.read() as session:
        project = get_project(session, project_id)
        estimates = project_estimates(session, project)
        as_of = session.scalar(
            select(RecipeModel.as_of).where(RecipeModel.project_id == project.id)
        )
    default = Recipe.from_dict(project.default_recipe)
    return InsightsView(
        project_id=project.id,
        as_of=as_of,
        videos=estimates.summary.videos,
        half_life_days=project.half_life_days,
        fields=[
            FieldInsightView(
                field=f.field,
                reference=_json_value(f.reference),
                summary=f.summary,
                values=[
                    ValueInsightView(
                        value=_json_value(v.value),
                        effect=v.effect,
                        low=v.low,
                        high=v.high,
                        videos=v.videos,
                        p_best=v.p_best,
                    )
                    for v in f.values
                ],
            )
            for f in field_insights(estimates, default)
        ],
    )


def _json_value(value: object) -> str | int:
    """A field value as the insights document holds it: scene_count a number, others text."""
    return value if isinstance(value, int) else str(value)
