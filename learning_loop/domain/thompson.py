"""Thompson sampling over the additive recipe model (`additive_model`), the opt-in alternative
to the seed's 70/30: the policy's choice of recipes for the batch skeleton (`batch`).

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

import dataclasses
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from learning_loop.domain.additive_model import (
    AdditiveModel,
    EvidenceSummary,
    FloatArray,
    Observation,
    catalogue,
    catalogue_hashes,
    fit_additive_model,
    fit_summary,
)
from learning_loop.domain.batch import (
    BatchPlan,
    NewExperiment,
    PlannerSettings,
    Recommendation,
    SamplerState,
    UsedKeys,
    check_request,
    experiment_words,
    new_experiment_key,
    run_batch,
)
from learning_loop.domain.recipe import Recipe, format_field_value
from learning_loop.domain.sampler import plan_batch

__all__ = ["PROBABILITY_DRAWS", "Observation", "plan_batch_thompson"]

PROBABILITY_DRAWS = 200
_SEED_MODULUS = 2**64


@dataclass
class _Arm:
    ref: str
    baseline_hash: str
    variable_tested: str
    variant_value: str
    jobs: int


class _ThompsonPolicy:
    """Thompson sampling's choices for the batch skeleton."""

    def __init__(
        self,
        model: AdditiveModel,
        state: SamplerState,
        used: UsedKeys,
        rng: np.random.Generator,
        probability_rng: np.random.Generator,
        probability_draws: int,
    ) -> None:
        self.model = model
        self.cat = catalogue(model.presets)
        self.rng = rng
        self.used = used
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

    def taken(self, topic_key: str | None) -> list[int]:
        """Catalogue indices already used with this topic (existing or earlier in the batch)."""
        hashes = self.used.used_with(topic_key)
        if not hashes:
            return []
        lookup = catalogue_hashes(self.model.presets)
        return sorted(lookup[h] for h in hashes if h in lookup)

    def candidates(self, slot: int, topic_key: str | None) -> Iterator[tuple[str, int]]:
        """One posterior draw per slot: its argmax, then every recipe by drawn score."""
        effects = self.model.draw_effects(self.rng, 1)
        first = int(self.cat.argmax_indices(effects)[0])
        yield self.hash_of(first), first
        scores = self.cat.design @ effects[0]
        for index in np.argsort(-scores, kind="stable"):
            yield self.hash_of(int(index)), int(index)

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

    def commit(self, index: int, topic: str | None, topic_key: str | None) -> Recommendation:
        recipe = self.recipe(index)
        probability = self.probability(index, topic_key)
        differing = self.best.differing_fields(recipe)
        experiment: str | None = None
        if not differing:
            kind = "exploit"
            reason = "Thompson draw: the current best recipe (highest posterior mean reward)"
        elif len(differing) == 1:
            kind = "explore"
            name = differing[0]
            arm = self._arm_for(name, recipe)
            arm.jobs += 1
            experiment = arm.ref
            value = format_field_value(name, getattr(recipe, name))
            reason = (
                f"Thompson draw: tests {name}={value} against the current best "
                f"({experiment_words(arm.ref)})"
            )
        else:
            kind = "exploit"
            reason = f"Thompson draw: differs from the current best in {len(differing)} fields"
        return Recommendation(
            type=kind,
            recipe=recipe,
            recipe_hash=recipe.recipe_hash,
            topic=topic,
            topic_hash=topic_key,
            reason=f"{reason}; chosen with probability {probability:.3f}",
            experiment=experiment,
            probability=probability,
        )

    def _arm_for(self, name: str, variant: Recipe) -> _Arm:
        baseline_hash = self.best.recipe_hash
        value = format_field_value(name, getattr(variant, name))
        for arm in self.arms:
            if (arm.baseline_hash, arm.variable_tested, arm.variant_value) == (
                baseline_hash,
                name,
                value,
            ):
                return arm
        created = NewExperiment(
            key=new_experiment_key(len(self.new_experiments) + 1),
            baseline=self.best,
            variant=variant,
            variable_tested=name,
            baseline_value=format_field_value(name, getattr(self.best, name)),
            variant_value=value,
        )
        self.new_experiments.append(created)
        arm = _Arm(created.key, baseline_hash, name, value, 0)
        self.arms.append(arm)
        return arm


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
        dataclasses.replace(
            r,
            reason=f"{r.reason} (Thompson cold start: the seed policy until two recipes have "
            "rewards)",
            probability=(hits[i] + 1) / (replans + 1),
        )
        for i, r in enumerate(plan.recommendations)
    ]
    return dataclasses.replace(plan, recommendations=recommendations)


def plan_batch_thompson(
    n: int,
    topics: Sequence[str] | None,
    state: SamplerState,
    settings: PlannerSettings,
    seed: int | None = None,
    observations: Sequence[Observation] = (),
    probability_draws: int = PROBABILITY_DRAWS,
    summary: EvidenceSummary | None = None,
) -> BatchPlan:
    """Plan n recommendations by Thompson sampling; the same shapes and topic rules as plan_batch.

    The model learns from `summary` (the project's evidence, weighted to the recent) when
    given, else from `observations`, (recipe, current reward) pairs of weight 1.
    `state.running` and `state.existing_keys` are used as in the seed policy; `state.ranked` and
    `state.tested` only by the cold start (which is the seed policy's plan).
    """
    check_request(n, topics, settings)
    if (
        isinstance(probability_draws, bool)
        or not isinstance(probability_draws, int)
        or probability_draws < 1
    ):
        raise ValueError(f"probability_draws must be an integer >= 1; got {probability_draws!r}")
    model = (
        fit_additive_model(observations, settings.presets)
        if summary is None
        else fit_summary(summary)
    )
    if not model.is_informative:
        return _cold_start(n, topics, state, settings, seed, probability_draws)

    slot_seed, probability_seed = np.random.SeedSequence(
        None if seed is None else seed % _SEED_MODULUS
    ).spawn(2)
    used = UsedKeys(state.existing_keys)
    policy = _ThompsonPolicy(
        model,
        state,
        used,
        np.random.default_rng(slot_seed),
        np.random.default_rng(probability_seed),
        probability_draws,
    )
    return run_batch(n, topics, policy, used)
