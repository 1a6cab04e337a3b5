"""The knobs of a simulated channel (`ChannelConfig`), a published video as the simulator sees
it (`SimVideo`), and the shape constants of the metric model (`channel.py` has the model)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from learning_loop.domain.recipe import DEFAULT_PRESETS, Recipe, field_values
from learning_loop.domain.rewards import RewardWeights

METRIC_NAMES: tuple[str, ...] = ("views", "views_6h", "avg_view_duration_s", "likes", "comments")
DEFAULT_CAPTURE_OFFSETS: tuple[timedelta, ...] = (
    timedelta(hours=6),
    timedelta(hours=24),
    timedelta(hours=72),
)

# Shape constants of the metric model (see the module docstring).
VIEWS_6H_SHARE_MIN = 0.2
VIEWS_6H_SHARE_SPAN = 0.4  # share of the final views reached by 6 h lies in (0.2, 0.6)
VIEWS_6H_SHARE_TYPICAL = VIEWS_6H_SHARE_MIN + VIEWS_6H_SHARE_SPAN / 2
LIKE_RATE_MIN = 0.02
LIKE_RATE_SPAN = 0.06  # likes per view lies in (2%, 8%)
COMMENT_RATIO = 0.1  # comments per like, typical
COMMENT_RATIO_LOG_SD = 0.3
MAX_LOG_VIEWS = 40.0  # keeps counts far below the 2**62 the ingest accepts
MAX_RETENTION = 1.0 - 1e-9


def _check_nonnegative(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0; got {value!r}")


@dataclass(frozen=True)
class ChannelConfig:
    """The knobs of a simulated channel; every one has a realistic default.

    The first block is the audience (how much recipes matter and how noisy a single video is),
    the second the shape of the metrics (loadings ``a_*`` on quality and metric noise ``s_*``).
    """

    seed: int = 0
    effect_sd: float = 0.15
    noise_sd: float = 0.35
    interaction_sd: float = 0.0
    topic_sd: float = 0.1
    weekday_sd: float = 0.0
    drift_sd_per_day: float = 0.0
    presets: tuple[str, ...] = DEFAULT_PRESETS
    base_log_views: float = 8.0
    video_length_s: float = 45.0
    # Metric model: loading on quality (a_*) and sd of the metric's own noise (s_*).
    views_loading: float = 1.0
    views_noise_sd: float = 0.8
    views_6h_share_loading: float = 1.0
    views_6h_share_noise_sd: float = 0.5
    duration_loading: float = 1.5
    duration_noise_sd: float = 0.4
    typical_retention: float = 0.45
    engagement_loading: float = 1.2
    engagement_noise_sd: float = 0.6
    weights: RewardWeights = field(default_factory=RewardWeights)

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer; got {self.seed!r}")
        for name in (
            "effect_sd",
            "noise_sd",
            "interaction_sd",
            "topic_sd",
            "weekday_sd",
            "drift_sd_per_day",
            "views_loading",
            "views_6h_share_loading",
            "views_6h_share_noise_sd",
            "duration_loading",
            "engagement_loading",
        ):
            _check_nonnegative(name, getattr(self, name))
        for name in ("views_noise_sd", "duration_noise_sd", "engagement_noise_sd"):
            _check_nonnegative(name, getattr(self, name))
            if getattr(self, name) == 0:
                raise ValueError(f"{name} must be > 0 (each metric needs some noise of its own)")
        if isinstance(self.base_log_views, bool) or not math.isfinite(self.base_log_views):
            raise ValueError(f"base_log_views must be a finite number; got {self.base_log_views!r}")
        _check_nonnegative("video_length_s", self.video_length_s)
        if self.video_length_s == 0:
            raise ValueError("video_length_s must be > 0")
        if not 0 < self.typical_retention < 1:
            raise ValueError(f"typical_retention must be in (0, 1); got {self.typical_retention}")
        presets = tuple(self.presets)
        if not presets:
            raise ValueError("presets must name at least one preset")
        field_values("preset", presets)  # validates the names
        if len(set(presets)) != len(presets):
            raise ValueError("presets must not repeat")
        object.__setattr__(self, "presets", presets)
        self.weights.validate()


@dataclass(frozen=True)
class SimVideo:
    """A published video as the simulator sees it."""

    external_id: str
    recipe: Recipe
    topic: str | None
    published_at: datetime  # aware UTC (a naive value is taken as UTC)
    day: int = 0  # simulated day index, for drift
