"""Policies run on simulated channels, fast and in memory, through the production domain code.

Learning efficiency (cumulative regret): each simulated day a policy plans ``per_day`` videos with
the real planner (``plan_batch`` / ``plan_batch_thompson``) from an in-memory copy of what the
database would hold, the channel draws each video's final metrics, and the day's rewards, recipe
stats and experiment verdicts come from the real ``compute_rewards``, ``recipe_stats``,
``should_complete`` and ``welch_verdict``:

- rewards: SPEC §3 over the 30-day window of the day (each video's metrics are final once drawn);
  a video keeps the last reward it got while in a window (its current reward);
- ranked recipes: recipe stats of that window, ``times_used`` = every video ever made with it;
- experiments (SPEC §7): variant arm = the videos linked to it, baseline arm = exploit videos with
  the baseline recipe published since it started; evaluated daily, verdict computed once;
- Thompson's observations: every rewarded video with its current reward.

Regret of a video = ``expected_reward(best) - expected_reward(chosen)`` on its day; a run's
cumulative regret is the sum over its videos. ``random`` and ``oracle`` learn nothing, so their
regret is computed from their choices alone.

Many seeds run in lock-step, each seed's loop being one "project" of a single ``compute_rewards``
and ``recipe_stats`` call per day (those functions handle many projects at once), and chunks of
seeds run in parallel processes. A seed's result depends only on the seed, never on the chunking.

Verdict honesty (``simulate_experiments``): many simulated A/B experiments whose arms draw rewards
from realistic windows, evaluated daily with the real completion rule and verdict, compared with
the tempting alternative of checking every day and stopping at the first significant result.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist

import numpy as np
import numpy.typing as npt
import pandas as pd

from learning_loop.domain.experiments import should_complete, welch_verdict
from learning_loop.domain.recipe import Recipe
from learning_loop.domain.rewards import RewardWeights, compute_rewards
from learning_loop.domain.sampler import PlannerSettings, RankedRecipe, RunningExperiment
from learning_loop.domain.sampler import SamplerState as _SamplerState
from learning_loop.domain.stats import recipe_stats
from learning_loop.simulation.channel import METRIC_NAMES, ChannelConfig, SimulatedChannel
from learning_loop.simulation.policies import (
    LEARNING_POLICIES,
    POLICIES,
    oracle_indices,
    plan_learning,
    random_indices,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WINDOW_DAYS = 30
DEFAULT_DAYS = 90
DEFAULT_PER_DAY = 5
DEFAULT_SEEDS = 200
SEEDS_PER_TASK = 25
_START = datetime(2025, 1, 1)
_SEED_MODULUS = 2**64
# Stream tags: metrics are drawn from the same stream whatever the policy (common random
# numbers: policies are compared on the same noise), plans each from their own.
_METRICS_TAG = 7
_POLICY_TAGS = {name: i + 11 for i, name in enumerate(POLICIES)}


@dataclass(frozen=True)
class LoopSettings:
    """The project settings of the simulated loop (the product's defaults)."""

    planner: PlannerSettings = field(default_factory=PlannerSettings)
    window_days: int = WINDOW_DAYS
    max_days: int = 28
    alpha: float = 0.05
    # Thompson's observations: "all" = every rewarded video with its current reward (the
    # product's rule); "window" = only the videos of the current 30-day window.
    thompson_history: str = "all"


@dataclass(frozen=True)
class PolicyResult:
    policy: str
    regret_mean: float  # mean over seeds of the cumulative regret
    regret_se: float  # its standard error over seeds
    gap_closed: float | None  # (R_random - R_policy) / (R_random - R_oracle); None if 0/0
    seeds: int
    days: int
    per_day: int

    def as_dict(self) -> dict[str, object]:
        return {
            "policy": self.policy,
            "regret_mean": self.regret_mean,
            "regret_se": self.regret_se,
            "gap_closed": self.gap_closed,
            "regret_per_video": self.regret_mean / (self.days * self.per_day),
            "seeds": self.seeds,
            "days": self.days,
            "per_day": self.per_day,
        }


@dataclass
class _Experiment:
    id: str
    number: int
    baseline: int  # recipe index
    variant: int
    variable_tested: str
    variant_value: str
    started_day: int
    jobs: int = 0
    winner: str | None = None  # set when completed


def _rng(seed: int, *tags: int) -> np.random.Generator:
    return np.random.default_rng([seed % _SEED_MODULUS, *tags])


class _Loop:
    """One policy's loop on one channel: the in-memory state the database would hold."""

    def __init__(
        self,
        channel: SimulatedChannel,
        recipes: Sequence[Recipe],
        policy: str,
        seed: int,
        days: int,
        per_day: int,
        settings: LoopSettings,
    ) -> None:
        self.channel = channel
        self.recipes = recipes
        self.policy = policy
        self.per_day = per_day
        self.settings = settings
        self.weights = channel.config.weights
        total = days * per_day
        self.recipe_of = np.zeros(total, dtype=np.int64)
        self.day_of = np.zeros(total, dtype=np.int64)
        self.exploit = np.zeros(total, dtype=bool)
        self.experiment_of = np.full(total, -1, dtype=np.int64)
        self.reward = np.full(total, np.nan)
        self.metrics: dict[str, npt.NDArray[np.generic]] = {
            name: np.zeros(total, dtype=np.float64 if name == "avg_view_duration_s" else np.int64)
            for name in METRIC_NAMES
        }
        self.count = 0
        self.times_used = np.zeros(len(recipes), dtype=np.int64)
        self.ranked: list[RankedRecipe] = []
        self.experiments: list[_Experiment] = []
        self.tested: set[tuple[str, str, str]] = set()
        self.plan_rng = _rng(seed, _POLICY_TAGS[policy])
        self.metric_rng = _rng(seed, _METRICS_TAG)
        self.regret = 0.0

    # Planning -------------------------------------------------------------------------------

    def _state(self) -> _SamplerState:
        running = [
            RunningExperiment(
                id=e.id,
                baseline=self.recipes[e.baseline],
                variant=self.recipes[e.variant],
                variable_tested=e.variable_tested,
                variant_value=e.variant_value,
                variant_jobs=e.jobs,
            )
            for e in self.experiments
            if e.winner is None
        ]
        return _SamplerState(
            ranked=self.ranked,
            running=running,
            tested=frozenset(self.tested),
            existing_keys=frozenset(),
        )

    def _observations(self) -> list[tuple[Recipe, float]]:
        done = np.flatnonzero(~np.isnan(self.reward[: self.count]))
        if self.settings.thompson_history == "window" and self.count:
            last_day = int(self.day_of[self.count - 1])
            done = done[done >= self.window_start(last_day)]
        recipes = self.recipes
        return [
            (recipes[i], r)
            for i, r in zip(self.recipe_of[done].tolist(), self.reward[done].tolist(), strict=True)
        ]

    def plan_and_publish(self, day: int) -> None:
        n = self.per_day
        observations = self._observations() if self.policy == "thompson" else []
        plan = plan_learning(
            self.policy,
            n,
            self._state(),
            self.settings.planner,
            int(self.plan_rng.integers(2**63)),
            observations,
        )
        refs = {e.id: e for e in self.experiments}
        for new in plan.new_experiments:
            number = len(self.experiments)
            created = _Experiment(
                id=f"e{number}",
                number=number,
                baseline=self.channel.recipe_index(new.baseline),
                variant=self.channel.recipe_index(new.variant),
                variable_tested=new.variable_tested,
                variant_value=new.variant_value,
                started_day=day,
            )
            self.experiments.append(created)
            refs[new.key] = created
            self.tested.add((new.baseline.recipe_hash, new.variable_tested, new.variant_value))
        start = self.count
        for k, rec in enumerate(plan.recommendations):
            i = start + k
            self.recipe_of[i] = self.channel.recipe_index(rec.recipe)
            self.day_of[i] = day
            self.exploit[i] = rec.type == "exploit"
            if rec.experiment is not None:
                experiment = refs[rec.experiment]
                experiment.jobs += 1
                self.experiment_of[i] = experiment.number
        self.count = start + len(plan.recommendations)
        chosen = self.recipe_of[start : self.count]
        drawn = self.channel.draw_metrics_for_indices(chosen, self.metric_rng, day)
        for name in METRIC_NAMES:
            self.metrics[name][start : self.count] = drawn[name]
        np.add.at(self.times_used, chosen, 1)
        expected = self.channel.expected_rewards(day)
        self.regret += float(np.sum(expected.max() - expected[chosen]))

    # Learning -------------------------------------------------------------------------------

    def window_start(self, day: int) -> int:
        first_day = day - (self.settings.window_days - 1)
        return int(np.searchsorted(self.day_of[: self.count], first_day, side="left"))

    def set_ranked(self, recipe_ids: IntArray, averages: FloatArray) -> None:
        recipes, used = self.recipes, self.times_used
        self.ranked = [
            RankedRecipe(recipes[r], a, int(used[r]))
            for r, a in zip(recipe_ids.tolist(), averages.tolist(), strict=True)
        ]

    def evaluate_experiments(self, day: int) -> None:
        settings = self.settings
        as_of_end = _START + timedelta(days=day + 1)
        n = self.count
        rewarded = ~np.isnan(self.reward[:n])
        for e in self.experiments:
            if e.winner is not None:
                continue
            variant = self.reward[:n][rewarded & (self.experiment_of[:n] == e.number)]
            baseline_mask = (
                rewarded
                & self.exploit[:n]
                & (self.recipe_of[:n] == e.baseline)
                & (self.day_of[:n] >= e.started_day)
            )
            baseline = self.reward[:n][baseline_mask]
            if should_complete(
                len(baseline),
                len(variant),
                settings.planner.min_samples,
                _START + timedelta(days=e.started_day),
                as_of_end,
                settings.max_days,
            ):
                e.winner = welch_verdict(baseline, variant, settings.alpha).winner


def _learn_day(loops: Sequence[_Loop], day: int) -> None:
    """The daily stats run of every loop at once: rewards, recipe stats, experiment verdicts."""
    starts = [loop.window_start(day) for loop in loops]
    sizes = [loop.count - s for loop, s in zip(loops, starts, strict=True)]
    project = np.repeat(np.arange(len(loops), dtype=np.int64), sizes)
    columns: dict[str, npt.NDArray[np.generic]] = {"project_id": project}
    columns["video_id"] = np.arange(len(project), dtype=np.int64)
    for name in METRIC_NAMES:
        columns[name] = np.concatenate(
            [loop.metrics[name][s : loop.count] for loop, s in zip(loops, starts, strict=True)]
        )
    weights: dict[int, RewardWeights] = {i: loop.weights for i, loop in enumerate(loops)}
    rewards = compute_rewards(pd.DataFrame(columns), weights)["reward"].to_numpy()

    n_recipes = len(loops[0].recipes)
    recipe_ids = np.concatenate(
        [loop.recipe_of[s : loop.count] for loop, s in zip(loops, starts, strict=True)]
    )
    stats = recipe_stats(
        pd.DataFrame({"recipe_id": project * n_recipes + recipe_ids, "reward": rewards})
    )
    stat_ids = stats["recipe_id"].to_numpy(dtype=np.int64)
    stat_avgs = stats["avg_reward_score"].to_numpy(dtype=np.float64)
    bounds = np.searchsorted(stat_ids // n_recipes, np.arange(len(loops) + 1), side="left")

    offset = 0
    for i, (loop, start, size) in enumerate(zip(loops, starts, sizes, strict=True)):
        loop.reward[start : loop.count] = rewards[offset : offset + size]
        offset += size
        lo, hi = bounds[i], bounds[i + 1]
        loop.set_ranked(stat_ids[lo:hi] % n_recipes, stat_avgs[lo:hi])
        loop.evaluate_experiments(day)


def _channel(config: ChannelConfig) -> tuple[SimulatedChannel, list[Recipe]]:
    channel = SimulatedChannel(config)
    return channel, channel.all_recipes()


def _yardstick_regret(
    channel: SimulatedChannel, policy: str, seed: int, days: int, per_day: int
) -> float:
    rng = _rng(seed, _POLICY_TAGS[policy])
    total = 0.0
    for day in range(days):
        if policy == "random":
            chosen = random_indices(channel, per_day, rng)
        else:
            chosen = oracle_indices(channel, per_day, day)
        expected = channel.expected_rewards(day)
        total += float(np.sum(expected.max() - expected[chosen]))
    return total


def _run_seeds(
    configs: Sequence[ChannelConfig],
    run_seeds: Sequence[int],
    policies: Sequence[str],
    days: int,
    per_day: int,
    settings: LoopSettings,
) -> FloatArray:
    """Cumulative regret, shape (len(configs), len(policies)); learning loops in lock-step."""
    result = np.zeros((len(configs), len(policies)))
    channels = [_channel(c) for c in configs]
    loops: list[tuple[int, int, _Loop]] = []
    for s, ((channel, recipes), seed) in enumerate(zip(channels, run_seeds, strict=True)):
        for p, policy in enumerate(policies):
            if policy in LEARNING_POLICIES:
                loop = _Loop(channel, recipes, policy, seed, days, per_day, settings)
                loops.append((s, p, loop))
            else:
                result[s, p] = _yardstick_regret(channel, policy, seed, days, per_day)
    if loops:
        active = [loop for _, _, loop in loops]
        for day in range(days):
            for loop in active:
                loop.plan_and_publish(day)
            _learn_day(active, day)
        for s, p, loop in loops:
            result[s, p] = loop.regret
    return result


def _check_run(days: int, per_day: int) -> None:
    for name, value, low, high in (("days", days, 1, 3650), ("per_day", per_day, 1, 100)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be an integer from {low} to {high}; got {value!r}")


def run_policy(
    policy: str,
    config: ChannelConfig,
    days: int = DEFAULT_DAYS,
    per_day: int = DEFAULT_PER_DAY,
    seed: int = 0,
    settings: LoopSettings | None = None,
) -> float:
    """Cumulative regret of one policy on one simulated channel (deterministic per seed)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; policies are {', '.join(POLICIES)}")
    _check_run(days, per_day)
    result = _run_seeds([config], [seed], [policy], days, per_day, settings or LoopSettings())
    return float(result[0, 0])


@dataclass(frozen=True)
class _Task:
    configs: tuple[ChannelConfig, ...]
    seeds: tuple[int, ...]
    policies: tuple[str, ...]
    days: int
    per_day: int
    settings: LoopSettings


def _run_task(task: _Task) -> FloatArray:
    return _run_seeds(
        task.configs, task.seeds, task.policies, task.days, task.per_day, task.settings
    )


def default_workers() -> int:
    """Worker processes: the machine's cores, at most 2 (the project's reference machine)."""
    return max(1, min(2, os.cpu_count() or 1))


def simulate_regrets(
    policies: Sequence[str],
    seeds: int | Sequence[int] = DEFAULT_SEEDS,
    days: int = DEFAULT_DAYS,
    per_day: int = DEFAULT_PER_DAY,
    effect_sd: float = 0.15,
    noise_sd: float = 0.35,
    interaction_sd: float = 0.0,
    workers: int | None = None,
    settings: LoopSettings | None = None,
    **channel_knobs: object,
) -> dict[str, FloatArray]:
    """Cumulative regret per policy and seed: seed s runs on ChannelConfig(seed=s, ...)."""
    unknown = [p for p in policies if p not in POLICIES]
    if unknown or not policies:
        raise ValueError(f"policies must be among {', '.join(POLICIES)}; got {list(policies)!r}")
    _check_run(days, per_day)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("at least one seed is needed")
    configs = [
        ChannelConfig(
            seed=s,
            effect_sd=effect_sd,
            noise_sd=noise_sd,
            interaction_sd=interaction_sd,
            **channel_knobs,  # type: ignore[arg-type]
        )
        for s in seed_list
    ]
    loop_settings = settings or LoopSettings()
    tasks = [
        _Task(
            tuple(configs[i : i + SEEDS_PER_TASK]),
            tuple(seed_list[i : i + SEEDS_PER_TASK]),
            tuple(policies),
            days,
            per_day,
            loop_settings,
        )
        for i in range(0, len(seed_list), SEEDS_PER_TASK)
    ]
    n_workers = default_workers() if workers is None else max(1, workers)
    if n_workers == 1 or len(tasks) == 1:
        parts = [_run_task(t) for t in tasks]
    else:
        with ProcessPoolExecutor(max_workers=min(n_workers, len(tasks))) as pool:
            parts = list(pool.map(_run_task, tasks))
    table = np.concatenate(parts, axis=0)
    return {p: table[:, j].copy() for j, p in enumerate(policies)}


def _mean_se(values: FloatArray) -> tuple[float, float]:
    mean = float(np.mean(values))
    se = float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0
    return mean, se


def summarise(regrets: dict[str, FloatArray], days: int, per_day: int) -> list[PolicyResult]:
    """Mean regret, its standard error and the gap closed (needs 'random' and 'oracle')."""
    random_mean = float(np.mean(regrets["random"])) if "random" in regrets else None
    oracle_mean = float(np.mean(regrets["oracle"])) if "oracle" in regrets else None
    results = []
    for policy, values in regrets.items():
        mean, se = _mean_se(values)
        gap: float | None = None
        if random_mean is not None and oracle_mean is not None:
            span = random_mean - oracle_mean
            gap = (random_mean - mean) / span if span > 0 else None
        results.append(PolicyResult(policy, mean, se, gap, len(values), days, per_day))
    return results


def compare(
    policies: Sequence[str] = POLICIES,
    seeds: int | Sequence[int] = DEFAULT_SEEDS,
    days: int = DEFAULT_DAYS,
    per_day: int = DEFAULT_PER_DAY,
    effect_sd: float = 0.15,
    noise_sd: float = 0.35,
    interaction_sd: float = 0.0,
    workers: int | None = None,
) -> list[PolicyResult]:
    """Regret of each policy over the same seeds, with the share of the random-to-oracle gap it
    closes (random and oracle are always simulated for the gap, reported only if asked for)."""
    wanted = list(dict.fromkeys(policies))
    needed = list(dict.fromkeys([*wanted, "random", "oracle"]))
    needed = [p for p in POLICIES if p in needed]
    regrets = simulate_regrets(
        needed, seeds, days, per_day, effect_sd, noise_sd, interaction_sd, workers
    )
    by_policy = {r.policy: r for r in summarise(regrets, days, per_day)}
    return [by_policy[p] for p in wanted]


def relative_regret(policy: FloatArray, reference: FloatArray) -> tuple[float, float]:
    """(mean policy / mean reference - 1) over paired seeds, with a delta-method standard error."""
    a, b = np.asarray(policy, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    ma, mb = float(a.mean()), float(b.mean())
    ratio = ma / mb
    if len(a) < 2:
        return ratio - 1.0, 0.0
    # Var(ma/mb) ~ Var(a - ratio*b)/n / mb^2, paired over seeds.
    resid = a - ratio * b
    se = float(np.std(resid, ddof=1) / math.sqrt(len(a)) / abs(mb))
    return ratio - 1.0, se


# A/B experiments ---------------------------------------------------------------------------


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
    fixed: VerdictShares  # the product's rule: complete at min_samples (or deadline), decide once
    peek_until_samples: VerdictShares  # test daily from 2+2, stop if significant, else as fixed
    peek_until_deadline: VerdictShares  # test daily from 2+2 until max_days, stop if significant
    days_to_fixed_verdict: float  # mean
    arm_sd: float  # within-arm sd of the rewards at the fixed verdict (root mean variance)

    def samples_for_power(self, difference: float, power: float = 0.8, alpha: float = 0.05) -> int:
        """Videos per arm a two-sided test needs for this power (normal approximation)."""
        z = NormalDist()
        k = z.inv_cdf(1 - alpha / 2) + z.inv_cdf(power)
        return math.ceil(2 * (k * self.arm_sd / difference) ** 2)


def _shares(winners: Sequence[str | None]) -> VerdictShares:
    final = [w or "inconclusive" for w in winners]
    return VerdictShares(
        experiments=len(final),
        variant=final.count("variant"),
        baseline=final.count("baseline"),
        inconclusive=final.count("inconclusive"),
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
    plus `difference` (the closest pair the channel has).
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
        for e in members:
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
    fixed: list[str | None] = [None] * experiments
    fixed_day = np.zeros(experiments)
    arm_variance: list[float] = []
    peek_samples: list[str | None] = [None] * experiments
    peek_deadline: list[str | None] = [None] * experiments
    started = _START
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
                    peek_samples[e] = verdict.winner if verdict is not None else "inconclusive"
                deadline = as_of_end - started > timedelta(days=max_days)
                if peek_deadline[e] is None and (significant or deadline):
                    peek_deadline[e] = verdict.winner if verdict is not None else "inconclusive"
    return ExperimentSimulation(
        true_difference=float(truth.mean()),
        fixed=_shares(fixed),
        peek_until_samples=_shares(peek_samples),
        peek_until_deadline=_shares(peek_deadline),
        days_to_fixed_verdict=float(fixed_day.mean() + 1),
        arm_sd=math.sqrt(float(np.mean(arm_variance))) if arm_variance else math.nan,
    )


__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_PER_DAY",
    "DEFAULT_SEEDS",
    "ExperimentSimulation",
    "LoopSettings",
    "PolicyResult",
    "VerdictShares",
    "compare",
    "default_workers",
    "relative_regret",
    "run_policy",
    "simulate_experiments",
    "simulate_regrets",
    "summarise",
]
