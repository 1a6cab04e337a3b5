"""A/B verdict honesty: simulated A/A and A/B experiments through the real reward, completion
and verdict code, for false-positive rates, power and the cost of peeking (bench/aa.py,
bench/power.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist

import numpy as np
import numpy.typing as npt
import pandas as pd

from learning_loop.domain.arms import VerdictRule
from learning_loop.domain.arms import verdict as product_verdict
from learning_loop.domain.experiments import should_complete, welch_verdict
from learning_loop.domain.rewards import RewardWeights, compute_rewards
from learning_loop.domain.statuses import Winner
from learning_loop.simulation.channel import METRIC_NAMES, ChannelConfig, SimulatedChannel

WINDOW_DAYS = 30  # the rewards window (contract §3) the arms' rewards are computed over
_START = datetime(2025, 1, 1)
_SEED_MODULUS = 2**64


@dataclass(frozen=True)
class VerdictShares:
    experiments: int
    variant: int
    baseline: int
    inconclusive: int

    @property
    def decided_share(self) -> float:
        """Share of non-inconclusive verdicts."""
        return (self.variant + self.baseline) / self.experiments

    @property
    def decided_se(self) -> float:
        p = self.decided_share
        return math.sqrt(p * (1 - p) / self.experiments)

    @property
    def variant_share(self) -> float:
        return self.variant / self.experiments

    @property
    def variant_se(self) -> float:
        p = self.variant_share
        return math.sqrt(p * (1 - p) / self.experiments)


@dataclass(frozen=True)
class ExperimentSimulation:
    """Verdicts of simulated experiments under three evaluation rules, on the same data."""

    true_difference: float  # mean over experiments of expected(variant) - expected(baseline)
    product: VerdictShares  # the product's rule (`decide`), evaluated every day
    days_to_decision: tuple[int, ...]  # the product's rule: days to each baseline/variant verdict
    fixed: VerdictShares  # the former rule: complete at min_samples (or deadline), decide once
    peek_until_samples: VerdictShares  # test daily from 2+2, stop if significant, else as fixed
    peek_until_deadline: VerdictShares  # test daily from 2+2 until max_days, stop if significant
    days_to_fixed_verdict: float  # mean
    arm_sd: float  # within-arm sd of the rewards at the fixed verdict (root mean variance)

    @property
    def days_to_decision_median(self) -> float | None:
        return float(np.median(self.days_to_decision)) if self.days_to_decision else None

    def samples_for_power(self, difference: float, power: float = 0.8, alpha: float = 0.05) -> int:
        """Videos per arm a two-sided test needs for this power (normal approximation)."""
        z = NormalDist()
        k = z.inv_cdf(1 - alpha / 2) + z.inv_cdf(power)
        return math.ceil(2 * (k * self.arm_sd / difference) ** 2)


def _shares(winners: Sequence[str | None]) -> VerdictShares:
    final = [w or Winner.INCONCLUSIVE for w in winners]
    return VerdictShares(
        experiments=len(final),
        variant=final.count(Winner.VARIANT),
        baseline=final.count(Winner.BASELINE),
        inconclusive=final.count(Winner.INCONCLUSIVE),
    )


def simulate_experiments(
    experiments: int = 2000,
    difference: float = 0.0,
    min_samples: int = 8,
    max_days: int = 28,
    alpha: float = 0.05,
    per_day: int = 5,
    arm_per_day: int = 1,
    channels: int = 20,
    seed: int = 0,
    effect_sd: float = 0.15,
    noise_sd: float = 0.35,
) -> ExperimentSimulation:
    """Simulated A/B experiments through the real reward, completion and verdict code.

    Each experiment is a project on one of `channels` simulated channels: a 30-day window
    pre-filled with `per_day` videos a day of uniformly random recipes, then from the day the
    experiment starts, each day `arm_per_day` baseline videos, `arm_per_day` variant videos and
    random videos up to `per_day`. Every day all windows get their rewards (compute_rewards, many
    projects at once), and each experiment's arms their current rewards. With `difference` 0 the
    two arms use the same recipe (A/A); otherwise the variant's expected reward is the baseline's
    plus `difference` (the closest pair the channel has). The product's rule sees the first
    `min_samples` variant videos only, as many as the planner plans for an experiment.
    """
    if experiments < 1:
        raise ValueError(f"experiments must be >= 1; got {experiments!r}")
    if 2 * arm_per_day > per_day:
        raise ValueError("per_day must leave room for both arms")
    rng = np.random.default_rng([seed % _SEED_MODULUS, 101])
    chans = [
        SimulatedChannel(
            ChannelConfig(seed=seed * 1000 + k, effect_sd=effect_sd, noise_sd=noise_sd)
        )
        for k in range(min(channels, experiments))
    ]
    prefill = WINDOW_DAYS - 1
    n_days = prefill + max_days + 1
    n_videos = n_days * per_day
    video_day = np.repeat(np.arange(n_days) - prefill, per_day)
    role = np.zeros(n_videos, dtype=np.int64)  # 0 background, 1 baseline, 2 variant
    for d in range(max_days + 1):
        first = (prefill + d) * per_day
        role[first : first + arm_per_day] = 1
        role[first + arm_per_day : first + 2 * arm_per_day] = 2
    recipe = np.zeros((experiments, n_videos), dtype=np.int64)
    truth = np.zeros(experiments)
    metrics = {
        name: np.zeros(
            (experiments, n_videos),
            dtype=np.float64 if name == "avg_view_duration_s" else np.int64,
        )
        for name in METRIC_NAMES
    }
    for k, channel in enumerate(chans):
        members = np.arange(k, experiments, len(chans))
        expected = channel.expected_rewards()
        order = np.argsort(expected)
        for e in members.tolist():
            if difference == 0.0:
                base = variant = int(rng.integers(len(expected)))
            else:
                eligible = np.flatnonzero(expected + difference <= expected.max())
                base = int(eligible[rng.integers(len(eligible))])
                target = expected[base] + difference
                pos = np.searchsorted(expected[order], target)
                near = order[np.clip([pos - 1, pos], 0, len(order) - 1)]
                variant = int(near[np.argmin(np.abs(expected[near] - target))])
            row = rng.integers(len(expected), size=n_videos)
            row[role == 1] = base
            row[role == 2] = variant
            recipe[e] = row
            truth[e] = expected[variant] - expected[base]
        drawn = channel.draw_metrics_for_indices(recipe[members].ravel(), rng)
        for name in METRIC_NAMES:
            metrics[name][members] = drawn[name].reshape(len(members), n_videos)

    weights = {e: RewardWeights() for e in range(experiments)}
    current = np.full((experiments, n_videos), np.nan)
    product: list[str | None] = [None] * experiments
    product_days: list[int] = []
    fixed: list[str | None] = [None] * experiments
    fixed_day = np.zeros(experiments)
    arm_variance: list[float] = []
    peek_samples: list[str | None] = [None] * experiments
    peek_deadline: list[str | None] = [None] * experiments
    started = _START
    rule = VerdictRule(alpha, min_samples, max_days)
    for d in range(max_days + 1):
        lo = d * per_day  # first video of the window [d - 29, d]
        hi = (prefill + d + 1) * per_day
        frame: dict[str, npt.NDArray[np.generic]] = {
            "project_id": np.repeat(np.arange(experiments), hi - lo),
            "video_id": np.arange(experiments * (hi - lo)),
        }
        for name in METRIC_NAMES:
            frame[name] = metrics[name][:, lo:hi].ravel()
        rewards = compute_rewards(pd.DataFrame(frame), weights)["reward"].to_numpy()
        current[:, lo:hi] = rewards.reshape(experiments, hi - lo)
        published = video_day <= d
        b_mask = (role == 1) & published
        v_mask = (role == 2) & published
        as_of_end = _START + timedelta(days=d + 1)
        for e in range(experiments):
            b = current[e, b_mask]
            v = current[e, v_mask]
            b, v = b[~np.isnan(b)], v[~np.isnan(v)]
            if product[e] is None:
                # The planner plans min_samples variant videos (contract §5); the baseline arm,
                # exploit traffic, keeps growing until the verdict.
                now = product_verdict(
                    b.tolist(), v[:min_samples].tolist(), started, as_of_end, rule
                )
                if now is not None:
                    product[e] = now.winner
                    if now.winner != Winner.INCONCLUSIVE:
                        product_days.append(d + 1)
            complete = should_complete(len(b), len(v), min_samples, started, as_of_end, max_days)
            verdict = None
            if fixed[e] is None and complete:
                verdict = welch_verdict(b, v, alpha)
                fixed[e] = verdict.winner
                fixed_day[e] = d
                if len(b) >= 2 and len(v) >= 2:
                    arm_variance.append((np.var(b, ddof=1) + np.var(v, ddof=1)) / 2)
            if peek_samples[e] is None or peek_deadline[e] is None:
                if verdict is None and len(b) >= 2 and len(v) >= 2:
                    verdict = welch_verdict(b, v, alpha)
                significant = verdict is not None and verdict.reason == "significant"
                if peek_samples[e] is None and (significant or fixed[e] is not None):
                    peek_samples[e] = verdict.winner if verdict is not None else Winner.INCONCLUSIVE
                deadline = as_of_end - started > timedelta(days=max_days)
                if peek_deadline[e] is None and (significant or deadline):
                    peek_deadline[e] = (
                        verdict.winner if verdict is not None else Winner.INCONCLUSIVE
                    )
    return ExperimentSimulation(
        true_difference=float(truth.mean()),
        product=_shares(product),
        days_to_decision=tuple(product_days),
        fixed=_shares(fixed),
        peek_until_samples=_shares(peek_samples),
        peek_until_deadline=_shares(peek_deadline),
        days_to_fixed_verdict=float(fixed_day.mean() + 1),
        arm_sd=math.sqrt(float(np.mean(arm_variance))) if arm_variance else math.nan,
    )


__all__ = [
    "ExperimentSimulation",
    "VerdictShares",
    "simulate_experiments",
]
