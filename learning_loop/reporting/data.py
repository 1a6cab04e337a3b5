"""The report's data: typed, immutable, built by services and rendered by `reporting.page`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from learning_loop.domain.statuses import GenerationMode

GENERATION_MODES: tuple[GenerationMode, ...] = tuple(GenerationMode)


@dataclass(frozen=True)
class RewardSeries:
    """Average current reward per publication day of one generation mode."""

    mode: GenerationMode
    means: tuple[float | None, ...]  # one per `ProjectReportData.days`; None: no video that day


@dataclass(frozen=True)
class LeaderboardRow:
    """One recipe's mean current reward with its 95% Student-t interval (n - 1 df)."""

    recipe_hash: str
    preset: str
    hook_type: str
    scene_count: int
    narration_wpm_bucket: str
    caption_density_bucket: str
    ending_type: str
    n: int
    mean: float
    ci_low: float | None  # None when the recipe has a single rewarded video
    ci_high: float | None

    @property
    def label(self) -> str:
        preset = "".join(word[0] for word in self.preset.split("_") if word)
        return (
            f"{preset} · {self.hook_type} · {self.scene_count} · {self.narration_wpm_bucket} · "
            f"{self.caption_density_bucket} · {self.ending_type} (n={self.n})"
        )


@dataclass(frozen=True)
class ExperimentRow:
    """A decided experiment: variant minus baseline with its 95% Welch interval."""

    variable_tested: str
    baseline_value: str
    variant_value: str
    winner: str
    difference: float
    ci_low: float
    ci_high: float

    @property
    def label(self) -> str:
        return (
            f"{self.variable_tested}: {self.baseline_value} → {self.variant_value} ({self.winner})"
        )


@dataclass(frozen=True)
class BatchMix:
    """Jobs planned in one batch, by mode."""

    batch_date: dt.date
    exploit: int
    explore: int


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
