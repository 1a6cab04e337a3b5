"""Thompson sampling over an additive recipe model, the opt-in alternative to the seed's 70/30.

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

A plan: each slot draws beta from the posterior, takes the valid recipe with the highest drawn
score (all recipes of the catalogue, vectorised), or the next best under the same draw when that
topic+recipe already exists. Relative to the current best (the recipe with the highest posterior
mean score) the choice is ``exploit`` when it is the best, ``explore`` with an experiment when it
differs in exactly one field (the running experiment with that baseline, field and value, or a new
one), and otherwise ``exploit`` with reason "Thompson draw" (no experiment: several fields differ).
Experiments here are the record of what was tried against the best, not the exploration budget, so
``max_running_experiments`` does not limit them (that would break the one-field-is-tracked
promise); ``explore_rate`` and ``top_k`` do not apply.

Probability: each recommendation records the probability that the policy picks its recipe for its
slot, estimated with ``probability_draws`` (200) extra posterior draws as ``(k + 1) / (M + 1)``,
``k`` the number of extra draws whose choice (argmax, skipping the recipes already taken for the
topic) is that recipe. The ``+ 1`` counts the draw that did choose it, so the estimate is in
(0, 1]; its resolution is about 1/M.

Cold start: with fewer than two distinct recipes among the observations there is nothing to
learn a prior from, so the plan is the seed policy's (``plan_batch``, which starts from the
project's default recipe and its one-field mutations), with each recommendation's probability
estimated the same way from ``probability_draws // 2`` re-plans with other RNG seeds.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from learning_loop.domain.recipe import RECIPE_FIELDS, Recipe, field_values, format_field_value
from learning_loop.domain.sampler import (
    N_MAX,
    N_MIN,
    REASON_NO_CANDIDATE,
    BatchPlan,
    NewExperiment,
    PlannerSettings,
    Recommendation,
    SamplerState,
    SkippedTopic,
    admit_topic,
    finish_batch,
    plan_batch,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PROBABILITY_DRAWS = 200
SIGMA_FLOOR = 0.01
TAU_FLOOR = 0.01
TAU_CEILING = 0.5
# lambda = sigma^2 / tau^2 searched on this log10 grid (0.05-decade steps).
_LAMBDA_GRID = np.logspace(-3.0, 6.0, 181)
_SEED_MODULUS = 2**64

Observation = tuple[Recipe, float]


@dataclass(frozen=True)
class _Catalogue:
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
def _catalogue(presets: tuple[str, ...]) -> _Catalogue:
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
    return _Catalogue(
        values=values,
        offsets=offsets,
        columns=columns,
        strides=strides,
        codes=codes,
        design=design,
        lookup=lookup,
    )


@lru_cache(maxsize=8)
def _catalogue_hashes(presets: tuple[str, ...]) -> dict[str, int]:
    """recipe_hash -> catalogue index (computed once per catalogue; duplicate checks need it)."""
    cat = _catalogue(presets)
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
        cat = _catalogue(self.presets)
        return {
            name: {v: float(self.mean[cat.columns[(f, v)]]) for v in cat.values[f]}
            for f, name in enumerate(RECIPE_FIELDS)
        }

    def mean_scores(self) -> FloatArray:
        """Posterior mean score of every recipe of the catalogue (catalogue order)."""
        scores: FloatArray = _catalogue(self.presets).design @ self.mean
        return scores

    def draw_effects(self, rng: np.random.Generator, count: int) -> FloatArray:
        """``count`` posterior draws of the effects, shape (count, columns)."""
        z = rng.standard_normal((count, self.mean.shape[0]))
        draws: FloatArray = self.mean + (z * self.scale) @ self.basis.T
        return draws

    def draw_scores(self, rng: np.random.Generator, count: int) -> FloatArray:
        """Drawn scores of every recipe, shape (count, recipes)."""
        scores: FloatArray = self.draw_effects(rng, count) @ _catalogue(self.presets).design.T
        return scores


def fit_additive_model(
    observations: Sequence[Observation], presets: Sequence[str]
) -> AdditiveModel:
    """Posterior of the additive model with tau^2 and sigma^2 learnt by empirical Bayes.

    Observations whose recipe uses a preset outside the catalogue are left out (they cannot be
    planned again, and their other fields would be confounded with an unknown preset).
    """
    key = _catalogue_key(presets)
    cat = _catalogue(key)
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


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not N_MIN <= n <= N_MAX:
        raise ValueError(f"n must be an integer from {N_MIN} to {N_MAX}; got {n!r}")


def _generator(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(None if seed is None else seed % _SEED_MODULUS)


@dataclass
class _Arm:
    ref: str
    baseline_hash: str
    variable_tested: str
    variant_value: str
    jobs: int


class _ThompsonPlanner:
    def __init__(
        self,
        model: AdditiveModel,
        state: SamplerState,
        rng: np.random.Generator,
        probability_rng: np.random.Generator,
        probability_draws: int,
    ) -> None:
        self.model = model
        self.cat = _catalogue(model.presets)
        self.rng = rng
        self.existing_keys = state.existing_keys
        self.batch_keys: set[tuple[str, str]] = set()
        self.arms: list[_Arm] = [
            _Arm(e.id, e.baseline.recipe_hash, e.variable_tested, e.variant_value, e.variant_jobs)
            for e in state.running
        ]
        self.new_experiments: list[NewExperiment] = []
        self.best_index = int(self.cat.argmax_indices(model.mean[None, :])[0])
        self.best = self.cat.recipe(self.best_index)
        self.extra_effects = model.draw_effects(probability_rng, probability_draws)
        self.extra_argmax = self.cat.argmax_indices(self.extra_effects)
        self.extra_count = probability_draws
        self._extra_scores: FloatArray | None = None
        self._recipes: dict[int, Recipe] = {self.best_index: self.best}
        self._hashes: dict[int, str] = {}

    def recipe(self, index: int) -> Recipe:
        recipe = self._recipes.get(index)
        if recipe is None:
            recipe = self.cat.recipe(index)
            self._recipes[index] = recipe
        return recipe

    def hash_of(self, index: int) -> str:
        value = self._hashes.get(index)
        if value is None:
            value = self.recipe(index).recipe_hash
            self._hashes[index] = value
        return value

    def is_free(self, topic_key: str | None, index: int) -> bool:
        if topic_key is None:
            return True
        key = (topic_key, self.hash_of(index))
        return key not in self.existing_keys and key not in self.batch_keys

    def taken(self, topic_key: str | None) -> list[int]:
        """Catalogue indices already used with this topic (existing or earlier in the batch)."""
        if topic_key is None:
            return []
        hashes = {h for t, h in self.existing_keys if t == topic_key}
        hashes.update(h for t, h in self.batch_keys if t == topic_key)
        if not hashes:
            return []
        lookup = _catalogue_hashes(self.model.presets)
        return sorted(lookup[h] for h in hashes if h in lookup)

    def choose(self, topic_key: str | None) -> int | None:
        effects = self.model.draw_effects(self.rng, 1)
        first = int(self.cat.argmax_indices(effects)[0])
        if self.is_free(topic_key, first):
            return first
        scores = self.cat.design @ effects[0]
        for index in np.argsort(-scores, kind="stable"):
            if self.is_free(topic_key, int(index)):
                return int(index)
        return None

    def probability(self, index: int, topic_key: str | None) -> float:
        taken = self.taken(topic_key)
        if taken:
            if self._extra_scores is None:
                self._extra_scores = self.extra_effects @ self.cat.design.T
            masked = self._extra_scores.copy()
            masked[:, taken] = -np.inf
            hits = int(np.count_nonzero(np.argmax(masked, axis=1) == index))
        else:
            hits = int(np.count_nonzero(self.extra_argmax == index))
        return (hits + 1) / (self.extra_count + 1)

    def fill(self, topic: str | None, topic_key: str | None) -> Recommendation | None:
        index = self.choose(topic_key)
        if index is None:
            return None
        recipe = self.recipe(index)
        probability = self.probability(index, topic_key)
        differing = self.best.differing_fields(recipe)
        experiment: str | None = None
        if not differing:
            slot = "exploit"
            reason = "Thompson draw: the current best recipe (highest posterior mean reward)"
        elif len(differing) == 1:
            slot = "explore"
            name = differing[0]
            arm, opened = self._arm_for(name, recipe)
            arm.jobs += 1
            experiment = arm.ref
            value = format_field_value(name, getattr(recipe, name))
            reason = f"Thompson draw: tests {name}={value} against the current best" + (
                f" (new experiment {arm.ref})" if opened else f" (experiment {arm.ref})"
            )
        else:
            slot = "exploit"
            reason = f"Thompson draw: differs from the current best in {len(differing)} fields"
        if topic_key is not None:
            self.batch_keys.add((topic_key, recipe.recipe_hash))
        return Recommendation(
            type=slot,
            recipe=recipe,
            recipe_hash=recipe.recipe_hash,
            topic=topic,
            topic_hash=topic_key,
            reason=f"{reason}; chosen with probability {probability:.3f}",
            experiment=experiment,
            probability=probability,
        )

    def _arm_for(self, name: str, variant: Recipe) -> tuple[_Arm, bool]:
        baseline_hash = self.best.recipe_hash
        value = format_field_value(name, getattr(variant, name))
        for arm in self.arms:
            if (arm.baseline_hash, arm.variable_tested, arm.variant_value) == (
                baseline_hash,
                name,
                value,
            ):
                return arm, False
        created = NewExperiment(
            key=f"new-{len(self.new_experiments) + 1}",
            baseline=self.best,
            variant=variant,
            variable_tested=name,
            baseline_value=format_field_value(name, getattr(self.best, name)),
            variant_value=value,
        )
        self.new_experiments.append(created)
        arm = _Arm(created.key, baseline_hash, name, value, 0)
        self.arms.append(arm)
        return arm, True


def _cold_start(
    n: int,
    topics: Sequence[str] | None,
    state: SamplerState,
    settings: PlannerSettings,
    seed: int | None,
    probability_draws: int,
) -> BatchPlan:
    """The seed policy's plan, with probabilities estimated from re-plans with other seeds."""
    plan = plan_batch(n, topics, state, settings, seed)
    replans = max(1, probability_draws // 2)
    stream = random.Random(seed)
    hits = [0] * len(plan.recommendations)
    for _ in range(replans):
        other = plan_batch(n, topics, state, settings, stream.getrandbits(63))
        for i, (mine, theirs) in enumerate(
            zip(plan.recommendations, other.recommendations, strict=False)
        ):
            if mine.recipe_hash == theirs.recipe_hash and mine.topic_hash == theirs.topic_hash:
                hits[i] += 1
    recommendations = [
        Recommendation(
            type=r.type,
            recipe=r.recipe,
            recipe_hash=r.recipe_hash,
            topic=r.topic,
            topic_hash=r.topic_hash,
            reason=f"{r.reason} (Thompson cold start: the seed policy until two recipes have "
            "rewards)",
            experiment=r.experiment,
            probability=(hits[i] + 1) / (replans + 1),
        )
        for i, r in enumerate(plan.recommendations)
    ]
    return BatchPlan(
        recommendations=recommendations,
        skipped_topics=plan.skipped_topics,
        new_experiments=plan.new_experiments,
        requested=plan.requested,
        note=plan.note,
    )


def plan_batch_thompson(
    n: int,
    topics: Sequence[str] | None,
    state: SamplerState,
    settings: PlannerSettings,
    seed: int | None = None,
    observations: Sequence[Observation] = (),
    probability_draws: int = PROBABILITY_DRAWS,
) -> BatchPlan:
    """Plan n recommendations by Thompson sampling; the same shapes and topic rules as plan_batch.

    `observations` are (recipe, current reward) pairs of the project's rewarded videos.
    `state.running` and `state.existing_keys` are used as in the seed policy; `state.ranked` and
    `state.tested` only by the cold start (which is the seed policy's plan).
    """
    _check_n(n)
    settings.validate()
    if isinstance(topics, str):
        raise ValueError("topics must be a list of topics, not a single string")
    if (
        isinstance(probability_draws, bool)
        or not isinstance(probability_draws, int)
        or probability_draws < 1
    ):
        raise ValueError(f"probability_draws must be an integer >= 1; got {probability_draws!r}")
    model = fit_additive_model(observations, settings.presets)
    if not model.is_informative:
        return _cold_start(n, topics, state, settings, seed, probability_draws)

    slot_seed, probability_seed = np.random.SeedSequence(
        None if seed is None else seed % _SEED_MODULUS
    ).spawn(2)
    planner = _ThompsonPlanner(
        model,
        state,
        np.random.default_rng(slot_seed),
        np.random.default_rng(probability_seed),
        probability_draws,
    )
    recommendations: list[Recommendation] = []
    skipped: list[SkippedTopic] = []
    topic_list = list(topics) if topics else []
    next_topic = 0
    seen_topics: set[str] = set()
    for _ in range(n):
        if not topic_list:
            made = planner.fill(None, None)
            assert made is not None  # without a topic the argmax is always free
            recommendations.append(made)
            continue
        placed = False
        while next_topic < len(topic_list):
            raw = topic_list[next_topic]
            next_topic += 1
            admitted = admit_topic(raw, seen_topics, skipped)
            if admitted is None:
                continue
            text, key = admitted
            made = planner.fill(text, key)
            if made is None:
                skipped.append(SkippedTopic(topic=raw, reason=REASON_NO_CANDIDATE))
                continue
            recommendations.append(made)
            placed = True
            break
        if not placed:
            break

    return finish_batch(n, recommendations, skipped, planner.new_experiments, len(topic_list))
