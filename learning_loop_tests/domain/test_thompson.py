"""Thompson sampling planner: the seed's guarantees, probabilities, determinism, empirical Bayes."""

from __future__ import annotations

import numpy as np
import pytest

from learning_loop.domain.additive_model import TAU_FLOOR, fit_additive_model
from learning_loop.domain.additive_model import catalogue as _catalogue
from learning_loop.domain.recipe import DEFAULT_PRESETS, DEFAULT_RECIPE, RECIPE_FIELDS, Recipe
from learning_loop.domain.sampler import (
    REASON_DUPLICATE_TOPIC,
    PlannerSettings,
    RunningExperiment,
    SamplerState,
    plan_batch,
)
from learning_loop.domain.thompson import plan_batch_thompson
from learning_loop.domain.topics import topic_hash

SETTINGS = PlannerSettings()
CATALOGUE = _catalogue(DEFAULT_PRESETS)
ALL = [CATALOGUE.recipe(i) for i in range(CATALOGUE.size)]
# A hidden additive truth: one clearly best value per field.
GOOD = Recipe("VIBRANT_MOTION_GRAPHICS", "mystery", 9, "fast", "sparse", "loop")


def _truth(recipe: Recipe) -> float:
    return 0.5 + 0.06 * sum(
        1 for name in RECIPE_FIELDS if getattr(recipe, name) == getattr(GOOD, name)
    )


def _observations(n: int, seed: int = 0, noise: float = 0.1) -> list[tuple[Recipe, float]]:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(ALL), size=n)
    return [(ALL[i], _truth(ALL[i]) + noise * float(rng.standard_normal())) for i in picks]


def _state(
    running: list[RunningExperiment] | None = None,
    existing: set[tuple[str, str]] | None = None,
) -> SamplerState:
    return SamplerState(
        ranked=[],
        running=running or [],
        tested=frozenset(),
        existing_keys=frozenset(existing or set()),
    )


OBS = _observations(400)


def test_fit_recovers_the_additive_truth_and_its_best_recipe() -> None:
    model = fit_additive_model(OBS, DEFAULT_PRESETS)
    best = ALL[int(np.argmax(model.mean_scores()))]
    assert best == GOOD
    assert model.is_informative
    assert 0.02 < model.tau2**0.5 < 0.2  # effects of +-0.03 around their field mean
    assert 0.07 < model.sigma2**0.5 < 0.13  # noise sd 0.1


def test_empirical_bayes_prior_shrinks_with_weak_data() -> None:
    rng = np.random.default_rng(5)
    noise_only = [(ALL[int(i)], float(rng.random())) for i in rng.integers(0, len(ALL), 300)]
    weak = fit_additive_model(noise_only, DEFAULT_PRESETS)
    strong = fit_additive_model(OBS, DEFAULT_PRESETS)
    assert weak.tau2 < strong.tau2 / 4
    assert weak.tau2 >= TAU_FLOOR**2
    # Shrinkage: with no signal the posterior means stay near zero.
    assert float(np.abs(weak.mean).max()) < float(np.abs(strong.mean).max()) / 2


def test_fit_ignores_unknown_presets_and_rejects_non_finite_rewards() -> None:
    other = Recipe("OTHER_PRESET", "question", 7, "medium", "medium", "cliffhanger")
    model = fit_additive_model([*OBS[:50], (other, 0.9)], DEFAULT_PRESETS)
    assert model.n_observations == 50
    with pytest.raises(ValueError, match="finite"):
        fit_additive_model([(DEFAULT_RECIPE, float("nan"))], DEFAULT_PRESETS)


def test_plan_keeps_the_guarantees_and_records_probabilities() -> None:
    plan = plan_batch_thompson(40, None, _state(), SETTINGS, seed=3, observations=OBS)
    assert len(plan.recommendations) == 40
    best = ALL[int(np.argmax(fit_additive_model(OBS, DEFAULT_PRESETS).mean_scores()))]
    opened = {e.key: e for e in plan.new_experiments}
    for rec in plan.recommendations:
        assert rec.recipe.preset in DEFAULT_PRESETS
        assert rec.recipe_hash == rec.recipe.recipe_hash
        assert rec.probability is not None and 0.0 < rec.probability <= 1.0
        differing = best.differing_fields(rec.recipe)
        if len(differing) == 1:
            assert rec.type == "explore" and rec.experiment in opened
            experiment = opened[rec.experiment]
            assert experiment.baseline == best and experiment.variant == rec.recipe
            assert experiment.variable_tested == differing[0]
        else:
            assert rec.type == "exploit" and rec.experiment is None
    # One experiment per (baseline, field, value), however often the batch draws it.
    keys = [(e.baseline.recipe_hash, e.variable_tested, e.variant_value) for e in opened.values()]
    assert len(keys) == len(set(keys))
    # With this much data the best recipe is the most frequent choice.
    chosen = [r.recipe for r in plan.recommendations]
    assert max(set(chosen), key=chosen.count) == best


def test_running_experiment_is_reused_for_its_variant() -> None:
    # Data weak enough that the draws often land one field away from the best recipe.
    weak = _observations(80, seed=4, noise=0.2)
    best = ALL[int(np.argmax(fit_additive_model(weak, DEFAULT_PRESETS).mean_scores()))]
    # Every one-field neighbour of the best already has a running experiment.
    running = [
        RunningExperiment(
            id=f"exp-{name}-{value}",
            baseline=best,
            variant=best.with_field(name, value),
            variable_tested=name,
            variant_value=str(value),
            variant_jobs=2,
        )
        for name in RECIPE_FIELDS
        for value in CATALOGUE.values[RECIPE_FIELDS.index(name)]
        if value != getattr(best, name)
    ]
    plan = plan_batch_thompson(60, None, _state(running), SETTINGS, seed=1, observations=weak)
    explores = [r for r in plan.recommendations if r.type == "explore"]
    assert explores
    assert plan.new_experiments == []
    ids = {e.id: e for e in running}
    for rec in explores:
        assert rec.experiment in ids and ids[rec.experiment].variant == rec.recipe


def test_no_duplicate_topic_recipe_keys() -> None:
    # A model so sure of one recipe that every draw picks it: duplicates must divert.
    sure = _observations(3000, seed=1, noise=0.01)
    topics = ["Cats", "cats ", "Dogs", "Birds", "Fish", "Dogs"]
    existing = {(topic_hash("Birds"), GOOD.recipe_hash)}
    plan = plan_batch_thompson(
        6, topics, _state(existing=existing), SETTINGS, seed=2, observations=sure
    )
    keys = [(r.topic_hash, r.recipe_hash) for r in plan.recommendations]
    assert len(keys) == len(set(keys))
    assert not set(keys) & existing
    assert [r.topic for r in plan.recommendations] == ["Cats", "Dogs", "Birds", "Fish"]
    by_topic = {r.topic: r for r in plan.recommendations}
    assert by_topic["Cats"].recipe == GOOD
    assert by_topic["Birds"].recipe != GOOD  # the next best under the same draw
    assert 0.0 < (by_topic["Birds"].probability or 0.0) <= 1.0
    assert [s.reason for s in plan.skipped_topics] == [REASON_DUPLICATE_TOPIC] * 2
    assert plan.note is not None


def test_deterministic_for_a_seed() -> None:
    few = _observations(30, seed=9)
    a = plan_batch_thompson(10, None, _state(), SETTINGS, seed=11, observations=few)
    b = plan_batch_thompson(10, None, _state(), SETTINGS, seed=11, observations=few)
    c = plan_batch_thompson(10, None, _state(), SETTINGS, seed=12, observations=few)
    assert a == b
    assert [r.recipe for r in a.recommendations] != [r.recipe for r in c.recommendations]


def test_cold_start_is_the_seed_policy_with_probabilities() -> None:
    state = _state()
    for observations in ([], [(DEFAULT_RECIPE, 0.4), (DEFAULT_RECIPE, 0.6)]):
        plan = plan_batch_thompson(5, None, state, SETTINGS, seed=4, observations=observations)
        seed_plan = plan_batch(5, None, state, SETTINGS, seed=4)
        assert [r.recipe for r in plan.recommendations] == [
            r.recipe for r in seed_plan.recommendations
        ]
        assert [r.type for r in plan.recommendations] == [r.type for r in seed_plan.recommendations]
        assert plan.new_experiments == seed_plan.new_experiments
        assert all(0.0 < (r.probability or 0.0) <= 1.0 for r in plan.recommendations)
        assert all("cold start" in r.reason for r in plan.recommendations)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="n must be"):
        plan_batch_thompson(0, None, _state(), SETTINGS, seed=1, observations=OBS)
    with pytest.raises(ValueError, match="topics must be a list"):
        plan_batch_thompson(1, "cats", _state(), SETTINGS, seed=1, observations=OBS)
    with pytest.raises(ValueError, match="probability_draws"):
        plan_batch_thompson(1, None, _state(), SETTINGS, 1, OBS, probability_draws=0)


def test_recorded_probability_matches_the_frequency_of_the_choice() -> None:
    # A fixed posterior where several recipes have a real chance: 160 noisy observations.
    observations = _observations(160, seed=3)
    seeds, draws = 2000, 200
    chosen: dict[str, int] = {}
    recorded: dict[str, list[float]] = {}
    for seed in range(seeds):
        plan = plan_batch_thompson(
            1, None, _state(), SETTINGS, seed, observations, probability_draws=draws
        )
        (rec,) = plan.recommendations
        assert rec.probability is not None
        chosen[rec.recipe_hash] = chosen.get(rec.recipe_hash, 0) + 1
        recorded.setdefault(rec.recipe_hash, []).append(rec.probability)
    frequent = [h for h, count in chosen.items() if count >= 0.05 * seeds]
    assert len(frequent) >= 3
    for h in frequent:
        count = chosen[h]
        frequency = count / seeds
        mean_recorded = float(np.mean(recorded[h]))
        # Both estimate the same probability p: the frequency from `seeds` independent slots,
        # each recorded value as (k + 1) / (draws + 1), k ~ Binomial(draws, p), from draws of
        # its own; four standard errors of the difference, plus the (+1) bias of at most
        # 1 / (draws + 1).
        variance = frequency * (1 - frequency)
        se = (variance / seeds + variance / (draws * count)) ** 0.5
        assert abs(frequency - mean_recorded) <= 4 * se + 1 / (draws + 1), (h, count)
