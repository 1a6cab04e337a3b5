"""Recipe estimates and field insights from the additive model fitted on the whole history.

Every rewarded video counts, weighted by its age (`decay.decay_weight`: a half-life in days, or no
fading at all), and the model (`additive_model.fit_evidence`) pools what recipes share, their
field values. From its posterior:

- each recipe of the catalogue gets ``estimate`` (its expected reward) and a 95% interval,
  ``estimate +- 1.96 sd`` with ``sd^2 = sigma^2 / W + (x_r - centre)' Cov(beta) (x_r - centre)
  + recipe_var`` (the intercept and the centred effects are independent a posteriori;
  `recipe_var` is how far recipes stray from the additive prediction: the additive fit's
  residual variance beyond the noise measured within recipes made more than once), clipped to
  [0, 1] where rewards live. A recipe never made is predicted from its fields alone;
- each field value gets its effect against the field's reference value (the project's default
  recipe's), with a 95% interval, the videos behind it, and the posterior probability that it is
  the field's best value (from `P_BEST_DRAWS` posterior draws of a fixed seed, so a report is
  reproducible);
- the recipes are ranked by estimate (`rank_recipes`): the order exploit slots and explore
  baselines take.

Guarantee (tested by simulation, `bench.learning`): the intervals cover the true expected
reward 90-98% of the time, on a channel whose truth is additive in the fields and on one whose
fields interact (where the estimates are the additive projection and `recipe_var` carries the
rest). Plug-in empirical Bayes: tau^2 and sigma^2 are point estimates, so with very few videos the
intervals are a little narrow. Without anything to compare (fewer than three videos or one
recipe), every recipe's estimate is the mean reward and its interval the whole [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from learning_loop.domain.additive_model import (
    AdditiveModel,
    Evidence,
    EvidenceSummary,
    FloatArray,
    IntArray,
    catalogue,
    catalogue_hashes,
    fit_summary,
    summarise_evidence,
)
from learning_loop.domain.batch import RankedRecipe
from learning_loop.domain.recipe import RECIPE_FIELDS, Recipe, format_field_value

Z_95 = 1.959963984540054  # the standard normal's 97.5% quantile
P_BEST_DRAWS = 4000
# Estimates are ranked to this many decimals: recipes the evidence cannot tell apart (they
# differ only in values no video has) tie exactly, whatever the rounding of the sums they came
# from (the database's or numpy's), and the tie-breaks decide.
RANK_DECIMALS = 12
_P_BEST_SEED = 20261206


@lru_cache(maxsize=8)
def _hash_rank(presets: tuple[str, ...]) -> IntArray:
    """Each catalogue recipe's position in recipe_hash order (the last tie-break)."""
    by_hash = catalogue_hashes(presets)
    rank = np.zeros(len(by_hash), dtype=np.int64)
    for position, h in enumerate(sorted(by_hash)):
        rank[by_hash[h]] = position
    rank.flags.writeable = False
    return rank


@dataclass(frozen=True)
class RecipeEstimates:
    """The model's estimates for every recipe of the catalogue (catalogue order)."""

    model: AdditiveModel
    summary: EvidenceSummary
    estimate: FloatArray | None  # None: no rewarded video at all
    low: FloatArray | None
    high: FloatArray | None
    # Rewarded videos of each recipe; None when only the summary is known (a plan of an
    # informative model needs no more).
    videos: IntArray | None

    @property
    def presets(self) -> tuple[str, ...]:
        return self.model.presets


def estimate_recipes(evidence: Evidence, presets: Sequence[str]) -> RecipeEstimates:
    """Fit the model on the evidence and estimate every recipe of the catalogue."""
    summary = summarise_evidence(evidence, presets)
    videos = np.zeros(catalogue(summary.presets).size, dtype=np.int64)
    videos[evidence.index] = evidence.videos
    return estimate_from_summary(summary, videos)


def estimate_from_summary(
    summary: EvidenceSummary, videos: IntArray | None = None
) -> RecipeEstimates:
    """Fit the model on an evidence summary and estimate every recipe of the catalogue."""
    model = fit_summary(summary)
    cat = catalogue(model.presets)
    if model.intercept is None:
        return RecipeEstimates(model, summary, None, None, None, videos)
    estimate, low, high = estimates_at(model, np.arange(cat.size))
    return RecipeEstimates(model, summary, estimate, low, high, videos)


def estimates_at(
    model: AdditiveModel, indices: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(estimate, low, high) of the recipes at these catalogue indices (see the module's
    docstring; the uninformative case: the mean, in [0, 1])."""
    count = len(indices)
    if model.intercept is None:
        raise ValueError("a model without observations estimates nothing")
    if not model.is_informative or model.centre is None:
        return np.full(count, model.intercept), np.zeros(count), np.ones(count)
    rows = catalogue(model.presets).design[indices] - model.centre
    estimate: FloatArray = model.intercept + rows @ model.mean
    sd = np.sqrt(
        model.contrast_sd(rows) ** 2 + model.sigma2 / model.total_weight + model.recipe_var
    )
    return (
        estimate,
        np.clip(estimate - Z_95 * sd, 0.0, 1.0),
        np.clip(estimate + Z_95 * sd, 0.0, 1.0),
    )


def rank_order(estimates: RecipeEstimates, default: Recipe, made_only: bool = False) -> IntArray:
    """Catalogue indices best first: estimate (desc), videos behind it (desc, where known),
    fields shared with the default recipe (desc), recipe_hash. With `made_only`, only recipes
    that have a rewarded video (which needs the videos); without any, an empty order."""
    cat = catalogue(estimates.presets)
    if estimates.estimate is None:
        return np.zeros(0, dtype=np.int64)
    default_index = cat.index(default)
    if default_index is None:
        shared = np.zeros(cat.size, dtype=np.int64)
    else:
        shared = (cat.codes == cat.codes[default_index]).sum(axis=1)
    # lexsort: the last key is the primary one.
    videos = estimates.videos if estimates.videos is not None else np.zeros(cat.size, np.int64)
    ranked = -np.round(estimates.estimate, RANK_DECIMALS)
    order = np.lexsort((_hash_rank(estimates.presets), -shared, -videos, ranked))
    if made_only:
        if estimates.videos is None:
            raise ValueError("ranking the recipes made needs each recipe's videos")
        order = order[videos[order] > 0]
    return order.astype(np.int64)


def rank_recipes(
    estimates: RecipeEstimates,
    default: Recipe,
    depth: int,
    made_only: bool = False,
) -> list[RankedRecipe]:
    """The `depth` best recipes by estimate (`rank_order`), as the planners take them.

    Without the per-recipe videos (a summary only),
    each entry's `rewarded_videos` is 0: the caller fills in those of the few ranked ones.
    """
    if estimates.estimate is None or estimates.low is None or estimates.high is None:
        return []
    cat = catalogue(estimates.presets)
    videos = estimates.videos
    result: list[RankedRecipe] = []
    for index in rank_order(estimates, default, made_only)[:depth].tolist():
        result.append(
            RankedRecipe(
                recipe=cat.recipe(index),
                avg_reward_score=None,
                times_used=0,
                estimate=round(float(estimates.estimate[index]), RANK_DECIMALS),
                estimate_low=float(estimates.low[index]),
                estimate_high=float(estimates.high[index]),
                rewarded_videos=0 if videos is None else int(videos[index]),
            )
        )
    return result


# Insights ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueInsight:
    value: object
    effect: float  # against the field's reference value
    low: float
    high: float
    videos: int
    p_best: float


@dataclass(frozen=True)
class FieldInsight:
    field: str
    reference: object
    summary: str
    values: list[ValueInsight]


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def field_insights(estimates: RecipeEstimates, default: Recipe) -> list[FieldInsight]:
    """Per field, every value of the catalogue: its effect on the expected reward against the
    reference value (the default recipe's; effect 0), a 95% interval, the videos behind it and
    the probability that it is the field's best value, with one plain sentence."""
    model = estimates.model
    cat = catalogue(model.presets)
    p = len(cat.columns)
    informative = model.is_informative
    draws = (
        model.draw_effects(np.random.default_rng(_P_BEST_SEED), P_BEST_DRAWS)
        if informative
        else None
    )
    counts_by_column = estimates.summary.counts
    insights: list[FieldInsight] = []
    for f, name in enumerate(RECIPE_FIELDS):
        values = cat.values[f]
        reference = getattr(default, name)
        ref_col = cat.columns[(f, reference)]
        cols = [cat.columns[(f, v)] for v in values]
        rows = np.zeros((len(values), p))
        for i, col in enumerate(cols):
            rows[i, col] += 1.0
            rows[i, ref_col] -= 1.0
        effect = rows @ model.mean
        sd = model.contrast_sd(rows)
        if draws is not None:
            best = np.argmax(draws[:, cols], axis=1)
            p_best = np.bincount(best, minlength=len(values)) / P_BEST_DRAWS
        else:
            p_best = np.full(len(values), 1.0 / len(values))
        counts = [int(round(counts_by_column[col])) for col in cols]
        items = [
            ValueInsight(
                value=v,
                effect=float(effect[i]) if informative else 0.0,
                low=float(effect[i] - Z_95 * sd[i]) if informative else -1.0,
                high=float(effect[i] + Z_95 * sd[i]) if informative else 1.0,
                videos=counts[i],
                p_best=float(p_best[i]),
            )
            for i, v in enumerate(values)
        ]
        summary = _summary(name, items, informative, model, rows_of=cols)
        insights.append(FieldInsight(name, reference, summary, items))
    return insights


def _summary(
    name: str,
    items: list[ValueInsight],
    informative: bool,
    model: AdditiveModel,
    rows_of: list[int],
) -> str:
    label = name.replace("_", " ")
    if not informative:
        return f"{label}: not enough rewarded videos to compare values yet"
    order = sorted(range(len(items)), key=lambda i: (-items[i].effect, -items[i].p_best))
    if len(order) < 2:
        only = format_field_value(name, items[order[0]].value)
        return f"{label}: `{only}` is the only value in the catalogue"
    first, second = order[0], order[1]
    a = format_field_value(name, items[first].value)
    b = format_field_value(name, items[second].value)
    row = np.zeros(len(model.mean))
    row[rows_of[first]] += 1.0
    row[rows_of[second]] -= 1.0
    diff = float(row @ model.mean)
    sd = float(model.contrast_sd(row[None, :])[0])
    low, high = diff - Z_95 * sd, diff + Z_95 * sd
    chance = round(100 * items[first].p_best)
    if low > 0:
        return (
            f"{label} `{a}` beats `{b}` by {_fmt(diff)} [{_fmt(low)}, {_fmt(high)}]; "
            f"{chance}% likely the best {label}"
        )
    return (
        f"{label}: no clear best yet; `{a}` leads `{b}` by {_fmt(diff)} "
        f"[{_fmt(low)}, {_fmt(high)}] ({chance}% likely the best)"
    )
