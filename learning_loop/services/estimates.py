"""Recipe estimates over the whole history (contract §4): each recipe's evidence, the additive
model fitted per project, the estimates written on the recipes, and the field insights."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import (
    Column,
    Date,
    Float,
    Integer,
    Uuid,
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
from learning_loop.db.models import Project, RecipeModel, SettledReward, VideoJob, VideoReward
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import BULK, chunks, dialect_insert
from learning_loop.db.reward_history import current_rewards
from learning_loop.db.staging import load, stage_table, staged
from learning_loop.domain.additive_model import (
    Evidence,
    EvidenceSummary,
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
# Every recipe of the projects a stats run covers, with its project and its history sums.
_ALL_EVIDENCE = select(
    RecipeRow.id,
    RecipeRow.project_id,
    *(getattr(RecipeRow, f) for f in RECIPE_FIELDS),
    RecipeRow.history_videos,
    RecipeRow.history_weight,
    RecipeRow.history_sum,
    RecipeRow.history_sumsq,
    RecipeRow.stats_as_of,
).order_by(RecipeRow.project_id, RecipeRow.id)


Sums = tuple[int, float, float, float]  # videos, and the sums of weight, w*reward, w*reward^2
_NONE: Sums = (0, 0.0, 0.0, 0.0)


def _days_from(dialect: str, day: Any, stamp: Any) -> Any:
    """Whole days from the date of `stamp` (a timestamp column) to `day` (a date)."""
    if dialect == "postgresql":
        return day - cast(stamp, Date)
    return func.julianday(day) - func.julianday(func.date(stamp))


def _day(dialect: str, day: dt.date) -> Any:
    return literal(day, Date) if dialect == "postgresql" else literal(day.isoformat())


def _weighted_sums(
    session: Session,
    dialect: str,
    as_of: dt.date,
    rewarded: Any,
    *where: Any,
) -> dict[uuid.UUID, Sums]:
    """Per recipe, over the videos of `rewarded` (a subquery of `video_id` and `reward`) that
    meet `where`: the videos and the sums of their weights, weighted rewards and weighted
    squared rewards, each video weighted ``0.5 ** (age / half_life_days)`` as of `as_of` (1
    when its project never fades evidence), age in whole days from its publication date."""
    age = _days_from(dialect, _day(dialect, as_of), VideoJob.published_at)
    weight = case(
        (Project.half_life_days.is_(None), literal(1.0, Float)),
        else_=func.exp(-_LN2 * cast(age, Float) / Project.half_life_days),
    )
    reward = rewarded.c.reward
    stmt = (
        select(
            VideoJob.recipe_id,
            func.count(),
            func.sum(weight),
            func.sum(weight * reward),
            func.sum(weight * reward * reward),
        )
        .join(rewarded, rewarded.c.video_id == VideoJob.id)
        .join(Project, Project.id == VideoJob.project_id)
        .where(VideoJob.recipe_id.is_not(None), *where)
        .group_by(VideoJob.recipe_id)
    )
    return {
        recipe_id: (int(n), float(w or 0.0), float(q or 0.0), float(r or 0.0))
        for recipe_id, n, w, q, r in session.execute(stmt).tuples()
    }


def _add(a: Sums, b: Sums, scale: float = 1.0) -> Sums:
    """`a`'s sums weighted by `scale` (its videos' weights, aged), plus `b`'s."""
    return (a[0] + b[0], a[1] * scale + b[1], a[2] * scale + b[2], a[3] * scale + b[3])


def _age_at_least_window(dialect: str, as_of: dt.date) -> Any:
    """The video was published before the window of `as_of` (its project's own length)."""
    return _days_from(dialect, _day(dialect, as_of), VideoJob.published_at) >= Project.window_days


def exact_evidence(
    session: Session, dialect: str, as_of: dt.date, ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, Sums], dict[uuid.UUID, Sums]]:
    """(evidence, history part) of every recipe of the projects `ids`, read from every video:
    the evidence is over every video published by the end of `as_of` with a reward up to it
    (its newest), the history part over those published before the window of `as_of`. What
    a run computes when its projects' history sums cannot be carried forward."""
    _, end = window_bounds(as_of, 1)
    current = current_rewards(dialect, as_of, ids)
    scope = (VideoJob.project_id.in_(list(ids)), VideoJob.published_at < end)
    every = _weighted_sums(session, dialect, as_of, current, *scope)
    history = _weighted_sums(
        session, dialect, as_of, current, *scope, _age_at_least_window(dialect, as_of)
    )
    return every, history


def carried_evidence(
    session: Session,
    dialect: str,
    as_of: dt.date,
    groups: dict[tuple[dt.date, int], list[uuid.UUID]],
    stored: dict[uuid.UUID, Sums],
    scale: dict[uuid.UUID, float],
) -> tuple[dict[uuid.UUID, Sums], dict[uuid.UUID, Sums]]:
    """(evidence, history part) as of `as_of`, carried forward from the history sums stored as
    of each project's `evidence_as_of` (`groups`: (that date, window length) -> projects): the
    stored sums weighted down to `as_of` (`scale`, per recipe), plus the videos that left the
    window since, plus the window itself (`as_of`'s reward rows, held). Reads what changed,
    never the whole history."""
    history = {rid: _add(sums, _NONE, scale[rid]) for rid, sums in stored.items()}
    for (since, length), ids in groups.items():
        # Videos published from the first day of `since`'s window to the last day before
        # `as_of`'s: in `since`'s window, out of `as_of`'s.
        first, _ = window_bounds(since, length)
        last, _ = window_bounds(as_of, length)
        if first >= last:
            continue
        for part in chunks(ids, 10_000):
            leavers = list(
                session.scalars(
                    select(VideoJob.id).where(
                        VideoJob.project_id.in_(list(part)),
                        VideoJob.published_at >= first,
                        VideoJob.published_at < last,
                    )
                )
            )
            for videos in chunks(leavers):
                current = current_rewards(dialect, as_of, list(part), list(videos))
                for rid, sums in _weighted_sums(session, dialect, as_of, current).items():
                    history[rid] = _add(history.get(rid, _NONE), sums)
    every = dict(history)
    window = (
        select(VideoReward.video_id, VideoReward.reward)
        .where(
            VideoReward.reward_date == as_of,
            VideoReward.project_id.in_([p for ids in groups.values() for p in ids]),
        )
        .subquery("window_rewards")
    )
    for rid, sums in _weighted_sums(session, dialect, as_of, window).items():
        every[rid] = _add(every.get(rid, _NONE), sums)
    return every, history


def add_history_rewards(session: Session, dialect: str, video_ids: Sequence[uuid.UUID]) -> None:
    """Add the rewards just given to videos of the history (`rewards.reward_history`) to the
    history sums of their recipes, where those sums already reach past the videos (they were
    published before the window of their project's `evidence_as_of`); the next run's carried
    evidence counts the others as videos that left the window."""
    increments: dict[uuid.UUID, Sums] = {}
    for part in chunks(list(video_ids)):
        rows = session.execute(
            select(
                VideoJob.recipe_id,
                SettledReward.reward,
                _days_from(dialect, Project.evidence_as_of, VideoJob.published_at),
                Project.evidence_window_days,
                Project.evidence_half_life_days,
            )
            .join(SettledReward, SettledReward.video_id == VideoJob.id)
            .join(Project, Project.id == VideoJob.project_id)
            .where(
                VideoJob.id.in_(list(part)),
                VideoJob.recipe_id.is_not(None),
                Project.evidence_as_of.is_not(None),
            )
        ).tuples()
        for recipe_id, reward, age, length, half_life in rows:
            if age is None or length is None or age < length:
                continue
            w = float(decay_weight(float(age), half_life))
            y = float(reward)
            increments[recipe_id] = _add(increments.get(recipe_id, _NONE), (1, w, w * y, w * y * y))
    if increments:
        recipes = RecipeRow.__table__.c
        session.connection().execute(
            update(RecipeRow.__table__)
            .where(recipes.id == bindparam("rid"))
            .values(
                history_videos=recipes.history_videos + bindparam("n"),
                history_weight=recipes.history_weight + bindparam("w"),
                history_sum=recipes.history_sum + bindparam("s"),
                history_sumsq=recipes.history_sumsq + bindparam("q"),
            ),
            [
                {"rid": rid, "n": n, "w": w, "s": s_, "q": q}
                for rid, (n, w, s_, q) in increments.items()
            ],
        )


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
    held: bool,
) -> int:
    """The whole-history evidence of every recipe of the projects whose newest stats date is
    `as_of`, and the estimates of the model fitted on it. Returns the recipes estimated.

    A project whose history sums are as of an earlier date, built with its current window and
    half-life, has them carried forward (`carried_evidence`; `held`: `as_of`'s reward rows
    are held); any other (never built, a setting changed, a backfill, or `as_of`'s rewards not
    held) is read whole once (`exact_evidence`). A date before the project's newest stats date
    changes nothing: the current estimates are those of the newest date.
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
    if ids is not None:
        scope = scope.where(Project.id.in_(list(ids)))
    projects = {row[0]: row for row in session.execute(scope)}
    recipes = (
        _ALL_EVIDENCE if ids is None else _ALL_EVIDENCE.where(RecipeRow.project_id.in_(list(ids)))
    )
    by_project: dict[uuid.UUID, list[Any]] = {}
    newest: dict[uuid.UUID, dt.date] = {}
    for row in session.execute(recipes):
        by_project.setdefault(row[1], []).append(row)
        if row.stats_as_of is not None:
            newest[row[1]] = max(newest.get(row[1], row.stats_as_of), row.stats_as_of)
    carry: dict[tuple[dt.date, int], list[uuid.UUID]] = {}
    exact: list[uuid.UUID] = []
    for pid, (_, _, window, half_life, since, built_window, built_half_life) in projects.items():
        if pid not in by_project or newest.get(pid, as_of) > as_of:
            continue  # no recipe, or a date before the project's newest stats
        if since is not None and (built_window, built_half_life) == (window, half_life):
            if as_of < since:
                continue
            if held:
                carry.setdefault((since, window), []).append(pid)
                continue
        exact.append(pid)
    stored: dict[uuid.UUID, Sums] = {}
    scale: dict[uuid.UUID, float] = {}
    for ids_ in carry.values():
        for pid in ids_:
            half_life, since = projects[pid][3], projects[pid][4]
            factor = 1.0 if half_life is None else 0.5 ** ((as_of - since).days / half_life)
            for row in by_project[pid]:
                stored[row.id] = (
                    row.history_videos,
                    row.history_weight,
                    row.history_sum,
                    row.history_sumsq,
                )
                scale[row.id] = factor
    every: dict[uuid.UUID, Sums] = {}
    history: dict[uuid.UUID, Sums] = {}
    if carry:
        every, history = carried_evidence(session, dialect, as_of, carry, stored, scale)
    for part in chunks(exact, 10_000):
        more_every, more_history = exact_evidence(session, dialect, as_of, list(part))
        every.update(more_every)
        history.update(more_history)
    estimated = 0
    changes: list[dict[str, Any]] = []
    models: list[dict[str, Any]] = []
    for pid in [*[p for ids_ in carry.values() for p in ids_], *exact]:
        presets = projects[pid][1]
        rows = [(row.id, *row[2:8], *every.get(row.id, _NONE)) for row in by_project[pid]]
        found, indices = _evidence_of(rows, presets)
        summary = summarise_evidence(found, presets)
        model = fit_summary(summary)
        known = [i for i in indices if i is not None]
        at: dict[int, tuple[float, float, float]] = {}
        if known and model.intercept is not None:
            values_at = estimates_at(model, np.asarray(known, dtype=np.int64))
            at = {
                i: (float(e), float(lo), float(hi))
                for i, e, lo, hi in zip(known, *values_at, strict=True)
            }
        models.append(
            {
                "project_id": pid,
                "as_of": as_of,
                "presets": list(summary.presets),
                "videos": summary.videos,
                "summary": summary.to_bytes(),
            }
        )
        for item, index in zip(rows, indices, strict=True):
            past = history.get(item[0], _NONE)
            values: dict[str, Any] = {
                "id": item[0],
                "evidence_videos": item[7],
                "evidence_weight": item[8] if item[7] else None,
                "evidence_sum": item[9] if item[7] else None,
                "evidence_sumsq": item[10] if item[7] else None,
                "history_videos": past[0],
                "history_weight": past[1],
                "history_sum": past[2],
                "history_sumsq": past[3],
                "estimate": None,
                "estimate_low": None,
                "estimate_high": None,
            }
            if index is not None and index in at:
                values["estimate"], values["estimate_low"], values["estimate_high"] = at[index]
                estimated += 1
            changes.append(values)
    _write_recipes(session, changes)
    done = [*[p for ids_ in carry.values() for p in ids_], *exact]
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
    Column("recipe_id", Uuid),
    *(Column(c, Integer if c.endswith("_videos") else Float) for c in WRITTEN_COLUMNS),
)


def _write_recipes(session: Session, changes: list[dict[str, Any]]) -> None:
    if not changes:
        return
    with staged(session, _ESTIMATES_STAGE) as stage:
        load(
            session,
            stage,
            list(range(len(changes))),
            [[c["id"] for c in changes], *([c[name] for c in changes] for name in WRITTEN_COLUMNS)],
        )
        session.execute(
            update(RecipeRow)
            .where(RecipeRow.id == stage.c.recipe_id)
            .values({name: stage.c[name] for name in WRITTEN_COLUMNS}),
            **BULK,
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
