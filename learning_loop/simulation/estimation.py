"""How well the product's estimates know the simulator's truth: ranking (Spearman correlation of
the recipe estimates, and of the raw averages, with the true expected rewards) and the coverage
of the 95% intervals of recipe estimates and of field effects.

A history is `videos` videos of uniformly random recipes (most recipes then have 1-3 videos),
rewarded by the product's rule (`domain.rewards.compute_rewards`, one window: the truth is each
recipe's expected percentile among videos of random recipes, `SimulatedChannel.expected_rewards`)
and estimated by the product's model (`domain.estimates`). The truth of a field effect is its
marginal contrast on the expected reward: the mean true reward of the catalogue's recipes with
the value minus that of those with the reference value (the additive projection the model
estimates; exact on an additive channel up to the percentile transform).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from learning_loop.domain.additive_model import catalogue, evidence_from_videos
from learning_loop.domain.estimates import estimate_recipes, field_insights
from learning_loop.domain.recipe import RECIPE_FIELDS, Recipe
from learning_loop.domain.rewards import compute_rewards
from learning_loop.simulation.channel import METRIC_NAMES, ChannelConfig, SimulatedChannel


@dataclass(frozen=True)
class EstimationRun:
    """One simulated history: its ranking correlations and interval coverage counts."""

    spearman_estimate: float  # over the recipes made, estimates against the truth
    spearman_raw: float  # the same recipes, raw average rewards against the truth
    recipes_covered: int  # of the catalogue's recipes, intervals covering the truth
    recipes: int
    effects_covered: int  # of the field values (reference excluded), intervals covering
    effects: int


@dataclass(frozen=True)
class EstimationSummary:
    runs: int
    spearman_estimate: tuple[float, float]  # mean, standard error over runs
    spearman_raw: tuple[float, float]
    # share of the intervals covering the truth, and its standard error over the histories
    # (the intervals of one history are not independent: the history is the unit)
    recipe_coverage: tuple[float, float]
    effect_coverage: tuple[float, float]


def _mean_se(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    se = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else 0.0
    return float(arr.mean()), se


def _share(hits: list[int], totals: list[int]) -> tuple[float, float]:
    """The pooled share and its standard error over the runs (a ratio estimator)."""
    h, t = np.asarray(hits, dtype=np.float64), np.asarray(totals, dtype=np.float64)
    share = float(h.sum() / t.sum())
    if len(h) < 2:
        return share, 0.0
    residuals = (h - share * t) / t.mean()
    return share, float(residuals.std(ddof=1) / math.sqrt(len(h)))


def estimation_run(config: ChannelConfig, videos: int) -> EstimationRun:
    channel = SimulatedChannel(config)
    cat = catalogue(config.presets)
    rng = np.random.default_rng([config.seed, 401])
    picks = rng.integers(0, cat.size, size=videos)
    drawn = channel.draw_metrics_for_indices(picks, rng)
    frame = pd.DataFrame({"project_id": 0, "video_id": np.arange(videos), **drawn})
    rewards = compute_rewards(frame[["project_id", "video_id", *METRIC_NAMES]], {0: config.weights})
    reward = rewards["reward"].to_numpy(dtype=np.float64)
    truth = channel.expected_rewards()
    found = estimate_recipes(evidence_from_videos(picks, reward), config.presets)
    assert found.estimate is not None and found.low is not None and found.high is not None
    made = np.unique(picks)
    raw = np.array([reward[picks == r].mean() for r in made])
    spearman_estimate = float(sps.spearmanr(found.estimate[made], truth[made]).statistic)
    spearman_raw = float(sps.spearmanr(raw, truth[made]).statistic)
    covered = (found.low <= truth) & (truth <= found.high)
    default = Recipe(config.presets[0], "question", 7, "medium", "medium", "cliffhanger")
    effects_covered = effects = 0
    for f, insight in enumerate(field_insights(found, default)):
        column = cat.codes[:, f]
        ref_mean = truth[column == cat.columns[(f, insight.reference)]].mean()
        for v in insight.values:
            if v.value == insight.reference:
                continue
            true_effect = truth[column == cat.columns[(f, v.value)]].mean() - ref_mean
            effects += 1
            effects_covered += int(v.low <= true_effect <= v.high)
    assert len(RECIPE_FIELDS) == cat.codes.shape[1]
    return EstimationRun(
        spearman_estimate,
        spearman_raw,
        int(covered.sum()),
        cat.size,
        effects_covered,
        effects,
    )


def estimation_quality(
    seeds: int,
    videos: int = 300,
    effect_sd: float = 0.15,
    noise_sd: float = 0.35,
    interaction_sd: float = 0.0,
) -> EstimationSummary:
    """Ranking and coverage over `seeds` simulated channels (seed s: ChannelConfig(seed=s))."""
    runs = [
        estimation_run(
            ChannelConfig(
                seed=s, effect_sd=effect_sd, noise_sd=noise_sd, interaction_sd=interaction_sd
            ),
            videos,
        )
        for s in range(seeds)
    ]
    return EstimationSummary(
        runs=len(runs),
        spearman_estimate=_mean_se([r.spearman_estimate for r in runs]),
        spearman_raw=_mean_se([r.spearman_raw for r in runs]),
        recipe_coverage=_share([r.recipes_covered for r in runs], [r.recipes for r in runs]),
        effect_coverage=_share([r.effects_covered for r in runs], [r.effects for r in runs]),
    )
