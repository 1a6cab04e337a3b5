"""The product's estimates against the simulator's truth (`simulation.estimation`), small."""

from __future__ import annotations

from learning_loop.simulation.estimation import estimation_quality


def test_estimates_rank_closer_to_the_truth_than_raw_averages_and_cover_it():
    found = estimation_quality(12, videos=300)
    assert found.runs == 12
    # Pooling the fields beats each recipe's own few videos by far.
    assert found.spearman_estimate[0] > found.spearman_raw[0] + 0.15
    # On an additive channel the 95% intervals cover the truth about 95% of the time.
    assert 0.88 <= found.recipe_coverage[0] <= 0.99
    assert 0.85 <= found.effect_coverage[0] <= 1.0


def test_interactions_cost_ranking_and_are_reported():
    additive = estimation_quality(8, videos=300)
    interacting = estimation_quality(8, videos=300, interaction_sd=0.15)
    assert interacting.spearman_estimate[0] < additive.spearman_estimate[0]
    assert interacting.spearman_estimate[0] > interacting.spearman_raw[0]
