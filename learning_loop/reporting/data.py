"""The report's data: typed, immutable, built by services and rendered by `reporting.page`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from learning_loop.domain.statuses import GenerationMode

GENERATION_MODES: tuple[GenerationMode, ...] = tuple(GenerationMode)


SMOOTHING_DAYS = 7
MODE_WORDS: dict[GenerationMode, str] = {
    GenerationMode.EXPLOIT: "exploit (the best recipes)",
    GenerationMode.EXPLORE: "explore (one-variable variations)",
    GenerationMode.MANUAL: "manual (imported videos)",
}


@dataclass(frozen=True)
class RewardSeries:
    """Average current reward per publication day of one generation mode, and its trailing
    average over `SMOOTHING_DAYS` days (every video of those days weighs the same)."""

    mode: GenerationMode
    means: tuple[float | None, ...]  # one per `ProjectReportData.days`; None: no video that day
    smoothed: tuple[float | None, ...] = ()  # the same days; None before the mode's first video


@dataclass(frozen=True)
class LeaderboardRow:
    """One recipe's estimate (the model's expected reward over the whole weighted history) with
    its 95% interval, and the rewarded videos behind it (n)."""

    recipe_hash: str
    preset: str
    hook_type: str
    scene_count: int
    narration_wpm_bucket: str
    caption_density_bucket: str
    ending_type: str
    n: int
    mean: float
    ci_low: float | None
    ci_high: float | None

    @property
    def label(self) -> str:
        return (
            f"{self.preset} · {self.hook_type} · {self.scene_count} · "
            f"{self.narration_wpm_bucket} · {self.caption_density_bucket} · {self.ending_type} "
            f"({self.n} rewarded)"
        )


@dataclass(frozen=True)
class ExperimentRow:
    """A decided experiment: variant minus baseline with the interval of its verdict, and the
    minimum effect its test could detect (None for a verdict stored without one)."""

    variable_tested: str
    baseline_value: str
    variant_value: str
    winner: str
    difference: float
    ci_low: float
    ci_high: float
    mde: float | None = None
    decided_by: str | None = None  # the verdict's decision_rule
    pooled: PooledRow | None = None
    allocation_mismatch: bool = False  # the allocation check made it inconclusive
    guardrail: str | None = None  # how its guardrail stood (`guardrail.state_text`)
    guardrail_held: bool = False  # the guardrail made it inconclusive

    @property
    def label(self) -> str:
        mde = "" if self.mde is None else f", MDE {self.mde:.3f}"
        by = "" if self.decided_by is None else f", by {self.decided_by}"
        why = ": allocation mismatch" if self.allocation_mismatch else ""
        why += ": guardrail" if self.guardrail_held else ""
        guard = "" if self.guardrail is None else f", guardrail {self.guardrail}"
        return (
            f"{self.variable_tested}: {self.baseline_value} → {self.variant_value} "
            f"({self.winner}{why}{by}{mde}{guard})"
        )


@dataclass(frozen=True)
class PooledRow:
    """An experiment's pooled, adjusted difference (every rewarded video, adjusted for the other
    fields) with its always-valid interval (None while unbounded)."""

    difference: float
    ci_low: float | None
    ci_high: float | None

    def label(self, experiment: str) -> str:
        return f"{experiment} · pooled"


@dataclass(frozen=True)
class RunningExperimentRow:
    """A running experiment: samples per arm, the difference with its always-valid interval and
    the expected days to its verdict at the current traffic."""

    variable_tested: str
    baseline_value: str
    variant_value: str
    baseline_n: int
    variant_n: int
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    expected_days: float | None
    pooled: PooledRow | None = None
    allocation_mismatch: bool = False  # the allocation check holds its verdict back

    @property
    def label(self) -> str:
        days = "?" if self.expected_days is None else f"{self.expected_days:.0f}"
        wait = "waits: allocation mismatch" if self.allocation_mismatch else f"verdict in ~{days} d"
        return (
            f"{self.variable_tested}: {self.baseline_value} → {self.variant_value} "
            f"(running, n {self.baseline_n}/{self.variant_n}, {wait})"
        )


@dataclass(frozen=True)
class BatchMix:
    """Jobs planned in one batch, by mode."""

    batch_date: dt.date
    exploit: int
    explore: int


@dataclass(frozen=True)
class PlanRow:
    """A planned job whose video plan is not ready: its state and last error."""

    topic: str
    plan_status: str
    plan_error: str | None
    attempts: int


@dataclass(frozen=True)
class ValueEffect:
    """One field value's effect on the expected reward against the reference value."""

    value: str
    effect: float
    low: float
    high: float
    videos: int
    p_best: float

    @property
    def label(self) -> str:
        return f"{self.value} ({self.videos} rewarded, {100 * self.p_best:.0f}% best)"


@dataclass(frozen=True)
class FieldEffects:
    """A recipe field's values against its reference (the default recipe's), with the sentence
    a creator can act on."""

    field: str
    reference: str
    summary: str
    values: tuple[ValueEffect, ...]


@dataclass(frozen=True)
class ProjectReportData:
    project_name: str
    generated_at: dt.datetime
    videos_rewarded: int
    days: tuple[dt.date, ...]
    reward_per_day: tuple[RewardSeries, ...]  # only the modes with a rewarded video
    leaderboard: tuple[LeaderboardRow, ...]  # best mean first
    experiments: tuple[ExperimentRow, ...]  # completed, with a difference and an interval
    experiments_running: int
    experiments_completed: int
    batches: tuple[BatchMix, ...]  # in creation order
    running: tuple[RunningExperimentRow, ...] = ()  # where each running experiment stands
    plan_counts: tuple[tuple[str, int], ...] = ()  # (plan_status, jobs) of the planned jobs
    plans_not_ready: tuple[PlanRow, ...] = ()  # the latest pending or failed plans, a few
    insights: tuple[FieldEffects, ...] = ()  # one per recipe field, empty before any reward
    recipes_estimated: int = 0  # of which `leaderboard` shows the best
