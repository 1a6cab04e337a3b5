"""Learning efficiency: cumulative regret of planning policies on simulated channels, run in
memory through the production planner, reward, stats and verdict code (`shorts-engine simulate`)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from learning_loop.domain.additive_model import (
    Evidence,
    evidence_from_videos,
    summarise_evidence,
)
from learning_loop.domain.decay import DEFAULT_HALF_LIFE_DAYS, decay_weight
from learning_loop.domain.estimates import estimate_recipes, rank_recipes
from learning_loop.domain.experiments import (
    BASELINE_RATIO,
    EARLY_ALPHA_SHARE,
    WITH_POOLED,
    AlphaShares,
    decide,
    past_deadline,
    pooled_tests,
    should_complete,
    welch_verdict,
)
from learning_loop.domain.linear_sequential import ContrastTest
from learning_loop.domain.recipe import Recipe
from learning_loop.domain.rewards import RewardWeights, compute_rewards
from learning_loop.domain.sampler import (
    BatchPlan,
    PlannerSettings,
    RankedRecipe,
    RunningExperiment,
    ranked_depth,
)
from learning_loop.domain.sampler import SamplerState as _SamplerState
from learning_loop.domain.stats import recipe_stats
from learning_loop.domain.statuses import ExploitScope
from learning_loop.simulation.channel import METRIC_NAMES, ChannelConfig, SimulatedChannel
from learning_loop.simulation.policies import oracle_indices, plan_learning, random_indices
from learning_loop.simulation.policy_names import LEARNING_POLICIES, POLICIES

# How a run works. Each simulated day a policy plans ``per_day`` videos with the real planner
# (``plan_batch`` / ``plan_batch_thompson``) from an in-memory copy of what the database would
# hold, the channel draws each video's final metrics, and the day's rewards, recipe stats and
# experiment verdicts come from the real ``compute_rewards``, ``recipe_stats``,
# ``decide`` (or, for comparison, the former ``should_complete`` and ``welch_verdict``):
#
# - rewards: contract §3 over the 30-day window of the day (each video's metrics are final once
#   drawn); a video keeps the last reward it got while in a window (its current reward);
# - ranked recipes (the seed policy's exploit and explore baseline): the product's estimates
#   (``estimates.estimate_recipes`` and ``rank_recipes``) fitted on every rewarded video with
#   its current reward, weighted by ``decay_weight`` of its age, over the whole catalogue (or
#   the recipes made, by ``exploit_scope``); for comparison, the former rule: recipe stats of
#   the day's window (``ranking="window"``);
# - experiments (contract §7): variant arm = the videos linked to it, baseline arm = exploit videos
#   with the baseline recipe published since it started; evaluated daily until the verdict;
# - Thompson's evidence: the same weighted evidence (``thompson_history="window"``: only the
#   window's videos, unweighted).
#
# Regret of a video = ``expected_reward(best) - expected_reward(chosen)`` on its day; a run's
# cumulative regret is the sum over its videos. ``random`` and ``oracle`` learn nothing, so their
# regret is computed from their choices alone.
#
# Many seeds run in lock-step, each seed's loop being one "project" of a single
# ``compute_rewards`` and ``recipe_stats`` call per day (those functions handle many projects at
# once), and chunks of seeds run in parallel processes. A seed's result depends only on the
# seed, never on the chunking.

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
    # Thompson's evidence: "all" = every rewarded video with its current reward, weighted by
    # age (the product's rule); "window" = only the videos of the current 30-day window.
    thompson_history: str = "all"
    # The seed policy's ranking: "estimate" = the product's (the model's estimates over the
    # whole weighted history); "window" = the former rule, the raw averages of the window.
    ranking: str = "estimate"
    # How fast old evidence fades (the project setting; None: never).
    half_life_days: int | None = DEFAULT_HALF_LIFE_DAYS
    # Experiment verdicts: "sequential" = the product's rule (``decide``: an always-valid early
    # look every day at ``early_share * alpha`` with mixing sd ``tau``, None for the product's,
    # then one Welch look at min_samples); "fixed" = the former rule, Welch's t-test once at
    # min_samples per arm (or the deadline).
    rule: str = "sequential"
    tau: float | None = None
    early_share: float = EARLY_ALPHA_SHARE
    # The Welch look's baseline arm, in multiples of min_samples (1 = the rule before issue #16's
    # second round: both arms at min_samples).
    baseline_ratio: int = BASELINE_RATIO
    # The pooled, adjusted contrast beside the arms (the product's rule: ``decide`` with
    # ``pooled_tests`` of the day's evidence); False: the arms alone (the rule before).
    pooled: bool = True
    # How the rule spends alpha with pooled evidence (None: the product's ``WITH_POOLED``).
    shares: AlphaShares | None = None


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
    rule: str | None = None  # the verdict's decision rule (the product's `decision_rule`)
    decided_day: int | None = None  # the day of a baseline/variant verdict
    wrong: bool = False  # that verdict picked the arm with the lower true expected reward


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
        self.evidence = Evidence.empty()
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

    def learn_evidence(self, day: int) -> None:
        """What the daily stats run of `day` leaves for the next plans: the weighted evidence
        of every rewarded video and, for the seed policy, the ranking by estimate."""
        done = np.flatnonzero(~np.isnan(self.reward[: self.count]))
        if self.policy == "thompson" and self.settings.thompson_history == "window":
            done = done[done >= self.window_start(day)]
            weights = None
        else:
            ages = (day - self.day_of[done]).astype(np.float64)
            weights = decay_weight(ages, self.settings.half_life_days)
        self.evidence = evidence_from_videos(self.recipe_of[done], self.reward[done], weights)
        if self.policy == "seed" and self.settings.ranking == "estimate":
            planner = self.settings.planner
            estimates = estimate_recipes(self.evidence, planner.presets)
            depth = ranked_depth(planner.top_k, 0, self.per_day)
            made_only = planner.exploit_scope == ExploitScope.MADE
            self.ranked = rank_recipes(estimates, planner.default_recipe, depth, made_only)

    def plan_and_publish(self, day: int) -> BatchPlan:
        """Plan the day's batch with the production planner, publish it, draw its metrics."""
        n = self.per_day
        plan = plan_learning(
            self.policy,
            n,
            self._state(),
            self.settings.planner,
            self.next_plan_seed(),
            self.evidence,
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
        return plan

    def next_plan_seed(self) -> int:
        """The seed of the next plan, from the loop's own stream (a test replays it)."""
        return int(self.plan_rng.integers(2**63))

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
        running = [e for e in self.experiments if e.winner is None]
        pooled: dict[int, tuple[ContrastTest | None, bool]] = {}
        if settings.rule != "fixed" and settings.pooled and running:
            # The product's pooled tests: from the evidence the day's stats run left.
            summary = summarise_evidence(self.evidence, settings.planner.presets)
            tests = pooled_tests(
                summary,
                [(e.baseline, e.variant) for e in running],
                settings.alpha * (settings.shares or WITH_POOLED).pooled_early,
            )
            pooled = {e.number: test for e, test in zip(running, tests, strict=True)}
        for e in running:
            variant = self.reward[:n][rewarded & (self.experiment_of[:n] == e.number)]
            baseline_mask = (
                rewarded
                & self.exploit[:n]
                & (self.recipe_of[:n] == e.baseline)
                & (self.day_of[:n] >= e.started_day)
            )
            baseline = self.reward[:n][baseline_mask]
            started = _START + timedelta(days=e.started_day)
            if settings.rule == "fixed":
                if should_complete(
                    len(baseline),
                    len(variant),
                    settings.planner.min_samples,
                    started,
                    as_of_end,
                    settings.max_days,
                ):
                    e.winner = welch_verdict(baseline, variant, settings.alpha).winner
            else:
                verdict = decide(
                    baseline.tolist(),
                    variant.tolist(),
                    settings.alpha,
                    settings.planner.min_samples,
                    past_deadline(started, as_of_end, settings.max_days),
                    settings.tau,
                    settings.early_share,
                    settings.baseline_ratio,
                    *pooled.get(e.number, (None, False)),
                    settings.shares if e.number in pooled else None,
                )
                if verdict is not None:
                    e.winner, e.rule = verdict.winner, verdict.rule
            if e.winner in ("variant", "baseline"):
                e.decided_day = day
                expected = self.channel.expected_rewards(day)
                truth = float(expected[e.variant] - expected[e.baseline])
                e.wrong = truth < 0 if e.winner == "variant" else truth > 0

    def experiment_counts(self) -> tuple[int, int, int, list[int]]:
        """(completed, decided, wrong, days from start to each decision, start day counted)."""
        done = [e for e in self.experiments if e.winner is not None]
        decided = [e for e in done if e.decided_day is not None]
        days = [
            int(e.decided_day) - e.started_day + 1 for e in decided if e.decided_day is not None
        ]
        return len(done), len(decided), sum(e.wrong for e in decided), days


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

    # The window's recipe stats: only the former rule ranks by them.
    windowed = any(loop.settings.ranking == "window" for loop in loops)
    if windowed:
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
        if loop.settings.ranking == "window":
            lo, hi = bounds[i], bounds[i + 1]
            loop.set_ranked(stat_ids[lo:hi] % n_recipes, stat_avgs[lo:hi])
        loop.learn_evidence(day)
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


_Counts = tuple[int, int, int, list[int]]


def _run_seeds(
    configs: Sequence[ChannelConfig],
    run_seeds: Sequence[int],
    policies: Sequence[str],
    days: int,
    per_day: int,
    settings: LoopSettings,
) -> tuple[FloatArray, list[list[_Counts]]]:
    """Cumulative regret, shape (len(configs), len(policies)), and each run's experiment counts
    (empty for the yardsticks); learning loops in lock-step."""
    result = np.zeros((len(configs), len(policies)))
    counts: list[list[_Counts]] = [[(0, 0, 0, []) for _ in policies] for _ in configs]
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


def _run_task(task: _Task) -> tuple[FloatArray, list[list[_Counts]]]:
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
    effect_sd: float = 0.15,
    noise_sd: float = 0.35,
    interaction_sd: float = 0.0,
    workers: int | None = None,
    settings: LoopSettings | None = None,
    **channel_knobs: object,
) -> dict[str, FloatArray]:
    """Cumulative regret per policy and seed: seed s runs on ChannelConfig(seed=s, ...)."""
    return simulate_runs(
        policies,
        seeds,
        days,
        per_day,
        effect_sd,
        noise_sd,
        interaction_sd,
        workers,
        settings,
        **channel_knobs,
    ).regrets


def simulate_runs(
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
) -> Runs:
    """Regret per policy and seed, and the experiments: seed s runs on ChannelConfig(seed=s)."""
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
    random_mean = float(np.mean(regrets["random"])) if "random" in regrets else None
    oracle_mean = float(np.mean(regrets["oracle"])) if "oracle" in regrets else None
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
    effect_sd: float = 0.15,
    noise_sd: float = 0.35,
    interaction_sd: float = 0.0,
    workers: int | None = None,
    settings: LoopSettings | None = None,
) -> list[PolicyResult]:
    """Regret of each policy over the same seeds, with the share of the random-to-oracle gap it
    closes (random and oracle are always simulated for the gap, reported only if asked for)."""
    wanted = list(dict.fromkeys(policies))
    needed = list(dict.fromkeys([*wanted, "random", "oracle"]))
    needed = [p for p in POLICIES if p in needed]
    runs = simulate_runs(
        needed, seeds, days, per_day, effect_sd, noise_sd, interaction_sd, workers, settings
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
