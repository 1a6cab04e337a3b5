"""Recipe estimates and field insights: checked against a closed form computed another way, and
their intervals' coverage by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import linalg

from learning_loop.domain.additive_model import (
    EvidenceSummary,
    catalogue,
    evidence_from_videos,
    fit_additive_model,
    fit_evidence,
    summarise_evidence,
)
from learning_loop.domain.decay import decay_weight
from learning_loop.domain.estimates import (
    Z_95,
    estimate_from_summary,
    estimate_recipes,
    field_insights,
    rank_order,
    rank_recipes,
)
from learning_loop.domain.recipe import DEFAULT_PRESETS, DEFAULT_RECIPE, RECIPE_FIELDS

CAT = catalogue(DEFAULT_PRESETS)


def _channel(n: int, seed: int, effect_sd: float = 0.05, noise_sd: float = 0.15):
    """Videos of random recipes on an additive truth; returns indices, rewards, truth."""
    rng = np.random.default_rng(seed)
    beta = effect_sd * rng.standard_normal(CAT.design.shape[1])
    truth = 0.5 + CAT.design @ beta
    picks = rng.integers(0, CAT.size, size=n)
    rewards = truth[picks] + noise_sd * rng.standard_normal(n)
    return picks, rewards, truth


def _oracle(picks, rewards, weights, tau2, sigma2):
    """The posterior of (mu, beta) by data augmentation: weighted rows sqrt(w)/sigma [1, x] -> y,
    prior rows e_j / tau -> 0 (mu unpenalised), solved by least squares (no centring, no
    eigen-decomposition). Returns the estimates and sds of every catalogue recipe."""
    x = np.hstack([np.ones((len(picks), 1)), CAT.design[picks]])
    scale = np.sqrt(weights / sigma2)
    p = CAT.design.shape[1]
    prior = np.hstack([np.zeros((p, 1)), np.eye(p) / math.sqrt(tau2)])
    a = np.vstack([x * scale[:, None], prior])
    b = np.concatenate([rewards * scale, np.zeros(p)])
    theta, *_ = linalg.lstsq(a, b)
    cov = linalg.inv(a.T @ a)
    rows = np.hstack([np.ones((CAT.size, 1)), CAT.design])
    return rows @ theta, np.sqrt(np.einsum("ij,jk,ik->i", rows, cov, rows))


@pytest.mark.parametrize("weighted", [False, True])
def test_estimates_match_the_closed_form_of_the_posterior(weighted):
    picks, rewards, _ = _channel(300, seed=1)
    rng = np.random.default_rng(2)
    weights = decay_weight(rng.integers(0, 400, size=300).astype(float), 90) if weighted else None
    found = estimate_recipes(evidence_from_videos(picks, rewards, weights), DEFAULT_PRESETS)
    model = found.model
    w = np.ones(300) if weights is None else weights
    mean, sd = _oracle(picks, rewards, w, model.tau2, model.sigma2)
    assert found.estimate is not None and found.low is not None and found.high is not None
    assert np.allclose(found.estimate, mean, atol=1e-9)
    # The interval is +-1.96 sd, clipped to [0, 1], sd with the recipes' own deviation added.
    sd = np.sqrt(sd**2 + model.recipe_var)
    assert np.allclose(found.low, np.clip(mean - Z_95 * sd, 0, 1), atol=1e-9)
    assert np.allclose(found.high, np.clip(mean + Z_95 * sd, 0, 1), atol=1e-9)


def test_a_fit_with_every_weight_one_is_the_unweighted_fit():
    picks, rewards, _ = _channel(200, seed=3)
    recipes = [CAT.recipe(int(i)) for i in picks]
    plain = fit_additive_model(list(zip(recipes, rewards, strict=True)), DEFAULT_PRESETS)
    ones = fit_evidence(evidence_from_videos(picks, rewards, np.ones(200)), DEFAULT_PRESETS)
    assert plain.tau2 == pytest.approx(ones.tau2) and plain.sigma2 == pytest.approx(ones.sigma2)
    assert np.allclose(plain.mean_scores(), ones.mean_scores(), atol=1e-12)


@pytest.mark.parametrize("seed", [12, 13])
def test_the_noise_variance_is_over_the_residual_degrees_of_freedom(seed):
    """sigma^2 = Q / (n - trace(H)) at the fitted lambda: Q the penalised residual sum of
    squares and H the hat matrix of the ridge fit with an unpenalised intercept, computed here
    by scipy on the uncentred design with data augmentation (no eigen-decomposition). On clear
    effects it tends to the least-squares RSS / (n - rank)."""
    picks, rewards, _ = _channel(300, seed=seed)
    model = fit_evidence(evidence_from_videos(picks, rewards), DEFAULT_PRESETS)
    lam = model.sigma2 / model.tau2
    n, p = len(picks), CAT.design.shape[1]
    x = np.hstack([np.ones((n, 1)), CAT.design[picks]])
    a = np.vstack([x, np.hstack([np.zeros((p, 1)), math.sqrt(lam) * np.eye(p)])])
    b = np.concatenate([rewards, np.zeros(p)])
    theta, *_ = linalg.lstsq(a, b)
    penalised_rss = float(np.sum((b - a @ theta) ** 2))
    hat_trace = float(np.trace(x @ linalg.solve(a.T @ a, x.T)))
    assert model.sigma2 == pytest.approx(penalised_rss / (n - hat_trace), rel=1e-9)
    assert hat_trace > 2  # the correction is real: the maximum-likelihood divisor is n - 1


def test_on_clear_effects_the_noise_variance_is_the_least_squares_one():
    picks, rewards, _ = _channel(30_000, seed=12, effect_sd=0.3, noise_sd=0.05)
    model = fit_evidence(evidence_from_videos(picks, rewards), DEFAULT_PRESETS)
    x = np.hstack([np.ones((len(picks), 1)), CAT.design[picks]])
    theta, _, rank, _ = linalg.lstsq(x, rewards, cond=1e-10)
    rss = float(np.sum((rewards - x @ theta) ** 2))
    assert rank == 1 + CAT.design.shape[1] - len(RECIPE_FIELDS)  # one dependency per field
    assert model.sigma2 == pytest.approx(rss / (len(picks) - rank), rel=2e-3)


def test_the_summary_is_sufficient_and_survives_storage():
    picks, rewards, _ = _channel(150, seed=4)
    evidence = evidence_from_videos(picks, rewards, decay_weight(np.arange(150.0), 30))
    summary = summarise_evidence(evidence, DEFAULT_PRESETS)
    stored = EvidenceSummary.from_bytes(DEFAULT_PRESETS, summary.to_bytes())
    direct = estimate_recipes(evidence, DEFAULT_PRESETS)
    again = estimate_from_summary(stored)
    assert stored.videos == 150 and stored.distinct_recipes == len(set(picks.tolist()))
    assert np.array_equal(direct.estimate, again.estimate)
    assert np.array_equal(direct.low, again.low)
    with pytest.raises(ValueError, match="numbers"):
        EvidenceSummary.from_bytes(DEFAULT_PRESETS, summary.to_bytes()[:-8])


def test_recipe_deviations_are_what_the_additive_fit_leaves_beyond_the_noise():
    rng = np.random.default_rng(9)
    picks = np.repeat(rng.integers(0, CAT.size, size=150), 4)  # every recipe made 4 times
    beta = 0.05 * rng.standard_normal(CAT.design.shape[1])
    additive = 0.5 + CAT.design @ beta
    deviation = 0.1 * rng.standard_normal(CAT.size)  # interactions, sd 0.1
    noise = 0.05 * rng.standard_normal(len(picks))
    flat = fit_evidence(evidence_from_videos(picks, additive[picks] + noise), DEFAULT_PRESETS)
    bent = fit_evidence(
        evidence_from_videos(picks, (additive + deviation)[picks] + noise), DEFAULT_PRESETS
    )
    assert flat.recipe_var < 0.0005  # nothing beyond the noise
    assert 0.005 < bent.recipe_var < 0.02  # about 0.1^2
    # Without recipes made more than once there is nothing to tell them apart by.
    once = fit_evidence(evidence_from_videos(np.arange(200), additive[:200]), DEFAULT_PRESETS)
    assert once.recipe_var == 0.0


def test_decay_halves_at_the_half_life_and_never_fades_without_one():
    assert decay_weight([0.0, 90.0, 180.0], 90).tolist() == [1.0, 0.5, 0.25]
    assert decay_weight([0.0, 5000.0], None).tolist() == [1.0, 1.0]
    assert decay_weight([-3.0], 30).tolist() == [1.0]  # dated later than the evaluation
    with pytest.raises(ValueError):
        decay_weight([1.0], 0)


def test_without_anything_to_compare_every_recipe_is_the_mean_and_unsure():
    one = estimate_recipes(evidence_from_videos([5, 5], [0.2, 0.4]), DEFAULT_PRESETS)
    assert one.estimate is not None and np.allclose(one.estimate, 0.3)
    assert np.all(one.low == 0) and np.all(one.high == 1)
    # The made recipe ranks first, then the default and its neighbours.
    order = rank_order(one, DEFAULT_RECIPE)
    assert int(order[0]) == 5 and CAT.recipe(int(order[1])) == DEFAULT_RECIPE
    none = estimate_recipes(evidence_from_videos([], []), DEFAULT_PRESETS)
    assert none.estimate is None and rank_recipes(none, DEFAULT_RECIPE, 5) == []


def test_ranking_covers_the_catalogue_and_made_only_the_recipes_made():
    picks, rewards, truth = _channel(400, seed=5, effect_sd=0.08)
    found = estimate_recipes(evidence_from_videos(picks, rewards), DEFAULT_PRESETS)
    order = rank_order(found, DEFAULT_RECIPE)
    assert sorted(order.tolist()) == list(range(CAT.size))
    assert found.estimate is not None
    assert np.all(np.diff(found.estimate[order]) <= 0)
    made = rank_order(found, DEFAULT_RECIPE, made_only=True)
    assert set(made.tolist()) == set(picks.tolist())
    top = rank_recipes(found, DEFAULT_RECIPE, 3)
    assert [r.recipe for r in top] == [CAT.recipe(int(i)) for i in order[:3]]
    assert all(r.estimate_low <= r.estimate <= r.estimate_high for r in top)  # type: ignore[operator]
    # Pooling: the estimates rank recipes close to the truth, far better than chance.
    corr = np.corrcoef(found.estimate, truth)[0, 1]
    assert corr > 0.8


def test_insights_have_every_value_a_reference_at_zero_and_p_best_summing_to_one():
    picks, rewards, _ = _channel(500, seed=6, effect_sd=0.08)
    found = estimate_recipes(evidence_from_videos(picks, rewards), DEFAULT_PRESETS)
    insights = field_insights(found, DEFAULT_RECIPE)
    assert [f.field for f in insights] == list(RECIPE_FIELDS)
    for f, values in zip(insights, CAT.values, strict=True):
        assert [v.value for v in f.values] == list(values)
        assert f.reference == getattr(DEFAULT_RECIPE, f.field)
        ref = next(v for v in f.values if v.value == f.reference)
        assert ref.effect == 0 and ref.low == 0 and ref.high == 0
        assert sum(v.p_best for v in f.values) == pytest.approx(1.0)
        assert sum(v.videos for v in f.values) == 500
        assert all(v.low <= v.effect <= v.high for v in f.values)
        assert f.summary.startswith(f.field.replace("_", " "))
    hook = insights[1]
    best = max(hook.values, key=lambda v: v.effect)
    assert f"`{best.value}`" in hook.summary


def test_a_clear_best_value_is_named_with_its_margin_and_chance():
    rng = np.random.default_rng(7)
    picks = rng.integers(0, CAT.size, size=800)
    hook = CAT.codes[picks, 1] - CAT.offsets[1]
    rewards = 0.4 + 0.2 * (hook == 4) + 0.05 * rng.standard_normal(800)  # contrast wins
    found = estimate_recipes(evidence_from_videos(picks, rewards), DEFAULT_PRESETS)
    summary = field_insights(found, DEFAULT_RECIPE)[1].summary
    assert summary.startswith("hook type `contrast` beats `")
    assert "100% likely the best hook type" in summary


def test_interval_coverage_on_an_additive_truth():
    """The 95% intervals of the recipes' expected rewards cover the truth about 95% of the time
    (plug-in empirical Bayes; the bench reports the figure on the simulated channels)."""
    covered, total = 0, 0
    for seed in range(40):
        picks, rewards, truth = _channel(200, seed=100 + seed)
        found = estimate_recipes(evidence_from_videos(picks, rewards), DEFAULT_PRESETS)
        assert found.low is not None and found.high is not None
        sample = np.random.default_rng(seed).integers(0, CAT.size, size=50)
        inside = (found.low[sample] <= truth[sample]) & (truth[sample] <= found.high[sample])
        covered += int(inside.sum())
        total += len(sample)
    coverage = covered / total
    se = math.sqrt(coverage * (1 - coverage) / total)
    assert 0.90 <= coverage <= 0.985, (coverage, se)
