"""The additive recipe model: a Bayesian linear regression of reward on the six fields' values,
with its prior learnt from the project's own observations (empirical Bayes).

Model: a video's reward is ``mu + sum over the six fields of beta_f[value] + noise``, noise
``N(0, sigma^2)``, with a Gaussian prior ``beta ~ N(0, tau^2 I)`` on every field value (one-hot
design, one column per value of each field: 2+6+6+3+3+4 = 24 columns with the default presets) and
a flat prior on ``mu``. ``mu`` is shared by every recipe, so it never changes a choice; it is
integrated out by centring the data, which leaves a conjugate Bayesian linear regression for beta.

Empirical Bayes: ``tau^2`` and ``sigma^2`` are learnt from the project's own observations by
maximising their marginal likelihood (type-II maximum likelihood). sigma^2 is profiled out in
closed form and the ratio ``lambda = sigma^2 / tau^2`` is found on a log grid, through one
eigen-decomposition of the centred design's Gram matrix, so the fit costs microseconds. sigma^2
is then taken over the residual degrees of freedom (the videos less the fit's effective
parameters), the usual correction of the maximum-likelihood variance's downward bias. Floors
keep a degenerate fit usable (sigma >= 0.01, 0.01 <= tau <= 0.5 on the [0, 1] reward scale);
nothing is ever read from a simulator.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from learning_loop.domain.recipe import RECIPE_FIELDS, Recipe, field_values

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SIGMA_FLOOR = 0.01
TAU_FLOOR = 0.01
TAU_CEILING = 0.5
# Videos beyond one per recipe needed before the recipes' own deviations are estimated.
MIN_WITHIN_DOF = 10
# The numbers before the arrays in a stored summary.
_HEAD = 7
# lambda = sigma^2 / tau^2 searched on this log10 grid (0.05-decade steps).
_LAMBDA_GRID = np.logspace(-3.0, 6.0, 181)

Observation = tuple[Recipe, float]


@dataclass(frozen=True)
class Catalogue:
    """Every valid recipe of a preset catalogue in index space, with its one-hot design."""

    values: tuple[tuple[object, ...], ...]  # per field, in RECIPE_FIELDS order
    offsets: tuple[int, ...]  # first design column of each field
    columns: dict[tuple[int, object], int]  # (field index, value) -> design column
    strides: IntArray  # index = sum over fields of (value position * stride)
    codes: IntArray  # (recipes, 6) design column of each field of each recipe
    design: FloatArray  # (recipes, columns) one-hot
    lookup: dict[tuple[object, ...], int]  # Recipe.as_tuple() -> index

    @property
    def size(self) -> int:
        return int(self.codes.shape[0])

    def recipe(self, index: int) -> Recipe:
        row = self.codes[index]
        values = [self.values[f][int(row[f]) - self.offsets[f]] for f in range(len(RECIPE_FIELDS))]
        return Recipe(*values)  # type: ignore[arg-type]

    def index(self, recipe: Recipe) -> int | None:
        """Position of the recipe in the catalogue; None if a value is not in it."""
        return self.lookup.get(recipe.as_tuple())

    def argmax_indices(self, effects: FloatArray) -> IntArray:
        """The highest-scoring recipe of each row of effects (count, columns).

        Every combination of field values is a valid recipe and the score is additive, so the
        best recipe takes the best value of each field: no need to score all recipes.
        """
        result = np.zeros(effects.shape[0], dtype=np.int64)
        bounds = [*self.offsets, effects.shape[1]]
        for f in range(len(RECIPE_FIELDS)):
            best = np.argmax(effects[:, bounds[f] : bounds[f + 1]], axis=1)
            result += best.astype(np.int64) * self.strides[f]
        return result


@lru_cache(maxsize=8)
def catalogue(presets: tuple[str, ...]) -> Catalogue:
    values = tuple(field_values(name, presets) for name in RECIPE_FIELDS)
    columns: dict[tuple[int, object], int] = {}
    for f, vals in enumerate(values):
        for v in vals:
            columns[(f, v)] = len(columns)
    sizes = [len(v) for v in values]
    offsets = tuple(int(o) for o in np.concatenate([[0], np.cumsum(sizes)[:-1]]))
    codes = np.array(list(itertools.product(*(range(s) for s in sizes))), dtype=np.int64)
    codes = codes + np.asarray(offsets, dtype=np.int64)
    design = np.zeros((codes.shape[0], len(columns)), dtype=np.float64)
    rows = np.repeat(np.arange(codes.shape[0]), codes.shape[1])
    design[rows, codes.ravel()] = 1.0
    design.flags.writeable = False
    codes.flags.writeable = False
    strides = np.ones(len(sizes), dtype=np.int64)
    for f in range(len(sizes) - 2, -1, -1):
        strides[f] = strides[f + 1] * sizes[f + 1]
    lookup = {tuple(t): i for i, t in enumerate(itertools.product(*values))}
    return Catalogue(
        values=values,
        offsets=offsets,
        columns=columns,
        strides=strides,
        codes=codes,
        design=design,
        lookup=lookup,
    )


@lru_cache(maxsize=8)
def catalogue_hashes(presets: tuple[str, ...]) -> dict[str, int]:
    """recipe_hash -> catalogue index (computed once per catalogue; duplicate checks need it)."""
    cat = catalogue(presets)
    return {cat.recipe(i).recipe_hash: i for i in range(cat.size)}


def _catalogue_key(presets: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(presets))


@dataclass(frozen=True)
class Evidence:
    """What the model learns from, one entry per distinct recipe (catalogue index): the
    videos, and the sums of their weights, weighted rewards and weighted squared rewards.

    A video of weight w counts as an observation of noise variance sigma^2 / w (the recency
    weights of `estimates.decay_weight`; 1 for every video when nothing fades). These sums are
    sufficient: the fit needs nothing else, so the daily run stores them per recipe and a plan
    fits the model from them without reading a single video.
    """

    index: IntArray  # catalogue index of each recipe
    videos: IntArray  # rewarded videos of each recipe
    weight: FloatArray  # sum of the videos' weights
    total: FloatArray  # sum of weight * reward
    squares: FloatArray  # sum of weight * reward^2

    @property
    def n_videos(self) -> int:
        return int(self.videos.sum())

    @classmethod
    def empty(cls) -> Evidence:
        return cls(
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0),
            np.zeros(0),
            np.zeros(0),
        )


def evidence_from_videos(
    indices: Sequence[int] | IntArray,
    rewards: Sequence[float] | FloatArray,
    weights: Sequence[float] | FloatArray | None = None,
) -> Evidence:
    """The per-recipe sums of videos given as catalogue indices, rewards and weights (1 each
    when None). Videos whose index is negative (not in the catalogue) are left out."""
    idx = np.asarray(indices, dtype=np.int64)
    y = np.asarray(rewards, dtype=np.float64)
    if not np.isfinite(y).all():
        bad = y[~np.isfinite(y)][0]
        raise ValueError(f"observation rewards must be finite numbers; got {bad!r}")
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError("observation weights must be finite numbers >= 0")
    keep = (idx >= 0) & (w > 0)
    idx, y, w = idx[keep], y[keep], w[keep]
    recipes, inverse = np.unique(idx, return_inverse=True)
    count = len(recipes)
    return Evidence(
        index=recipes.astype(np.int64),
        videos=np.bincount(inverse, minlength=count).astype(np.int64),
        weight=np.bincount(inverse, weights=w, minlength=count).astype(np.float64),
        total=np.bincount(inverse, weights=w * y, minlength=count).astype(np.float64),
        squares=np.bincount(inverse, weights=w * y * y, minlength=count).astype(np.float64),
    )


@dataclass(frozen=True)
class AdditiveModel:
    """The fitted posterior of the field effects, with its empirically learnt prior.

    The expected reward of recipe r is ``intercept + (x_r - centre) @ beta``: ``intercept`` is
    the weighted mean reward (posterior variance ``sigma2 / total_weight``, independent of
    beta because the design is centred on ``centre``, the weighted mean design row).
    """

    presets: tuple[str, ...]
    tau2: float  # prior variance of every field-value effect (empirical Bayes)
    sigma2: float  # per-video reward noise variance (empirical Bayes)
    n_observations: int  # observations used (those whose recipe fits the catalogue)
    distinct_recipes: int
    mean: FloatArray  # posterior mean of the effects, one per design column
    # posterior covariance = basis @ diag(scale**2) @ basis.T
    basis: FloatArray
    scale: FloatArray
    intercept: float | None = None  # weighted mean reward; None without observations
    centre: FloatArray | None = None  # weighted mean design row
    total_weight: float = 0.0
    # Variance of a recipe's expected reward around its additive prediction (what the fields'
    # interactions add), from the videos of recipes made more than once; 0 without them.
    recipe_var: float = 0.0

    @property
    def is_informative(self) -> bool:
        """Whether there was anything to learn from (two or more distinct recipes)."""
        return self.distinct_recipes >= 2 and self.n_observations >= 3

    def effects(self) -> dict[str, dict[object, float]]:
        """Posterior mean effect of every field value (relative: only differences matter)."""
        cat = catalogue(self.presets)
        return {
            name: {v: float(self.mean[cat.columns[(f, v)]]) for v in cat.values[f]}
            for f, name in enumerate(RECIPE_FIELDS)
        }

    def mean_scores(self) -> FloatArray:
        """Posterior mean score of every recipe of the catalogue (catalogue order)."""
        scores: FloatArray = catalogue(self.presets).design @ self.mean
        return scores

    def contrast_sd(self, rows: FloatArray) -> FloatArray:
        """Posterior sd of ``rows @ beta`` for each row of ``rows`` (shape (k, columns))."""
        projected = (rows @ self.basis) * self.scale
        sd: FloatArray = np.sqrt(np.einsum("ij,ij->i", projected, projected))
        return sd

    def draw_effects(self, rng: np.random.Generator, count: int) -> FloatArray:
        """``count`` posterior draws of the effects, shape (count, columns)."""
        z = rng.standard_normal((count, self.mean.shape[0]))
        draws: FloatArray = self.mean + (z * self.scale) @ self.basis.T
        return draws

    def draw_scores(self, rng: np.random.Generator, count: int) -> FloatArray:
        """Drawn scores of every recipe, shape (count, recipes)."""
        scores: FloatArray = self.draw_effects(rng, count) @ catalogue(self.presets).design.T
        return scores


def fit_additive_model(
    observations: Sequence[Observation], presets: Sequence[str]
) -> AdditiveModel:
    """Posterior of the additive model with tau^2 and sigma^2 learnt by empirical Bayes, from
    (recipe, reward) pairs, each of weight 1.

    Observations whose recipe uses a preset outside the catalogue are left out (they cannot be
    planned again, and their other fields would be confounded with an unknown preset).
    """
    key = _catalogue_key(presets)
    cat = catalogue(key)
    rows: list[int] = []
    rewards: list[float] = []
    for recipe, reward in observations:
        value = float(reward)
        if not math.isfinite(value):
            raise ValueError(f"observation rewards must be finite numbers; got {reward!r}")
        index = cat.index(recipe)
        rows.append(-1 if index is None else index)
        rewards.append(value)
    return fit_evidence(evidence_from_videos(rows, rewards), key)


@dataclass(frozen=True)
class EvidenceSummary:
    """The evidence in field space: everything the fit needs, of a size fixed by the catalogue
    (p design columns), whatever the videos and recipes behind it. The daily run stores it per
    project, so a plan reads one row.

    With x_r the one-hot row of recipe r, W_r, Y_r, YY_r its sums (`Evidence`):
    ``gram = sum W_r x_r x_r'``, ``xw = sum W_r x_r``, ``xy = sum Y_r x_r``, and the totals;
    ``counts`` are the videos behind each design column (a field value).
    """

    presets: tuple[str, ...]
    videos: int
    distinct_recipes: int
    weight: float
    total: float
    squares: float
    # The weighted squares of the videos around their own recipe's mean, and their degrees of
    # freedom (videos minus recipes): the noise alone, whatever the recipes' means.
    within_squares: float
    within_dof: int
    xw: FloatArray
    xy: FloatArray
    counts: FloatArray
    gram: FloatArray

    @property
    def is_informative(self) -> bool:
        """Whether there is anything to compare: three videos or more, of two recipes or more
        (otherwise the fit is the prior at its floor and every estimate the mean)."""
        return self.videos >= 3 and self.distinct_recipes >= 2

    def to_bytes(self) -> bytes:
        """The numbers as float64 bytes (the presets are stored beside them). Of the Gram
        matrix only the pairs of values of two different fields are stored: within a field
        the one-hot columns never meet, so its block is the diagonal ``diag(xw)``."""
        head = np.array(
            [
                self.videos,
                self.distinct_recipes,
                self.weight,
                self.total,
                self.squares,
                self.within_squares,
                self.within_dof,
            ],
            dtype=np.float64,
        )
        rows, cols = _cross_pairs(self.presets)
        parts = [head, self.xw, self.xy, self.counts, self.gram[rows, cols]]
        return b"".join(np.ascontiguousarray(x, dtype="<f8").tobytes() for x in parts)

    @classmethod
    def from_bytes(cls, presets: Sequence[str], data: bytes) -> EvidenceSummary:
        key = _catalogue_key(presets)
        p = len(catalogue(key).columns)
        rows, cols = _cross_pairs(key)
        values = np.frombuffer(data, dtype="<f8").astype(np.float64)
        h = _HEAD
        size = h + 3 * p + len(rows)
        if values.shape[0] != size:
            raise ValueError(f"an evidence summary of {p} columns has {size} numbers")
        head = values[:h]
        xw = values[h : h + p]
        gram = _gram(key, xw, values[h + 3 * p :])
        return cls(
            presets=key,
            videos=int(head[0]),
            distinct_recipes=int(head[1]),
            weight=float(head[2]),
            total=float(head[3]),
            squares=float(head[4]),
            within_squares=float(head[5]),
            within_dof=int(head[6]),
            xw=xw,
            xy=values[h + p : h + 2 * p],
            counts=values[h + 2 * p : h + 3 * p],
            gram=gram,
        )


def _gram(presets: tuple[str, ...], xw: FloatArray, cross: FloatArray) -> FloatArray:
    """The Gram matrix from its within-field diagonal (`xw`) and its cross-field pairs."""
    rows, cols = _cross_pairs(presets)
    gram = np.diag(xw)
    gram[rows, cols] = cross
    gram[cols, rows] = cross
    return gram


@lru_cache(maxsize=8)
def _cross_pairs(presets: tuple[str, ...]) -> tuple[IntArray, IntArray]:
    """(row, column) of the Gram matrix's upper triangle where the two design columns belong to
    different fields: all a stored summary keeps of it."""
    cat = catalogue(presets)
    field_of = np.empty(len(cat.columns), dtype=np.int64)
    for (f, _), column in cat.columns.items():
        field_of[column] = f
    rows, cols = np.triu_indices(len(cat.columns), k=1)
    keep = field_of[rows] != field_of[cols]
    return rows[keep], cols[keep]


def summarise_evidence(evidence: Evidence, presets: Sequence[str]) -> EvidenceSummary:
    key = _catalogue_key(presets)
    cat = catalogue(key)
    x = cat.design[evidence.index]
    w = evidence.weight
    within = np.maximum(evidence.squares - evidence.total**2 / np.where(w > 0, w, 1.0), 0.0)
    xw = w @ x
    return EvidenceSummary(
        presets=key,
        videos=evidence.n_videos,
        distinct_recipes=len(evidence.index),
        weight=float(w.sum()),
        total=float(evidence.total.sum()),
        squares=float(evidence.squares.sum()),
        within_squares=float(within.sum()),
        within_dof=evidence.n_videos - len(evidence.index),
        xw=xw,
        xy=evidence.total @ x,
        counts=evidence.videos.astype(np.float64) @ x,
        # Built as a stored summary rebuilds it, so a plan's fit is the night's to the bit.
        gram=_gram(key, xw, ((x * w[:, None]).T @ x)[_cross_pairs(key)]),
    )


def fit_evidence(evidence: Evidence, presets: Sequence[str]) -> AdditiveModel:
    """`fit_summary` of the evidence's summary."""
    return fit_summary(summarise_evidence(evidence, presets))


def fit_summary(summary: EvidenceSummary) -> AdditiveModel:
    """Posterior of the additive model from the evidence's summary, tau^2 and sigma^2 learnt by
    empirical Bayes.

    With weights w_i the model is reward_i = mu + x_i @ beta + e_i, e_i ~ N(0, sigma^2 / w_i):
    the weighted least-squares form of the conjugate regression. The profile likelihood keeps
    n - 1 degrees of freedom (n videos), so a weighted fit with every weight 1 is the unweighted
    one.
    """
    key = summary.presets
    p = len(catalogue(key).columns)
    n = summary.videos
    distinct = summary.distinct_recipes
    total_weight = summary.weight
    intercept = summary.total / total_weight if total_weight > 0 else None
    if not summary.is_informative:
        # Nothing to compare: the prior at its floor, centred on zero.
        return AdditiveModel(
            presets=key,
            tau2=TAU_FLOOR**2,
            sigma2=SIGMA_FLOOR**2,
            n_observations=n,
            distinct_recipes=distinct,
            mean=np.zeros(p),
            basis=np.eye(p),
            scale=np.full(p, TAU_FLOOR),
            intercept=intercept,
            centre=None,
            total_weight=total_weight,
        )
    assert intercept is not None
    centre = summary.xw / total_weight
    # The centred sums: sum W_r (x_r - c)(x_r - c)', sum (x_r - c)(Y_r - W_r ybar), and the
    # weighted squares around the mean.
    gram = summary.gram - total_weight * np.outer(centre, centre)
    gram = (gram + gram.T) / 2
    d, basis = np.linalg.eigh(gram)
    d = np.clip(d, 0.0, None)
    z = basis.T @ (summary.xy - intercept * summary.xw)
    yy = max(summary.squares - total_weight * intercept * intercept, 0.0)
    dof = n - 1
    # Profile log marginal likelihood of lambda = sigma^2 / tau^2 (sigma^2 maximised out):
    # -dof/2 log(Q(lambda)/dof) - 1/2 sum log(1 + d/lambda), Q = yy - sum z^2 / (d + lambda).
    lam = _LAMBDA_GRID[:, None]
    q = np.maximum(yy - (z**2 / (d + lam)).sum(axis=1), 1e-300)
    loglik = -0.5 * dof * np.log(q / dof) - 0.5 * np.log1p(d / lam).sum(axis=1)
    # Ties (flat likelihood) go to the largest lambda: the most shrinkage.
    best = len(_LAMBDA_GRID) - 1 - int(np.argmax(loglik[::-1]))
    lam_best = float(_LAMBDA_GRID[best])
    # sigma^2 over the residual degrees of freedom: dof less what the fit spent, its effective
    # parameters sum d / (d + lambda). The maximum-likelihood Q / dof is biased low by that
    # share, which shrank every interval and hid the recipes' own deviations (recipe_var).
    # lambda, hence the posterior mean, is the maximum-likelihood one.
    spent = float((d / (d + lam_best)).sum())
    sigma2 = max(float(q[best]) / max(dof - spent, 1.0), SIGMA_FLOOR**2)
    tau2 = min(max(sigma2 / lam_best, TAU_FLOOR**2), TAU_CEILING**2)
    precision = d / sigma2 + 1.0 / tau2
    mean = basis @ ((z / sigma2) / precision)
    # What the additive fit leaves unexplained beyond the noise measured within recipes: the
    # recipes' own deviations (interactions), when enough recipes were made more than once.
    recipe_var = 0.0
    if summary.within_dof >= MIN_WITHIN_DOF:
        noise = summary.within_squares / summary.within_dof
        recipe_var = max(sigma2 - noise, 0.0)
    return AdditiveModel(
        presets=key,
        tau2=tau2,
        sigma2=sigma2,
        n_observations=n,
        distinct_recipes=distinct,
        mean=mean,
        basis=basis,
        scale=1.0 / np.sqrt(precision),
        intercept=intercept,
        centre=centre,
        total_weight=total_weight,
        recipe_var=recipe_var,
    )
