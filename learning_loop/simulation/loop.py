"""One policy's learning loop on a simulated channel, in memory: the state the database would
hold, moved day by day through the product's own rules.

Each simulated day a policy plans ``per_day`` videos with the real planner (``plan_batch`` /
``plan_batch_thompson``) from an in-memory copy of what the database would hold, the channel draws
each video's final metrics, and the day's rewards, recipe stats and experiment verdicts come from
the real ``compute_rewards``, ``recipe_stats`` and ``arms`` (or, for comparison, the former
``should_complete`` and ``welch_verdict``):

- the clock: the day's batch is planned at 07:00 UTC (its experiments start then), its videos
  are published from noon on, and the day is evaluated at its end, as the demo does it;
- rewards: contract §3 over the 30-day window of the day (each video's metrics are final once
  drawn); a video keeps the last reward it got while in a window (its current reward);
- ranked recipes (the seed policy's exploit and explore baseline): the product's estimates
  (``estimates.estimate_recipes`` and ``rank_recipes``) fitted on every rewarded video with
  its current reward, weighted by ``decay_weight`` of its age, over the whole catalogue (or
  the recipes made, by ``exploit_scope``); for comparison, the former rule: recipe stats of
  the day's window (``ranking="window"``);
- experiments (contract §7): variant arm = the videos linked to it, baseline arm =
  ``arms.baseline_arm`` (the product's rule, by timestamp); verdicts by ``arms.verdict``,
  evaluated daily until the verdict, its final look on ``pooled.adjusted_test`` of the day's
  rewarded videos by publication weekday and hour (the product's, as `services.pooled` reads
  them);
- Thompson's evidence: the same weighted evidence (``thompson_history="window"``: only the
  window's videos, unweighted).

Many loops run in lock-step (`_learn_day`): one ``compute_rewards`` and ``recipe_stats`` call a
day for all of them (those functions handle many projects at once).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from learning_loop.domain.additive_model import Evidence, evidence_from_videos, summarise_evidence
from learning_loop.domain.arms import VerdictRule, baseline_arm, verdict
from learning_loop.domain.decay import DEFAULT_HALF_LIFE_DAYS, decay_weight
from learning_loop.domain.estimates import estimate_recipes, rank_recipes
from learning_loop.domain.experiments import (
    BASELINE_RATIO,
    EARLY_ALPHA_SHARE,
    RULE_SEQUENTIAL,
    RULE_WELCH,
    WITH_POOLED,
    AlphaShares,
    should_complete,
    welch_verdict,
)
from learning_loop.domain.linear_sequential import ContrastTest
from learning_loop.domain.pooled import (
    CellEvidence,
    adjusted_test,
    cell_evidence,
    pooled_tests,
    time_cells,
)
from learning_loop.domain.recipe import Recipe
from learning_loop.domain.rewards import RewardWeights, compute_rewards
from learning_loop.domain.sampler import (
    BatchPlan,
    PlannerSettings,
    RankedRecipe,
    RunningExperiment,
    SamplerState,
    ranked_depth,
)
from learning_loop.domain.stats import recipe_stats
from learning_loop.domain.statuses import ExploitScope, Policy, Winner
from learning_loop.simulation.channel import METRIC_NAMES, SimulatedChannel
from learning_loop.simulation.policies import plan_learning
from learning_loop.simulation.policy_names import POLICIES

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WINDOW_DAYS = 30
START = datetime(2025, 1, 1, tzinfo=UTC)
# The loop's clock, in minutes from START: a day's batch is planned at 07:00 and its videos
# published from noon, one a minute.
MINUTES_PER_DAY = 24 * 60
PLAN_MINUTE = 7 * 60
PUBLISH_MINUTE = 12 * 60
_SEED_MODULUS = 2**64
# Stream tags: metrics are drawn from the same stream whatever the policy (common random
# numbers: policies are compared on the same noise), plans each from their own.
_METRICS_TAG = 7
POLICY_TAGS = {name: i + 11 for i, name in enumerate(POLICIES)}


def moment(minutes: int) -> datetime:
    """The loop's clock (minutes from START) as a datetime."""
    return START + timedelta(minutes=minutes)


def stream(seed: int, *tags: int) -> np.random.Generator:
    return np.random.default_rng([seed % _SEED_MODULUS, *tags])


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
    # Experiment verdicts: RULE_SEQUENTIAL = the product's rule (``arms.verdict``: an
    # always-valid early look every day at ``early_share * alpha`` with mixing sd ``tau``, None
    # for the product's, then one Welch look at min_samples); RULE_WELCH = the former rule,
    # Welch's t-test once at min_samples per arm (or the deadline).
    rule: str = RULE_SEQUENTIAL
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
    # The final look's pooled contrast also adjusted for the publication weekday and hour (the
    # product's rule); False: the summary's contrast, adjusted for the other fields alone.
    adjusted: bool = True

    def __post_init__(self) -> None:
        if self.rule not in (RULE_SEQUENTIAL, RULE_WELCH):
            raise ValueError(
                f"rule must be {RULE_SEQUENTIAL!r} or {RULE_WELCH!r}; got {self.rule!r}"
            )

    def verdict_rule(self) -> VerdictRule:
        return VerdictRule(
            self.alpha,
            self.planner.min_samples,
            self.max_days,
            self.tau,
            self.early_share,
            self.baseline_ratio,
            self.shares,
        )


@dataclass
class SimExperiment:
    id: str
    number: int
    baseline: int  # recipe index
    variant: int
    variable_tested: str
    variant_value: str
    started_day: int
    started: int  # on the loop's clock (minutes from START)
    jobs: int = 0
    winner: str | None = None  # set when completed
    rule: str | None = None  # the verdict's decision rule (the product's `decision_rule`)
    pooled_difference: float | None = None  # the verdict's pooled contrast, when it had one
    decided_day: int | None = None  # the day of a baseline/variant verdict
    wrong: bool = False  # that verdict picked the arm with the lower true expected reward


Counts = tuple[int, int, int, list[int]]


class Loop:
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
        self.rule = settings.verdict_rule()
        self.weights = channel.config.weights
        total = days * per_day
        self.recipe_of = np.zeros(total, dtype=np.int64)
        self.day_of = np.zeros(total, dtype=np.int64)
        self.mode = np.full(total, "", dtype="<U8")  # generation modes
        self.created = np.zeros(total, dtype=np.int64)  # on the loop's clock
        self.published = np.zeros(total, dtype=np.int64)
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
        self.experiments: list[SimExperiment] = []
        self.tested: set[tuple[str, str, str]] = set()
        self.plan_rng = stream(seed, POLICY_TAGS[policy])
        self.metric_rng = stream(seed, _METRICS_TAG)
        self.regret = 0.0

    # Planning -------------------------------------------------------------------------------

    def _state(self) -> SamplerState:
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
        return SamplerState(
            ranked=self.ranked,
            running=running,
            tested=frozenset(self.tested),
            existing_keys=frozenset(),
        )

    def _rewarded(self, day: int) -> tuple[IntArray, FloatArray]:
        """The rewarded videos (their indices) and their weights by age on `day`: the evidence
        the product's estimates and pooled contrasts read."""
        done = np.flatnonzero(~np.isnan(self.reward[: self.count]))
        ages = (day - self.day_of[done]).astype(np.float64)
        return done, decay_weight(ages, self.settings.half_life_days)

    def learn_evidence(self, day: int) -> None:
        """What the daily stats run of `day` leaves for the next plans: the weighted evidence
        of every rewarded video and, for the seed policy, the ranking by estimate."""
        done, weights = self._rewarded(day)
        if self.policy == Policy.THOMPSON and self.settings.thompson_history == "window":
            done = done[done >= self.window_start(day)]
            weights = np.ones(len(done))  # the window's videos, unweighted
        self.evidence = evidence_from_videos(self.recipe_of[done], self.reward[done], weights)
        if self.policy == Policy.SEED and self.settings.ranking == "estimate":
            planner = self.settings.planner
            estimates = estimate_recipes(self.evidence, planner.presets)
            depth = ranked_depth(planner.top_k, 0, self.per_day)
            made_only = planner.exploit_scope == ExploitScope.MADE
            self.ranked = rank_recipes(estimates, planner.default_recipe, depth, made_only)

    def plan_and_publish(self, day: int) -> BatchPlan:
        """Plan the day's batch with the production planner, publish it, draw its metrics."""
        planned = day * MINUTES_PER_DAY + PLAN_MINUTE
        plan = plan_learning(
            self.policy,
            self.per_day,
            self._state(),
            self.settings.planner,
            self.next_plan_seed(),
            self.evidence,
        )
        refs = {e.id: e for e in self.experiments}
        for new in plan.new_experiments:
            number = len(self.experiments)
            created = SimExperiment(
                id=f"e{number}",
                number=number,
                baseline=self.channel.recipe_index(new.baseline),
                variant=self.channel.recipe_index(new.variant),
                variable_tested=new.variable_tested,
                variant_value=new.variant_value,
                started_day=day,
                started=planned,
            )
            self.experiments.append(created)
            refs[new.key] = created
            self.tested.add((new.baseline.recipe_hash, new.variable_tested, new.variant_value))
        start = self.count
        for k, rec in enumerate(plan.recommendations):
            i = start + k
            self.recipe_of[i] = self.channel.recipe_index(rec.recipe)
            self.day_of[i] = day
            self.mode[i] = rec.type
            self.created[i] = planned
            self.published[i] = day * MINUTES_PER_DAY + PUBLISH_MINUTE + k
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

    def _pooled(self, running: Sequence[SimExperiment]) -> dict[int, tuple[object, bool]]:
        """The product's pooled tests of the running experiments, from the evidence the day's
        stats run left (none with the former rule or without pooled evidence)."""
        settings = self.settings
        if settings.rule == RULE_WELCH or not settings.pooled or not running:
            return {}
        summary = summarise_evidence(self.evidence, settings.planner.presets)
        tests = pooled_tests(
            summary,
            [(e.baseline, e.variant) for e in running],
            settings.alpha * (settings.shares or WITH_POOLED).pooled_early,
        )
        return {e.number: test for e, test in zip(running, tests, strict=True)}

    def _cells(self, day: int) -> CellEvidence:
        """The day's rewarded videos by (recipe, publication time cell), weighted by age as the
        evidence is: what the product's final look reads (`services.pooled.read_cells`)."""
        done, weights = self._rewarded(day)
        minutes = self.published[done]
        days = minutes // MINUTES_PER_DAY
        cells = time_cells((START.weekday() + days) % 7, (minutes % MINUTES_PER_DAY) // 60)
        return cell_evidence(self.recipe_of[done], cells, self.reward[done], weights)

    def _final(
        self, e: SimExperiment, cells: Callable[[], CellEvidence]
    ) -> Callable[[], ContrastTest | None] | None:
        """The supplier of the experiment's final-look contrast from the day's `cells` (None:
        the summary's; the rule asks only where a pooled contrast was looked at)."""
        settings = self.settings
        if not settings.adjusted:
            return None
        level = settings.alpha * (settings.shares or WITH_POOLED).pooled_final
        presets = settings.planner.presets
        return lambda: adjusted_test(cells(), presets, e.baseline, e.variant, level)

    def evaluate_experiments(self, day: int) -> None:
        """The day's evaluation of the running experiments, by the product's rule."""
        settings = self.settings
        end = (day + 1) * MINUTES_PER_DAY
        n = self.count
        rewarded = ~np.isnan(self.reward[:n])
        mode, recipe_of = self.mode[:n], self.recipe_of[:n]
        running = [e for e in self.experiments if e.winner is None]
        pooled = self._pooled(running)
        cells = functools.cache(lambda: self._cells(day))  # made at the first final look
        for e in running:
            variant = self.reward[:n][rewarded & (self.experiment_of[:n] == e.number)]
            in_arm = baseline_arm(mode, recipe_of, self.published[:n], e.baseline, e.started, end)
            baseline = self.reward[:n][rewarded & in_arm]
            started, as_of_end = moment(e.started), moment(end)
            if settings.rule == RULE_WELCH:
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
                created = self.created[:n]
                planned = baseline_arm(mode, recipe_of, created, e.baseline, e.started, end)
                found = verdict(
                    baseline.tolist(),
                    variant.tolist(),
                    started,
                    as_of_end,
                    self.rule,
                    pooled.get(e.number),
                    (int(planned.sum()), e.jobs),
                    None,  # no guardrail: the simulated videos have no reward components
                    self._final(e, cells),
                )
                if found is not None:
                    e.winner, e.rule = found.winner, found.rule
                    e.pooled_difference = found.pooled_difference
            if e.winner in (Winner.VARIANT, Winner.BASELINE):
                e.decided_day = day
                expected = self.channel.expected_rewards(day)
                truth = float(expected[e.variant] - expected[e.baseline])
                e.wrong = truth < 0 if e.winner == Winner.VARIANT else truth > 0

    def experiment_counts(self) -> Counts:
        """(completed, decided, wrong, days from start to each decision, start day counted)."""
        done = [e for e in self.experiments if e.winner is not None]
        decided = [e for e in done if e.decided_day is not None]
        days = [
            int(e.decided_day) - e.started_day + 1 for e in decided if e.decided_day is not None
        ]
        return len(done), len(decided), sum(e.wrong for e in decided), days


def learn_day(loops: Sequence[Loop], day: int) -> None:
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


__all__ = ["Loop", "LoopSettings", "SimExperiment", "learn_day"]
