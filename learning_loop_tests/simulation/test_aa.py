"""Simulated experiments through the real verdict code (contract §7): A/A honesty and power."""

from __future__ import annotations

from learning_loop.domain.experiments import BASELINE_RATIO
from learning_loop.simulation.ab_honesty import simulate_experiments


def test_aa_experiments_rarely_declare_a_winner() -> None:
    sim = simulate_experiments(200, 0.0, seed=3, channels=5)
    fixed = sim.fixed
    assert fixed.experiments == 200
    assert 0.0 <= fixed.decided_share <= 0.12
    # The product's rule too (6.5% on these channels; a 5% rule passes 12% of 200 with
    # probability about 1e-4). Both fail when the Welch look's level is loosened fourfold.
    assert sim.product.decided_share <= 0.12
    assert sim.true_difference == 0.0
    assert sim.days_to_fixed_verdict == 8.0  # one video per arm per day, min_samples 8
    # Peeking every day can only declare more winners on the same data.
    assert sim.peek_until_deadline.decided_share >= fixed.decided_share
    assert sim.peek_until_samples.decided_share >= fixed.decided_share


def test_a_real_difference_is_found_more_often() -> None:
    sim = simulate_experiments(200, 0.10, seed=4, channels=5)
    assert abs(sim.true_difference - 0.10) < 0.01
    assert sim.fixed.variant_share > 0.08
    assert sim.fixed.variant > sim.fixed.baseline
    assert sim.samples_for_power(0.10) > 8


def test_the_products_rule_is_judged_on_the_same_data() -> None:
    sim = simulate_experiments(200, 0.10, seed=4, channels=5)
    product = sim.product
    decided = product.variant + product.baseline
    assert len(sim.days_to_decision) == decided > 0
    # Every decision comes by the Welch look (day 16: 8 variant videos, 16 baseline ones) or
    # earlier, when the always-valid look is clear; none waits for the deadline here.
    assert all(1 <= d <= 8 * BASELINE_RATIO for d in sim.days_to_decision)
    assert sim.days_to_decision_median is not None
    assert product.variant > product.baseline
