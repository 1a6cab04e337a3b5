"""Recipe estimates over the whole history (contract §4): each recipe's evidence, the additive
model fitted per project, the estimates written on the recipes, and the field insights."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Date, Float, bindparam, case, cast, func, literal, select, update
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import Project, RecipeModel, VideoJob
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import BULK, dialect_insert
from learning_loop.db.reward_history import current_rewards
from learning_loop.domain.additive_model import Evidence, EvidenceSummary, catalogue
from learning_loop.domain.estimates import (
    RecipeEstimates,
    estimate_from_summary,
    estimate_recipes,
    field_insights,
)
from learning_loop.domain.recipe import RECIPE_FIELDS, Recipe
from learning_loop.domain.rewards import window_bounds
from learning_loop.services.projects import get_project
from learning_loop.services.views import FieldInsightView, InsightsView, ValueInsightView

_LN2 = math.log(2.0)

# A project's recipes with their evidence: what a fit reads.
_EVIDENCE = select(
    RecipeRow.id,
    *(getattr(RecipeRow, f) for f in RECIPE_FIELDS),
    RecipeRow.evidence_videos,
    RecipeRow.evidence_weight,
    RecipeRow.evidence_sum,
    RecipeRow.evidence_sumsq,
    RecipeRow.stats_as_of,
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
# Every recipe of the projects a stats run covers, with its project (the same columns, the
# project's id second).
_ALL_EVIDENCE = select(
    RecipeRow.id,
    RecipeRow.project_id,
    *(getattr(RecipeRow, f) for f in RECIPE_FIELDS),
    RecipeRow.evidence_videos,
    RecipeRow.evidence_weight,
    RecipeRow.evidence_sum,
    RecipeRow.evidence_sumsq,
    RecipeRow.stats_as_of,
).order_by(RecipeRow.project_id, RecipeRow.id)


def _age_days(dialect: str, as_of: dt.date) -> Any:
    """Whole days from each video's publication date to `as_of`."""
    if dialect == "postgresql":
        return literal(as_of, Date) - cast(VideoJob.published_at, Date)
    return func.julianday(literal(as_of.isoformat())) - func.julianday(
        func.date(VideoJob.published_at)
    )


def history_evidence(
    session: Session, dialect: str, as_of: dt.date, ids: Sequence[uuid.UUID] | None
) -> dict[uuid.UUID, tuple[int, float, float, float]]:
    """Per recipe, over every video published by the end of `as_of` with a reward up to it
    (its newest): the videos, and the sums of the weights, weighted rewards and weighted
    squared rewards, each video weighted ``0.5 ** (age / half_life_days)`` (1 when its project
    never fades evidence), age in whole days from its publication date to `as_of`."""
    _, end = window_bounds(as_of, 1)
    current = current_rewards(dialect, as_of, ids)
    weight = case(
        (Project.half_life_days.is_(None), literal(1.0, Float)),
        else_=func.exp(-_LN2 * cast(_age_days(dialect, as_of), Float) / Project.half_life_days),
    )
    reward = current.c.reward
    stmt = (
        select(
            VideoJob.recipe_id,
            func.count(),
            func.sum(weight),
            func.sum(weight * reward),
            func.sum(weight * reward * reward),
        )
        .join(current, current.c.video_id == VideoJob.id)
        .join(Project, Project.id == VideoJob.project_id)
        .where(VideoJob.recipe_id.is_not(None), VideoJob.published_at < end)
        .group_by(VideoJob.recipe_id)
    )
    if ids is not None:
        stmt = stmt.where(VideoJob.project_id.in_(list(ids)))
    return {
        recipe_id: (int(n), float(w or 0.0), float(s or 0.0), float(q or 0.0))
        for recipe_id, n, w, s, q in session.execute(stmt).tuples()
    }


def _evidence_of(rows: Sequence[Any], presets: Sequence[str]) -> tuple[Evidence, list[int | None]]:
    """The Evidence of recipe rows (of `_EVIDENCE`), and each row's catalogue index (None for
    a recipe outside the catalogue, which the model leaves out)."""
    cat = catalogue(tuple(dict.fromkeys(presets)))
    indices: list[int | None] = [cat.index(Recipe(*row[1:7])) for row in rows]
    used = [i for i, index in enumerate(indices) if index is not None and rows[i][7] > 0]
    evidence = Evidence(
        index=np.asarray([indices[i] for i in used], dtype=np.int64),
        videos=np.asarray([rows[i][7] for i in used], dtype=np.int64),
        weight=np.asarray([rows[i][8] or 0.0 for i in used]),
        total=np.asarray([rows[i][9] or 0.0 for i in used]),
        squares=np.asarray([rows[i][10] or 0.0 for i in used]),
    )
    order = np.argsort(evidence.index, kind="stable")
    sorted_evidence = Evidence(
        index=evidence.index[order],
        videos=evidence.videos[order],
        weight=evidence.weight[order],
        total=evidence.total[order],
        squares=evidence.squares[order],
    )
    return sorted_evidence, indices


def write_estimates(
    session: Session,
    dialect: str,
    as_of: dt.date,
    ids: Sequence[uuid.UUID] | None,
) -> int:
    """The whole-history evidence of every recipe of the projects whose newest stats date is
    `as_of`, and the estimates of the model fitted on it. Returns the recipes estimated."""
    evidence = history_evidence(session, dialect, as_of, ids)
    scope = (
        select(Project.id, Project.presets).order_by(Project.id)
        if ids is None
        else select(Project.id, Project.presets).where(Project.id.in_(list(ids)))
    )
    presets_of = dict(session.execute(scope).tuples().all())
    recipes = (
        _ALL_EVIDENCE if ids is None else _ALL_EVIDENCE.where(RecipeRow.project_id.in_(list(ids)))
    )
    by_project: dict[uuid.UUID, list[Any]] = {}
    for row in session.execute(recipes):
        # Only where this date is the recipes' newest stats date (a replayed past date leaves
        # the current estimates alone, like the stats themselves).
        if row[12] is None or row[12] <= as_of:
            fresh = evidence.get(row[0], (0, 0.0, 0.0, 0.0))
            by_project.setdefault(row[1], []).append((row[0], *row[2:8], *fresh, row[12]))
    estimated = 0
    changes: list[dict[str, Any]] = []
    models: list[dict[str, Any]] = []
    for project_id, rows in by_project.items():
        presets = presets_of[project_id]
        found, indices = _evidence_of(rows, presets)
        estimates = estimate_recipes(found, presets)
        models.append(
            {
                "project_id": project_id,
                "as_of": as_of,
                "presets": list(estimates.presets),
                "videos": estimates.summary.videos,
                "summary": estimates.summary.to_bytes(),
            }
        )
        for row, index in zip(rows, indices, strict=True):
            values: dict[str, Any] = {
                "id": row[0],
                "evidence_videos": row[7],
                "evidence_weight": row[8] if row[7] else None,
                "evidence_sum": row[9] if row[7] else None,
                "evidence_sumsq": row[10] if row[7] else None,
                "estimate": None,
                "estimate_low": None,
                "estimate_high": None,
            }
            if (
                index is not None
                and estimates.estimate is not None
                and estimates.low is not None
                and estimates.high is not None
            ):
                values["estimate"] = float(estimates.estimate[index])
                values["estimate_low"] = float(estimates.low[index])
                values["estimate_high"] = float(estimates.high[index])
                estimated += 1
            changes.append(values)
    if changes:
        session.execute(update(RecipeRow), changes, **BULK)
    if models:
        stmt = dialect_insert(session, RecipeModel.__table__)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["project_id"],
                set_={c: stmt.excluded[c] for c in ("as_of", "presets", "videos", "summary")},
            ),
            models,
        )
    return estimated


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
        if summary.videos >= 3 and summary.distinct_recipes >= 2:
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
            select(func.max(RecipeRow.stats_as_of)).where(RecipeRow.project_id == project.id)
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
