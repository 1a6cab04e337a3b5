"""The ground truth: expected rewards, the best recipe, regret, interactions and drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr

from learning_loop.domain.recipe import RECIPE_FIELDS
from learning_loop.domain.rewards import RewardWeights, compute_rewards
from learning_loop.simulation import ChannelConfig, SimulatedChannel, smoothed_rank


@pytest.fixture(scope="module")
def channel() -> SimulatedChannel:
    return SimulatedChannel(ChannelConfig(seed=13))


def test_expected_rewards_are_percentile_like(channel: SimulatedChannel) -> None:
    rewards = channel.expected_rewards()
    assert rewards.shape == (len(channel.all_recipes()),)
    assert ((rewards >= 0) & (rewards <= 1)).all()
    assert rewards.mean() == pytest.approx(0.5, abs=0.01)
    assert rewards.max() - rewards.min() > 0.3  # recipes matter at the default knobs
    assert not rewards.flags.writeable
    assert channel.expected_rewards() is rewards  # cached


def test_best_recipe_and_regret(channel: SimulatedChannel) -> None:
    rewards = channel.expected_rewards()
    best = channel.best_recipe()
    assert channel.expected_reward(best) == rewards.max()
    assert channel.regret(best) == 0.0
    for recipe in channel.all_recipes()[::97]:
        assert channel.expected_reward(recipe) == rewards[channel.recipe_index(recipe)]
        regret = channel.regret(recipe)
        assert regret >= 0
        assert regret == pytest.approx(
            channel.expected_reward(best) - channel.expected_reward(recipe)
        )


def test_best_recipe_takes_the_best_value_of_every_field(channel: SimulatedChannel) -> None:
    # With a purely additive model the best recipe is the argmax of each field's effects.
    best = channel.best_recipe()
    for field in RECIPE_FIELDS:
        effects = channel.effects[field]
        assert getattr(best, field) == max(effects, key=effects.__getitem__)


def test_reward_is_monotone_in_quality(channel: SimulatedChannel) -> None:
    quality = channel.qualities(channel.all_recipes())
    order = np.argsort(quality, kind="stable")
    rewards = channel.expected_rewards()[order]
    assert (np.diff(rewards) >= 0).all()
    assert np.corrcoef(quality, channel.expected_rewards())[0, 1] > 0.99
    assert int(np.argmax(quality)) == channel.recipe_index(channel.best_recipe())


def test_additive_quality_is_the_sum_of_effects(channel: SimulatedChannel) -> None:
    for recipe in channel.all_recipes()[::311]:
        total = sum(channel.effects[f][getattr(recipe, f)] for f in RECIPE_FIELDS)
        assert channel.quality(recipe) == pytest.approx(total)
    for field in RECIPE_FIELDS:
        assert sum(channel.effects[field].values()) == pytest.approx(0, abs=1e-12)


def test_smoothed_rank_matches_the_exact_average(channel: SimulatedChannel) -> None:
    q = channel.qualities(channel.all_recipes())
    for k in (0.3, 1.0, 3.0):
        exact = ndtr(k * (q[::7, None] - q[None, :])).mean(axis=1)
        assert np.abs(smoothed_rank(q, k)[::7] - exact).max() < 1e-5
    assert (smoothed_rank(np.zeros(10), 1.0) == 0.5).all()


def _window(
    channel: SimulatedChannel, target: int, rng: np.random.Generator, n_random: int, n_target: int
) -> float:
    """Mean simulated contract reward of the target recipe's videos in a window of random ones,
    corrected back to a population of random recipes only (each of the other target videos is
    an even match, worth 0.5 in expectation)."""
    indices = np.concatenate(
        [rng.integers(0, len(channel.all_recipes()), n_random), np.full(n_target, target)]
    )
    frame = pd.DataFrame(channel.draw_metrics_for_indices(indices, rng))
    frame["project_id"] = "p"
    frame["video_id"] = np.arange(len(frame))
    rewards = compute_rewards(frame, {"p": RewardWeights()})["reward"].to_numpy()
    mean = rewards[n_random:].mean()
    total = n_random + n_target
    return float((total * mean - 0.5 * n_target) / n_random)


@pytest.mark.parametrize("config", [ChannelConfig(seed=13), ChannelConfig(seed=2, effect_sd=0.3)])
def test_analytic_reward_matches_monte_carlo(config: ChannelConfig) -> None:
    channel = SimulatedChannel(config)
    rewards = channel.expected_rewards()
    order = np.argsort(rewards)
    rng = np.random.default_rng(99)
    for target in (order[-1], order[0], order[len(order) // 2], order[len(order) * 4 // 5]):
        simulated = _window(channel, int(target), rng, n_random=20_000, n_target=1_500)
        assert simulated == pytest.approx(rewards[target], abs=0.02)


def test_reward_weights_shape_the_ground_truth() -> None:
    views_only = SimulatedChannel(ChannelConfig(seed=13, weights=RewardWeights(0.0, 1.0, 0.0)))
    default = SimulatedChannel(ChannelConfig(seed=13))
    # Same qualities, same best recipe; views_6h is the noisiest metric, so rewards spread less.
    assert views_only.best_recipe() == default.best_recipe()
    assert views_only.expected_rewards().std() < default.expected_rewards().std()


def test_interactions_change_the_ranking() -> None:
    additive = SimulatedChannel(ChannelConfig(seed=13))
    mixed = SimulatedChannel(ChannelConfig(seed=13, interaction_sd=0.2))
    assert mixed.effects == additive.effects  # the main effects do not depend on interaction_sd
    table = mixed.interactions[("hook_type", "ending_type")]
    assert len(table) == 6 * 4 and max(abs(v) for v in table.values()) > 0.05
    for hook in additive.effects["hook_type"]:
        assert sum(table[(hook, end)] for end in additive.effects["ending_type"]) == pytest.approx(
            0, abs=1e-12
        )
    assert all(v == 0 for t in additive.interactions.values() for v in t.values())
    a, b = additive.expected_rewards(), mixed.expected_rewards()
    assert not np.array_equal(np.argsort(a), np.argsort(b))
    assert np.corrcoef(a, b)[0, 1] < 0.999
    recipe = mixed.all_recipes()[1234]
    extra = (
        table[(recipe.hook_type, recipe.ending_type)]
        + mixed.interactions[("preset", "narration_wpm_bucket")][
            (recipe.preset, recipe.narration_wpm_bucket)
        ]
    )
    assert mixed.quality(recipe) == pytest.approx(additive.quality(recipe) + extra)


def test_drift_moves_effects_over_days() -> None:
    still = SimulatedChannel(ChannelConfig(seed=13))
    assert still.effects_on(60) == still.effects
    assert still.expected_rewards(60) is still.expected_rewards(0)

    drifting = SimulatedChannel(ChannelConfig(seed=13, drift_sd_per_day=0.02))
    assert drifting.effects == still.effects  # day 0 is the same audience
    moved = np.array(
        [
            drifting.effects_on(100)[f][v] - drifting.effects[f][v]
            for f in RECIPE_FIELDS
            for v in drifting.effects[f]
        ]
    )
    # A random walk: about drift_sd_per_day * sqrt(days) after `days` days.
    assert 0.1 < moved.std() < 0.4
    assert drifting.effects_on(1) != drifting.effects
    assert not np.array_equal(drifting.expected_rewards(100), drifting.expected_rewards(0))
    assert drifting.expected_rewards(100).mean() == pytest.approx(0.5, abs=0.01)

    # The walk does not depend on the order in which days are asked for.
    other = SimulatedChannel(ChannelConfig(seed=13, drift_sd_per_day=0.02))
    assert other.effects_on(300) == SimulatedChannel(drifting.config).effects_on(300)
    assert other.effects_on(100) == drifting.effects_on(100)
