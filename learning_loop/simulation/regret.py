"""Learning efficiency: cumulative regret of planning policies on simulated channels, run in
memory through the production planner, reward, stats and verdict code (`shorts-engine simulate`).

How one loop runs is `loop.py`. Regret of a video = ``expected_reward(best) -
expected_reward(chosen)`` on its day; a run's cumulative regret is the sum over its videos.
``random`` and ``oracle`` learn nothing, so their regret is computed from their choices alone.

Many seeds run in lock-step, each seed's loop being one "project" of a single ``compute_rewards``
and ``recipe_stats`` call per day, and chunks of seeds run in parallel processes. A seed's result
depends only on the seed, never on the chunking.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from learning_loop.domain.recipe import Recipe
from learning_loop.simulation.channel import ChannelConfig, SimulatedChannel
from learning_loop.simulation.loop import (
    POLICY_TAGS,
    Counts,
    Loop,
    LoopSettings,
    learn_day,
    stream,
)
from learning_loop.simulation.policies import oracle_indices, random_indices
from learning_loop.simulation.policy_names import LEARNING_POLICIES, POLICIES, Yardstick

FloatArray = npt.NDArray[np.float64]

DEFAULT_DAYS = 90
DEFAULT_PER_DAY = 5
DEFAULT_SEEDS = 200
SEEDS_PER_TASK = 25


@dataclass(frozen=True)
class ExperimentCounts:
    """A policy's experiments over its channels: totals, and the decision delays in days."""

    channels: int
    completed: int
    decided: int
    wrong: int  # decided for the arm whose true expected reward is lower
    decision_days: tuple[int, ...]

    def as_dict(self) -> dict[str, object]:
        per = max(self.channels, 1)
        return {
            "experiments_completed": self.completed / per,
            "experiments_decided": self.decided / per,
            "experiments_wrong": self.wrong / per,
            "days_to_decision_median": float(np.median(self.decision_days))
            if self.decision_days
            else None,
        }


@dataclass(frozen=True)
class PolicyResult:
    policy: str
    regret_mean: float  # mean over seeds of the cumulative regret
    regret_se: float  # its standard error over seeds
    gap_closed: float | None  # (R_random - R_policy) / (R_random - R_oracle); None if 0/0
    seeds: int
    days: int
    per_day: int
    experiments: ExperimentCounts | None = None

    def as_dict(self) -> dict[str, object]:
        counts = self.experiments or ExperimentCounts(self.seeds, 0, 0, 0, ())
        return {
            "policy": self.policy,
            "regret_mean": self.regret_mean,
            "regret_se": self.regret_se,
            "gap_closed": self.gap_closed,
            "regret_per_video": self.regret_mean / (self.days * self.per_day),
            "seeds": self.seeds,
            "days": self.days,
            "per_day": self.per_day,
            **counts.as_dict(),
        }


def _channel(config: ChannelConfig) -> tuple[SimulatedChannel, list[Recipe]]:
    channel = SimulatedChannel(config)
    return channel, channel.all_recipes()


def _yardstick_regret(
    channel: SimulatedChannel, policy: str, seed: int, days: int, per_day: int
) -> float:
    rng = stream(seed, POLICY_TAGS[policy])
    total = 0.0
    for day in range(days):
        if policy == Yardstick.RANDOM:
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
) -> tuple[FloatArray, list[list[Counts]]]:
    """Cumulative regret, shape (len(configs), len(policies)), and each run's experiment counts
    (empty for the yardsticks); learning loops in lock-step."""
    result = np.zeros((len(configs), len(policies)))
    counts: list[list[Counts]] = [[(0, 0, 0, []) for _ in policies] for _ in configs]
    channels = [_channel(c) for c in configs]
    loops: list[tuple[int, int, Loop]] = []
    for s, ((channel, recipes), seed) in enumerate(zip(channels, run_seeds, strict=True)):
        for p, policy in enumerate(policies):
            if policy in LEARNING_POLICIES:
                loop = Loop(channel, recipes, policy, seed, days, per_day, settings)
                loops.append((s, p, loop))
            else:
                result[s, p] = _yardstick_regret(channel, policy, seed, days, per_day)
    if loops:
        active = [loop for _, _, loop in loops]
        for day in range(days):
            for loop in active:
                loop.plan_and_publish(day)
            learn_day(active, day)
        for s, p, loop in loops:
            result[s, p] = loop.regret
            counts[s][p] = loop.experiment_counts()
    return result, counts


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
    result, _ = _run_seeds([config], [seed], [policy], days, per_day, settings or LoopSettings())
    return float(result[0, 0])


@dataclass(frozen=True)
class _Task:
    configs: tuple[ChannelConfig, ...]
    seeds: tuple[int, ...]
    policies: tuple[str, ...]
    days: int
    per_day: int
    settings: LoopSettings


def _run_task(task: _Task) -> tuple[FloatArray, list[list[Counts]]]:
    return _run_seeds(
        task.configs, task.seeds, task.policies, task.days, task.per_day, task.settings
    )


def default_workers() -> int:
    """Worker processes: the machine's cores, at most 2 (the project's reference machine)."""
    return max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True)
class Runs:
    """Per policy: cumulative regret per seed, and the experiments over all seeds."""

    regrets: dict[str, FloatArray]
    experiments: dict[str, ExperimentCounts]


def simulate_regrets(
    policies: Sequence[str],
    seeds: int | Sequence[int] = DEFAULT_SEEDS,
    days: int = DEFAULT_DAYS,
    per_day: int = DEFAULT_PER_DAY,
    *,
    channel: ChannelConfig | None = None,
    workers: int | None = None,
    settings: LoopSettings | None = None,
) -> dict[str, FloatArray]:
    """Cumulative regret per policy and seed: seed s runs on `channel` with seed s."""
    return simulate_runs(
        policies, seeds, days, per_day, channel=channel, workers=workers, settings=settings
    ).regrets


def simulate_runs(
    policies: Sequence[str],
    seeds: int | Sequence[int] = DEFAULT_SEEDS,
    days: int = DEFAULT_DAYS,
    per_day: int = DEFAULT_PER_DAY,
    *,
    channel: ChannelConfig | None = None,
    workers: int | None = None,
    settings: LoopSettings | None = None,
) -> Runs:
    """Regret per policy and seed, and the experiments: seed s runs on `channel` (default
    `ChannelConfig()`) with seed s."""
    unknown = [p for p in policies if p not in POLICIES]
    if unknown or not policies:
        raise ValueError(f"policies must be among {', '.join(POLICIES)}; got {list(policies)!r}")
    _check_run(days, per_day)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("at least one seed is needed")
    base = channel or ChannelConfig()
    configs = [dataclasses.replace(base, seed=s) for s in seed_list]
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
    table = np.concatenate([regret for regret, _ in parts], axis=0)
    rows = [row for _, part in parts for row in part]
    experiments = {}
    for j, p in enumerate(policies):
        runs = [row[j] for row in rows]
        experiments[p] = ExperimentCounts(
            channels=len(runs),
            completed=sum(r[0] for r in runs),
            decided=sum(r[1] for r in runs),
            wrong=sum(r[2] for r in runs),
            decision_days=tuple(d for r in runs for d in r[3]),
        )
    return Runs({p: table[:, j].copy() for j, p in enumerate(policies)}, experiments)


def _mean_se(values: FloatArray) -> tuple[float, float]:
    mean = float(np.mean(values))
    se = float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0
    return mean, se


def summarise(
    regrets: dict[str, FloatArray],
    days: int,
    per_day: int,
    experiments: dict[str, ExperimentCounts] | None = None,
) -> list[PolicyResult]:
    """Mean regret, its standard error and the gap closed (needs 'random' and 'oracle')."""
    random, oracle = regrets.get(Yardstick.RANDOM), regrets.get(Yardstick.ORACLE)
    random_mean = None if random is None else float(np.mean(random))
    oracle_mean = None if oracle is None else float(np.mean(oracle))
    results = []
    for policy, values in regrets.items():
        mean, se = _mean_se(values)
        gap: float | None = None
        if random_mean is not None and oracle_mean is not None:
            span = random_mean - oracle_mean
            gap = (random_mean - mean) / span if span > 0 else None
        counts = None if experiments is None else experiments.get(policy)
        results.append(PolicyResult(policy, mean, se, gap, len(values), days, per_day, counts))
    return results


def compare(
    policies: Sequence[str] = POLICIES,
    seeds: int | Sequence[int] = DEFAULT_SEEDS,
    days: int = DEFAULT_DAYS,
    per_day: int = DEFAULT_PER_DAY,
    *,
    channel: ChannelConfig | None = None,
    workers: int | None = None,
    settings: LoopSettings | None = None,
) -> list[PolicyResult]:
    """Regret of each policy over the same seeds, with the share of the random-to-oracle gap it
    closes (random and oracle are always simulated for the gap, reported only if asked for)."""
    wanted = list(dict.fromkeys(policies))
    needed = list(dict.fromkeys([*wanted, *Yardstick]))
    needed = [p for p in POLICIES if p in needed]
    runs = simulate_runs(
        needed, seeds, days, per_day, channel=channel, workers=workers, settings=settings
    )
    by_policy = {r.policy: r for r in summarise(runs.regrets, days, per_day, runs.experiments)}
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


__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_PER_DAY",
    "DEFAULT_SEEDS",
    "ExperimentCounts",
    "LoopSettings",
    "PolicyResult",
    "compare",
    "default_workers",
    "relative_regret",
    "Runs",
    "run_policy",
    "simulate_regrets",
    "simulate_runs",
    "summarise",
]
