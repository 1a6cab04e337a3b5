"""The pooled contrast of an experiment (contract §7): every rewarded video with either value of
the tested field, adjusted for the other five fields (`pooled_tests`, from a project's stored
evidence summary, looked at every day) and, at the final look, also for when each video was
published (`adjusted_test`, from its time cells).

**Regression adjustment.** What explains a video's reward besides its recipe takes variance out
of the contrast. A new video has no pre-period of its own (CUPED's covariate), so the covariates
are what is known before publication and cannot depend on the recipe (CUPAC's rule): the
publication weekday and the block of the day (four blocks of six hours, UTC). They enter the
weighted least-squares fit as one-hot columns beside the recipe fields. The contrast stays the
variant value's coefficient less the baseline value's; the residual variance, and with it the
standard error, loses what the weekday and the hour explain. Where they explain nothing the fit
spends ten columns (eight estimable) of hundreds of degrees of freedom: the test is the summary's
to within a rounding of its degrees of freedom.

The cells are sufficient: within a (recipe, weekday, block) cell every video has the same design
row, so the fit needs only each cell's videos and the sums of their weights, weighted rewards and
weighted squared rewards, which the database groups for it (`services.pooled`) and the simulator
groups in memory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from learning_loop.domain.additive_model import EvidenceSummary
    from learning_loop.domain.linear_sequential import ContrastTest, LeastSquares

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WEEKDAYS = 7  # Monday 0 ... Sunday 6, as Python's `weekday()`
HOURS_PER_BLOCK = 6
BLOCKS = 24 // HOURS_PER_BLOCK  # 00-06, 06-12, 12-18, 18-24 UTC
CELLS = WEEKDAYS * BLOCKS
# The time columns are used where they explain the reward: their F-test beside the recipe fields
# below this level. Elsewhere they would only cost precision (docs/decisions.md has the figures).
ADJUST_P = 0.01


def time_cells(weekdays: npt.ArrayLike, hours: npt.ArrayLike) -> IntArray:
    """The time cell of each video: its publication weekday (Monday 0) and hour (0-23, UTC)."""
    day = np.asarray(weekdays, dtype=np.int64)
    hour = np.asarray(hours, dtype=np.int64)
    if day.size and (day.min() < 0 or day.max() >= WEEKDAYS):
        raise ValueError("weekdays must be within 0..6 (Monday 0)")
    if hour.size and (hour.min() < 0 or hour.max() > 23):
        raise ValueError("hours must be within 0..23")
    cells: IntArray = day * BLOCKS + hour // HOURS_PER_BLOCK
    return cells


@dataclass(frozen=True)
class CellEvidence:
    """A project's rewarded videos grouped by (recipe, time cell): the videos and the sums of
    their weights, weighted rewards and weighted squared rewards, as `additive_model.Evidence`
    holds them per recipe."""

    index: IntArray  # catalogue index of each cell's recipe
    cell: IntArray  # its time cell (`time_cells`)
    videos: IntArray
    weight: FloatArray
    total: FloatArray
    squares: FloatArray


def cell_evidence(
    indices: npt.ArrayLike,
    cells: npt.ArrayLike,
    rewards: npt.ArrayLike,
    weights: npt.ArrayLike,
) -> CellEvidence:
    """The cells of videos given one by one (catalogue index, time cell, reward, weight); videos
    outside the catalogue (a negative index) or of weight 0 are left out."""
    idx = np.asarray(indices, dtype=np.int64)
    cell = np.asarray(cells, dtype=np.int64)
    y = np.asarray(rewards, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    keep = (idx >= 0) & (w > 0)
    idx, cell, y, w = idx[keep], cell[keep], y[keep], w[keep]
    keys, inverse = np.unique(idx * CELLS + cell, return_inverse=True)
    count = len(keys)
    return CellEvidence(
        index=(keys // CELLS).astype(np.int64),
        cell=(keys % CELLS).astype(np.int64),
        videos=np.bincount(inverse, minlength=count).astype(np.int64),
        weight=np.bincount(inverse, weights=w, minlength=count).astype(np.float64),
        total=np.bincount(inverse, weights=w * y, minlength=count).astype(np.float64),
        squares=np.bincount(inverse, weights=w * y * y, minlength=count).astype(np.float64),
    )


def adjusted_test(
    evidence: CellEvidence,
    presets: Sequence[str],
    baseline: int,
    variant: int,
    alpha: float,
) -> ContrastTest | None:
    """The pooled contrast of the variant recipe (catalogue index) against the baseline,
    adjusted for the other five fields and the publication weekday and block (the module's
    docstring): its test, or None when there is nothing to test (too few videos, or a value
    never seen)."""
    from learning_loop.domain.additive_model import catalogue
    from learning_loop.domain.linear_sequential import LeastSquares

    if len(evidence.index) == 0:
        return None
    cat = catalogue(tuple(dict.fromkeys(presets)))
    rows = len(evidence.index)
    day = np.zeros((rows, WEEKDAYS))
    day[np.arange(rows), evidence.cell // BLOCKS] = 1.0
    block = np.zeros((rows, BLOCKS))
    block[np.arange(rows), evidence.cell % BLOCKS] = 1.0
    x = np.hstack([np.ones((rows, 1)), cat.design[evidence.index], day, block])
    fields = 1 + len(cat.columns)
    gram = (x * evidence.weight[:, None]).T @ x
    xy = evidence.total @ x
    yy, n = float(evidence.squares.sum()), int(evidence.videos.sum())
    fit = LeastSquares.fit(gram, xy, yy, n)
    reduced = LeastSquares.fit(gram[:fields, :fields], xy[:fields], yy, n)
    if fit is None or reduced is None or _time_p_value(fit, reduced) >= ADJUST_P:
        return None
    contrast = np.zeros(x.shape[1])
    contrast[1 : 1 + len(cat.columns)] = cat.design[variant] - cat.design[baseline]
    return fit.test(contrast, alpha)


def _time_p_value(fit: LeastSquares, reduced: LeastSquares) -> float:
    """The F-test of the time columns: does the weekday and the block of the day explain the
    reward beyond the recipe fields? (the residual sums of squares of the two fits)."""
    from scipy import stats

    extra = reduced.dof - fit.dof
    if extra <= 0:
        return 1.0
    rss, rss_reduced = fit.s2 * fit.dof, reduced.s2 * reduced.dof
    f = max(rss_reduced - rss, 0.0) / extra / fit.s2
    return float(stats.f.sf(f, extra, fit.dof))


def pooled_tests(
    summary: EvidenceSummary,
    pairs: Sequence[tuple[int, int]],
    alpha: float,
) -> list[tuple[ContrastTest | None, bool]]:
    """The pooled, adjusted test of each of a project's running experiments, given as the
    catalogue indices of its (baseline, variant) recipes, and whether e-BH over them all rejects
    it at level alpha (contract §7).

    The test is `linear_sequential.contrast_test` of the variant's one-hot row less the
    baseline's (the tested field's two values: the other fields are the same) in the additive
    model of every rewarded video: the project's evidence summary, as the nightly run stores it,
    with an intercept. So every video with either value of the field counts, adjusted for the
    other five fields. The summary's recency weights are taken as the videos' precisions.
    """
    from learning_loop.domain.additive_model import catalogue
    from learning_loop.domain.linear_sequential import LeastSquares, e_bh

    if not pairs:
        return []
    cat = catalogue(summary.presets)
    p = len(cat.columns)
    gram = np.empty((p + 1, p + 1))
    gram[0, 0] = summary.weight
    gram[0, 1:] = summary.xw
    gram[1:, 0] = summary.xw
    gram[1:, 1:] = summary.gram
    xy = np.concatenate([[summary.total], summary.xy])
    fit = LeastSquares.fit(gram, xy, summary.squares, summary.videos)
    tests = [
        None
        if fit is None
        else fit.test(np.concatenate([[0.0], cat.design[variant] - cat.design[baseline]]), alpha)
        for baseline, variant in pairs
    ]
    e_values = [0.0 if t is None else math.exp(min(t.log_e, 700.0)) for t in tests]
    return list(zip(tests, e_bh(e_values, alpha), strict=True))
