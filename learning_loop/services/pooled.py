"""The pooled evidence of running experiments (contract §7): each experiment's pooled test from
its project's stored evidence summary, looked at every day (`pooled_evidence`), and at the final
look the contrast also adjusted for the publication weekday and hour, from the project's rewarded
videos grouped by recipe and time cell (`read_cells`, read for the projects with an experiment at
its final look; `final_look`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Integer, cast, extract, func, select, true
from sqlalchemy.orm import Session

from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.models import RecipeModel, VideoJob
from learning_loop.db.queries import chunks
from learning_loop.db.reward_history import current_rewards
from learning_loop.domain.additive_model import EvidenceSummary, catalogue
from learning_loop.domain.arms import evaluation_end
from learning_loop.domain.experiments import WITH_POOLED
from learning_loop.domain.linear_sequential import ContrastTest
from learning_loop.domain.pooled import (
    BLOCKS,
    HOURS_PER_BLOCK,
    CellEvidence,
    adjusted_test,
    pooled_tests,
)
from learning_loop.domain.recipe import RECIPE_FIELDS
from learning_loop.services.evidence import as_text, id_text, weighted_sums_query

# Each running experiment's recipes, with their fields: their rows of the catalogue.
_RECIPE_FIELDS = select(RecipeRow.id, *(getattr(RecipeRow, f) for f in RECIPE_FIELDS))


class Pair(NamedTuple):
    """An experiment's (baseline, variant) recipes as catalogue indices of its project's
    catalogue (`presets`)."""

    presets: tuple[str, ...]
    baseline: int
    variant: int


Tests = dict[uuid.UUID, tuple[ContrastTest | None, bool]]


def pooled_evidence(
    session: Session, as_of: dt.date | None, pairs: Sequence[Any]
) -> tuple[Tests, dict[uuid.UUID, Pair]]:
    """The pooled test of each running experiment of `pairs` ((Experiment, Project) rows) and
    whether e-BH over its project's running experiments rejects it (`pooled.pooled_tests` at
    ``WITH_POOLED.pooled_early * alpha``), from the project's evidence summary of `as_of` (None:
    its latest, for a listing); and the experiments' recipes in catalogue indices.

    A project whose summary is not of `as_of` (its recipe stats were not computed for the date,
    or were computed for a later one) or whose catalogue changed since gets no pooled test:
    its verdicts are the arms' alone."""
    if not pairs:
        return {}, {}
    by_project: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for experiment, project in pairs:
        by_project[project.id].append((experiment, project))
    out: Tests = {}
    indices: dict[uuid.UUID, Pair] = {}
    for part in chunks(list(by_project), 1000):
        models = {
            pid: (presets, summary)
            for pid, presets, summary in session.execute(
                select(RecipeModel.project_id, RecipeModel.presets, RecipeModel.summary).where(
                    RecipeModel.project_id.in_(list(part)),
                    RecipeModel.as_of == as_of if as_of is not None else true(),
                )
            ).tuples()
        }
        recipe_ids = {
            rid
            for pid in part
            for experiment, _ in by_project[pid]
            for rid in (experiment.baseline_recipe_id, experiment.variant_recipe_id)
        }
        fields = {
            row[0]: tuple(row[1:])
            for ids in chunks(list(recipe_ids))
            for row in session.execute(_RECIPE_FIELDS.where(RecipeRow.id.in_(list(ids))))
        }
        for pid in part:
            running = by_project[pid]
            project = running[0][1]
            key = tuple(dict.fromkeys(project.presets))
            if pid not in models or tuple(models[pid][0]) != key:
                continue
            summary = EvidenceSummary.from_bytes(key, models[pid][1])
            lookup = catalogue(key).lookup
            known = []
            for experiment, _ in running:
                b = lookup.get(fields.get(experiment.baseline_recipe_id, ()))
                v = lookup.get(fields.get(experiment.variant_recipe_id, ()))
                if b is not None and v is not None:
                    known.append((experiment.id, (b, v)))
                    indices[experiment.id] = Pair(key, b, v)
            tests = pooled_tests(
                summary, [pair for _, pair in known], project.alpha * WITH_POOLED.pooled_early
            )
            out.update((eid, test) for (eid, _), test in zip(known, tests, strict=True))
    return out, indices


def _weekday(dialect: str, stamp: Any) -> Any:
    """The weekday of a naive UTC timestamp column, Monday 0 (Python's `weekday()`)."""
    if dialect == "postgresql":
        return cast(extract("isodow", stamp), Integer) - 1
    return (cast(func.strftime("%w", stamp), Integer) + 6) % 7


def _hour(dialect: str, stamp: Any) -> Any:
    if dialect == "postgresql":
        return cast(extract("hour", stamp), Integer)
    return cast(func.strftime("%H", stamp), Integer)


def read_cells(
    session: Session, dialect: str, as_of: dt.date, projects: Sequence[Any]
) -> dict[uuid.UUID, CellEvidence]:
    """Each project's rewarded videos as of `as_of` (each one's newest reward, published by the
    end of the date, weighted by its age as the evidence is) grouped by recipe and publication
    time cell (`pooled.time_cells`): one grouped read per thousand projects."""
    cell = _weekday(dialect, VideoJob.published_at) * BLOCKS + (
        _hour(dialect, VideoJob.published_at) // HOURS_PER_BLOCK
    )
    out: dict[uuid.UUID, CellEvidence] = {}
    for part in chunks(list(projects), 1000):
        ids = [project.id for project in part]
        rows = session.execute(
            weighted_sums_query(
                dialect,
                as_of,
                current_rewards(dialect, as_of, ids),
                VideoJob.project_id.in_(ids),
                VideoJob.published_at < evaluation_end(as_of),
                by=(as_text(VideoJob.project_id), cell),
            )
        ).all()
        lookups = {
            id_text(dialect, p.id): catalogue(tuple(dict.fromkeys(p.presets))).lookup for p in part
        }
        # The projects' recipes with their fields, by id as the sums name them (text).
        index = {
            id_text(dialect, row[0]): lookups[id_text(dialect, row[1])].get(tuple(row[2:]), -1)
            for row in session.execute(
                select(
                    RecipeRow.id,
                    RecipeRow.project_id,
                    *(getattr(RecipeRow, f) for f in RECIPE_FIELDS),
                ).where(RecipeRow.project_id.in_(ids))
            )
        }
        by_project: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            if index.get(row[0], -1) >= 0:
                by_project[row[1]].append(row)
        for project in part:
            kept = by_project.get(id_text(dialect, project.id), [])
            column = list(zip(*kept, strict=True)) if kept else [()] * 7
            out[project.id] = CellEvidence(
                index=np.array([index[r] for r in column[0]], dtype=np.int64),
                cell=np.asarray(column[2], dtype=np.int64),
                videos=np.asarray(column[3], dtype=np.int64),
                weight=np.asarray(column[4], dtype=np.float64),
                total=np.asarray(column[5], dtype=np.float64),
                squares=np.asarray(column[6], dtype=np.float64),
            )
    return out


def final_look(
    cells: CellEvidence | None, pair: Pair | None, alpha: float
) -> Callable[[], ContrastTest | None] | None:
    """The supplier of an experiment's final-look contrast (`arms.verdict`'s `final`), from
    its project's cells (None: not read, or the experiment has no pooled test)."""
    if cells is None or pair is None:
        return None
    level = alpha * WITH_POOLED.pooled_final
    return lambda: adjusted_test(cells, pair.presets, pair.baseline, pair.variant, level)
