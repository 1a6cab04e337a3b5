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
eigen-decomposition of the centred design's Gram matrix, so the fit costs microseconds. Floors
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
class AdditiveModel:
    """The fitted posterior of the field effects, with its empirically learnt prior."""

    presets: tuple[str, ...]
    tau2: float  # prior variance of every field-value effect (empirical Bayes)
    sigma2: float  # per-video reward noise variance (empirical Bayes)
    n_observations: int  # observations used (those whose recipe fits the catalogue)
    distinct_recipes: int
    mean: FloatArray  # posterior mean of the effects, one per design column
    # posterior covariance = basis @ diag(scale**2) @ basis.T
    basis: FloatArray
    scale: FloatArray

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
    """Posterior of the additive model with tau^2 and sigma^2 learnt by empirical Bayes.

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
        if index is not None:
            rows.append(index)
            rewards.append(value)
    n = len(rows)
    p = len(cat.columns)
    distinct = len(set(rows))
    if n < 3 or distinct < 2:
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
        )
    x = cat.design[np.asarray(rows, dtype=np.int64)]
    y = np.asarray(rewards, dtype=np.float64)
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    gram = xc.T @ xc
    d, basis = np.linalg.eigh(gram)
    d = np.clip(d, 0.0, None)
    z = basis.T @ (xc.T @ yc)
    yy = float(yc @ yc)
    dof = n - 1
    # Profile log marginal likelihood of lambda = sigma^2 / tau^2 (sigma^2 maximised out):
    # -dof/2 log(Q(lambda)/dof) - 1/2 sum log(1 + d/lambda), Q = yy - sum z^2 / (d + lambda).
    lam = _LAMBDA_GRID[:, None]
    q = np.maximum(yy - (z**2 / (d + lam)).sum(axis=1), 1e-300)
    loglik = -0.5 * dof * np.log(q / dof) - 0.5 * np.log1p(d / lam).sum(axis=1)
    # Ties (flat likelihood) go to the largest lambda: the most shrinkage.
    best = len(_LAMBDA_GRID) - 1 - int(np.argmax(loglik[::-1]))
    sigma2 = max(float(q[best]) / dof, SIGMA_FLOOR**2)
    tau2 = min(max(sigma2 / float(_LAMBDA_GRID[best]), TAU_FLOOR**2), TAU_CEILING**2)
    precision = d / sigma2 + 1.0 / tau2
    mean = basis @ ((z / sigma2) / precision)
    return AdditiveModel(
        presets=key,
        tau2=tau2,
        sigma2=sigma2,
        n_observations=n,
        distinct_recipes=distinct,
        mean=mean,
        basis=basis,
        scale=1.0 / np.sqrt(precision),
    )
