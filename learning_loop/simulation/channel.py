"""A seeded synthetic audience: hidden recipe effects, metric snapshots and the ground truth.

The model (README.md in this folder has the long version with the reasoning):

Latent quality of a video made with recipe r, about topic t, on simulated day d::

    q(r, d) = sum_f beta_f[r_f](d) + gamma_HE[hook_type, ending_type] + gamma_PW[preset, wpm]
    Q       = q(r, d) + tau(t) + eps,           eps ~ N(0, noise_sd^2)

- ``beta_f[v](0) = effect_sd * z`` with z standard normal, centred within each field and rescaled
  so that a field's values still have standard deviation ``effect_sd`` around their mean of 0;
  ``beta(d) = beta(0) + drift_sd_per_day * (sum of d centred standard-normal daily steps)``.
- ``gamma``: pure interactions (every row and column of each table sums to 0), cell sd
  ``interaction_sd``; they do not drift.
- ``tau(t) = topic_sd * z(t)``: z is a standard normal fixed by SHA-256 of the seed and the
  normalised topic; an anonymous topic (None) draws z afresh for each video.

Metrics of one video, each driven by Q plus its own standard-normal noise eta_*::

    views_6h            = floor(exp(base_log_views + ln 0.4 + a_v*Q + s_v*eta_v))
    f6                  = 0.2 + 0.4 * logistic(c_6*Q + s_6*eta_6)        (share of views by 6 h)
    views (final)       = max(views_6h, floor(views_6h_raw / f6))
    avg_view_duration_s = floor_to_0.01(video_length_s * logistic(logit(r0) + a_d*Q + s_d*eta_d))
    like rate           = 0.02 + 0.06 * logistic(a_e*Q + s_e*eta_e)
    likes + comments    = round(1.1 * like rate * views),  comments/likes ~ 0.1 * exp(0.3*eta_c)

so views are lognormal-like (median exp(base_log_views), log-sd about 0.9 by default),
views_6h/views lies in (0.2, 0.6), the average view duration is a fraction of the video's length,
and engagement = (likes + comments) / views = 1.1 * like rate (up to integer rounding).

Ground truth. Each reward metric m (average view duration, views_6h, engagement) is a monotone
function of ``a_m*Q + s_m*eta_m``. Against a reference population of videos made with uniformly
random recipes (with random topics and their own noise) the expected mid-rank percentile of a video
with recipe r is ``mean over r' of Phi(k_m * (q(r) - q(r')))`` with
``k_m = a_m / sqrt(2 * (a_m^2 * (noise_sd^2 + topic_sd^2) + s_m^2))``, and the expected contract §3
reward is the weighted sum over the three metrics. It is computed for all recipes at once per day
(a convolution on a 1024-point grid, accurate to about 1e-6) and cached. Regret of a choice is
``expected_reward(best_recipe(d), d) - expected_reward(chosen, d)``.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit, ndtr

from learning_loop.domain.recipe import (
    DEFAULT_PRESETS,
    RECIPE_FIELDS,
    InvalidRecipe,
    Recipe,
    RecipeTuple,
    field_values,
)
from learning_loop.domain.rewards import RewardWeights
from learning_loop.domain.topics import normalize_topic

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

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
GROUND_TRUTH_GRID = 1024
_DRIFT_CHUNK_DAYS = 128
_INTERACTION_PAIRS: tuple[tuple[str, str], ...] = (
    ("hook_type", "ending_type"),
    ("preset", "narration_wpm_bucket"),
)
_STANDARD_NORMAL = NormalDist()
_NOISE_ROWS = 7  # standard normals drawn per video: topic, eps, eta_v, eta_6, eta_d, eta_e, eta_c


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


def _hash_int(*parts: object) -> int:
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big")


def _stream(seed: int, tag: str, *parts: object) -> np.random.Generator:
    """An independent random stream per (seed, purpose, key): changing one knob or adding a
    video never shifts the numbers of another stream."""
    return np.random.default_rng(
        np.random.SeedSequence(_hash_int("learning-loop-sim", seed, tag, *parts))
    )


def _check_day(day: int) -> int:
    if isinstance(day, bool) or not isinstance(day, int | np.integer) or day < 0:
        raise ValueError(f"day must be an integer >= 0; got {day!r}")
    return int(day)


def _as_utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime):
        raise ValueError(f"{name} must be a datetime; got {moment!r}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _centred(z: FloatArray) -> FloatArray:
    """Centre standard normals along the last axis, rescaled back to unit variance."""
    k = z.shape[-1]
    if k < 2:
        return np.zeros_like(z)
    centred: FloatArray = (z - z.mean(axis=-1, keepdims=True)) * math.sqrt(k / (k - 1))
    return centred


def _double_centred(z: FloatArray) -> FloatArray:
    """A pure-interaction table (rows and columns sum to 0) with unit cell variance."""
    rows, cols = z.shape
    if rows < 2 or cols < 2:
        return np.zeros_like(z)
    table = z - z.mean(axis=0, keepdims=True) - z.mean(axis=1, keepdims=True) + z.mean()
    scaled: FloatArray = table * math.sqrt(rows * cols / ((rows - 1) * (cols - 1)))
    return scaled


def smoothed_rank(q: FloatArray, k: float, grid_size: int = GROUND_TRUTH_GRID) -> FloatArray:
    """``mean over j of Phi(k * (q[i] - q[j]))`` for every i, in O(n + grid^2) instead of O(n^2).

    The reference values are spread onto a uniform grid by linear binning, convolved with the
    normal-CDF kernel and read back by linear interpolation; both steps err by O(h^2), about 1e-6
    for the default knobs. The result is non-decreasing in q, as the exact one is.
    """
    q = np.asarray(q, dtype=np.float64)
    lo, hi = float(q.min()), float(q.max())
    if hi - lo <= 1e-12 * max(1.0, abs(lo)):
        return np.full(q.shape, 0.5)
    h = (hi - lo) / (grid_size - 1)
    pos = (q - lo) / h
    left = np.minimum(np.floor(pos).astype(np.int64), grid_size - 2)
    frac = pos - left
    mass = np.bincount(left, 1.0 - frac, grid_size) + np.bincount(left + 1, frac, grid_size)
    weights = mass.astype(np.float64) / q.size
    kernel = ndtr(k * h * np.arange(-(grid_size - 1), grid_size, dtype=np.float64))
    on_grid = np.convolve(weights, kernel)[grid_size - 1 : 2 * grid_size - 1]
    grid = lo + h * np.arange(grid_size, dtype=np.float64)
    grid[-1] = hi
    result: FloatArray = np.interp(q, grid, on_grid)
    return result


@dataclass(frozen=True)
class _Finals:
    """Final metrics of a batch of videos plus what the growth curve needs."""

    views: IntArray
    views_6h: IntArray
    avg_view_duration_s: FloatArray
    likes: IntArray
    comments: IntArray
    views_raw: FloatArray  # final views before flooring
    share_6h: FloatArray  # f6
    engagement: FloatArray  # (likes + comments) / views before rounding
    comment_share: FloatArray  # comments / (likes + comments)


class SimulatedChannel:
    """One synthetic audience; see the module docstring for the model."""

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config
        self._fields_values: dict[str, tuple[object, ...]] = {
            f: field_values(f, config.presets) for f in RECIPE_FIELDS
        }
        sizes = [len(self._fields_values[f]) for f in RECIPE_FIELDS]
        self._offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self._n_values = int(sum(sizes))

        tuples = list(itertools.product(*(self._fields_values[f] for f in RECIPE_FIELDS)))
        self._recipes: tuple[Recipe, ...] = tuple(Recipe(*t) for t in tuples)  # type: ignore[arg-type]
        self._index: dict[RecipeTuple, int] = {r.as_tuple(): i for i, r in enumerate(self._recipes)}
        codes = np.array(list(itertools.product(*(range(s) for s in sizes))), dtype=np.int64)
        self._flat_codes = codes + self._offsets

        seed = config.seed
        # Main effects: one centred block of standard normals per field.
        z_main = _stream(seed, "effects").standard_normal(self._n_values)
        main0 = np.concatenate(
            [_centred(z_main[o : o + s]) for o, s in zip(self._offsets, sizes, strict=True)]
        )
        self._main0: FloatArray = config.effect_sd * main0
        # Interactions: one pure-interaction table per pair.
        self._inter_tables: dict[tuple[str, str], FloatArray] = {}
        for a, b in _INTERACTION_PAIRS:
            shape = (len(self._fields_values[a]), len(self._fields_values[b]))
            z = _stream(seed, "interactions", a, b).standard_normal(shape)
            self._inter_tables[(a, b)] = config.interaction_sd * _double_centred(z)
        self._inter_q: FloatArray = np.zeros(len(self._recipes))
        for (a, b), table in self._inter_tables.items():
            ia, ib = RECIPE_FIELDS.index(a), RECIPE_FIELDS.index(b)
            self._inter_q = self._inter_q + table[codes[:, ia], codes[:, ib]]
        # Drift: cumulative centred daily steps, generated lazily in fixed-size chunks so that the
        # numbers of a day never depend on which days were asked for first.
        self._drift_rng = _stream(seed, "drift")
        self._drift_cum: FloatArray = np.zeros((1, self._n_values))

        self._quality_cache: dict[int, FloatArray] = {}
        self._reward_cache: dict[int, FloatArray] = {}
        self._topic_cache: dict[str, float] = {}

        w = config.weights
        self._metric_k: tuple[tuple[float, float], ...] = tuple(
            (weight, self._rank_slope(a, s))
            for weight, a, s in (
                (w.avg_view_duration, config.duration_loading, config.duration_noise_sd),
                (w.views_6h, config.views_loading, config.views_noise_sd),
                (w.engagement, config.engagement_loading, config.engagement_noise_sd),
            )
        )
        self.effects: dict[str, dict[object, float]] = self.effects_on(0)
        self.interactions: dict[tuple[str, str], dict[tuple[object, object], float]] = {
            (a, b): {
                (va, vb): float(table[i, j])
                for i, va in enumerate(self._fields_values[a])
                for j, vb in enumerate(self._fields_values[b])
            }
            for (a, b), table in self._inter_tables.items()
        }

    # ----------------------------------------------------------------- recipes and quality

    def all_recipes(self) -> list[Recipe]:
        """Every valid recipe for the configured presets, in a fixed order."""
        return list(self._recipes)

    def recipe_index(self, recipe: Recipe) -> int:
        try:
            return self._index[recipe.as_tuple()]
        except KeyError:
            raise InvalidRecipe(
                f"preset must be one of {', '.join(self.config.presets)} (the simulated "
                f"channel's catalogue); got {recipe.preset!r}"
            ) from None

    def _effective_day(self, day: int) -> int:
        day = _check_day(day)
        return day if self.config.drift_sd_per_day > 0 else 0

    def _main_effects(self, day: int) -> FloatArray:
        if day == 0 or self.config.drift_sd_per_day == 0:
            return self._main0
        while self._drift_cum.shape[0] <= day:
            steps = self._drift_rng.standard_normal((_DRIFT_CHUNK_DAYS, self._n_values))
            steps = np.concatenate(
                [
                    _centred(steps[:, o : o + s])
                    for o, s in zip(
                        self._offsets, np.diff([*self._offsets, self._n_values]), strict=True
                    )
                ],
                axis=1,
            )
            cum = self._drift_cum[-1] + np.cumsum(steps, axis=0)
            self._drift_cum = np.concatenate([self._drift_cum, cum])
        drifted: FloatArray = self._main0 + self.config.drift_sd_per_day * self._drift_cum[day]
        return drifted

    def effects_on(self, day: int) -> dict[str, dict[object, float]]:
        """field -> value -> true main effect on quality on that simulated day."""
        main = self._main_effects(self._effective_day(day))
        return {
            f: {v: float(main[self._offsets[fi] + i]) for i, v in enumerate(self._fields_values[f])}
            for fi, f in enumerate(RECIPE_FIELDS)
        }

    def _all_qualities(self, day: int) -> FloatArray:
        day = self._effective_day(day)
        cached = self._quality_cache.get(day)
        if cached is None:
            main = self._main_effects(day)
            cached = main[self._flat_codes].sum(axis=1) + self._inter_q
            cached.flags.writeable = False
            self._quality_cache[day] = cached
        return cached

    def topic_effect(self, topic: str | None) -> float:
        """The topic's stable effect on quality; 0 for None (the mean over topics)."""
        if topic is None:
            return 0.0
        key = normalize_topic(topic)
        effect = self._topic_cache.get(key)
        if effect is None:
            u = (_hash_int("learning-loop-sim", self.config.seed, "topic", key) >> 203) + 0.5
            effect = self.config.topic_sd * _STANDARD_NORMAL.inv_cdf(u / 2.0**53)
            self._topic_cache[key] = effect
        return effect

    def quality(self, recipe: Recipe, topic: str | None = None, day: int = 0) -> float:
        """Latent true quality (noise-free) of the recipe, plus the topic's effect if named."""
        return float(self._all_qualities(day)[self.recipe_index(recipe)]) + self.topic_effect(topic)

    def qualities(self, recipes: Sequence[Recipe], day: int = 0) -> FloatArray:
        """Topic-free latent qualities of many recipes."""
        all_q = self._all_qualities(day)
        picked: FloatArray = all_q[[self.recipe_index(r) for r in recipes]]
        return picked

    # ----------------------------------------------------------------- ground truth

    def _rank_slope(self, loading: float, noise_sd: float) -> float:
        # Q's per-video noise (eps + the topic's effect) plus the metric's own noise, for two
        # independent videos: the spread of a_m*Q_1 + s_m*eta_1 - (a_m*Q_2 + s_m*eta_2).
        var = loading**2 * (self.config.noise_sd**2 + self.config.topic_sd**2) + noise_sd**2
        return loading / math.sqrt(2.0 * var)

    def expected_rewards(self, day: int = 0) -> FloatArray:
        """Expected contract §3 reward of every recipe (aligned with all_recipes()); cached per
        day."""
        day = self._effective_day(day)
        cached = self._reward_cache.get(day)
        if cached is None:
            q = self._all_qualities(day)
            cached = np.zeros(q.shape)
            for weight, k in self._metric_k:
                if weight > 0:
                    cached = cached + weight * smoothed_rank(q, k)
            cached = np.clip(cached, 0.0, 1.0)
            cached.flags.writeable = False
            self._reward_cache[day] = cached
        return cached

    def expected_reward(self, recipe: Recipe, day: int = 0) -> float:
        """Expected reward of a video made with the recipe among videos of random recipes."""
        return float(self.expected_rewards(day)[self.recipe_index(recipe)])

    def best_recipe(self, day: int = 0) -> Recipe:
        return self._recipes[int(np.argmax(self.expected_rewards(day)))]

    def regret(self, recipe: Recipe, day: int = 0) -> float:
        """expected_reward(best_recipe(day)) - expected_reward(recipe), >= 0."""
        rewards = self.expected_rewards(day)
        return float(rewards.max() - rewards[self.recipe_index(recipe)])

    # ----------------------------------------------------------------- metrics

    def video_rng(self, external_id: str) -> np.random.Generator:
        """The random stream of one published video: a function of the seed and external_id."""
        return _stream(self.config.seed, "video", external_id)

    def _simulate(
        self, q: FloatArray, topics: Sequence[str | None] | None, rng: np.random.Generator
    ) -> _Finals:
        cfg = self.config
        n = q.shape[0]
        z = rng.standard_normal((_NOISE_ROWS, n))
        if topics is None or all(t is None for t in topics):
            tau = cfg.topic_sd * z[0]
        else:
            named = np.array([self.topic_effect(t) for t in topics], dtype=np.float64)
            anonymous = np.array([t is None for t in topics], dtype=bool)
            tau = np.where(anonymous, cfg.topic_sd * z[0], named)
        quality = q + tau + cfg.noise_sd * z[1]

        log_v6 = (
            cfg.base_log_views
            + math.log(VIEWS_6H_SHARE_TYPICAL)
            + cfg.views_loading * quality
            + cfg.views_noise_sd * z[2]
        )
        v6_raw = np.exp(np.minimum(log_v6, MAX_LOG_VIEWS))
        share_6h = VIEWS_6H_SHARE_MIN + VIEWS_6H_SHARE_SPAN * expit(
            cfg.views_6h_share_loading * quality + cfg.views_6h_share_noise_sd * z[3]
        )
        views_raw = v6_raw / share_6h
        views_6h = np.floor(v6_raw).astype(np.int64)
        views = np.maximum(views_6h, np.floor(views_raw).astype(np.int64))

        logit_r0 = math.log(cfg.typical_retention / (1.0 - cfg.typical_retention))
        retention = np.minimum(
            expit(logit_r0 + cfg.duration_loading * quality + cfg.duration_noise_sd * z[4]),
            MAX_RETENTION,
        )
        avg_view_duration = np.floor(cfg.video_length_s * retention * 100.0) / 100.0

        like_rate = LIKE_RATE_MIN + LIKE_RATE_SPAN * expit(
            cfg.engagement_loading * quality + cfg.engagement_noise_sd * z[5]
        )
        engagement = (1.0 + COMMENT_RATIO) * like_rate
        ratio = COMMENT_RATIO * np.exp(COMMENT_RATIO_LOG_SD * z[6])
        comment_share = ratio / (1.0 + ratio)
        likes, comments = self._split_interactions(views, engagement, comment_share)
        return _Finals(
            views=views,
            views_6h=views_6h,
            avg_view_duration_s=avg_view_duration,
            likes=likes,
            comments=comments,
            views_raw=views_raw,
            share_6h=share_6h,
            engagement=engagement,
            comment_share=comment_share,
        )

    @staticmethod
    def _split_interactions(
        views: IntArray, engagement: FloatArray, comment_share: FloatArray
    ) -> tuple[IntArray, IntArray]:
        interactions = np.rint(engagement * views).astype(np.int64)
        comments = np.rint(interactions * comment_share).astype(np.int64)
        return interactions - comments, comments

    def _check_batch(
        self, recipes: Sequence[Recipe], topics: Sequence[str | None] | None
    ) -> Sequence[str | None] | None:
        if topics is not None and len(topics) != len(recipes):
            raise ValueError(
                f"topics must have one entry per recipe; got {len(topics)} for {len(recipes)}"
            )
        return topics

    def draw_metrics_arrays(
        self,
        recipes: Sequence[Recipe],
        topics: Sequence[str | None] | None,
        rng: np.random.Generator,
        day: int = 0,
    ) -> dict[str, npt.NDArray[Any]]:
        """draw_metrics as a dict of numpy arrays (no DataFrame overhead)."""
        topics = self._check_batch(recipes, topics)
        finals = self._simulate(self.qualities(recipes, day), topics, rng)
        return {name: getattr(finals, name) for name in METRIC_NAMES}

    def draw_metrics_for_indices(
        self, indices: npt.ArrayLike, rng: np.random.Generator, day: int = 0
    ) -> dict[str, npt.NDArray[Any]]:
        """draw_metrics for recipes given by their all_recipes() indices, all topics anonymous:
        the fastest path, for benchmarks that work in index space."""
        idx = np.asarray(indices, dtype=np.int64)
        finals = self._simulate(self._all_qualities(day)[idx], None, rng)
        return {name: getattr(finals, name) for name in METRIC_NAMES}

    def draw_metrics(
        self,
        recipes: Sequence[Recipe],
        topics: Sequence[str | None] | None,
        rng: np.random.Generator,
        day: int = 0,
    ) -> pd.DataFrame:
        """One final metric row per video (columns views, views_6h, avg_view_duration_s, likes,
        comments), in the order of `recipes`. A topic of None is an anonymous topic whose effect
        is drawn from `rng`; `topics=None` means all anonymous."""
        return pd.DataFrame(self.draw_metrics_arrays(recipes, topics, rng, day))

    def snapshots(
        self, videos: Sequence[SimVideo], captured_at: Sequence[datetime] | None = None
    ) -> list[dict[str, Any]]:
        """Metric snapshot rows in the metrics-file shape for published videos.

        Without `captured_at`, each video gets rows at published_at + 6 h, 24 h and 72 h.
        With it, each video gets a row at every given moment not before its publication
        (naive datetimes are UTC). Rows come video by video, captures in time order.
        A video's numbers depend only on the channel seed, its external_id, recipe, topic,
        published_at and day.
        """
        explicit = (
            None if captured_at is None else sorted(_as_utc(c, "captured_at") for c in captured_at)
        )
        rows: list[dict[str, Any]] = []
        for video in videos:
            published = _as_utc(video.published_at, "published_at")
            if explicit is None:
                moments = [published + offset for offset in DEFAULT_CAPTURE_OFFSETS]
            else:
                moments = [c for c in explicit if c >= published]
            if not moments:
                continue
            finals = self._simulate(
                self.qualities([video.recipe], video.day),
                [video.topic],
                self.video_rng(video.external_id),
            )
            hours = np.array([(m - published).total_seconds() / 3600.0 for m in moments])
            rows.extend(self._growth_rows(video.external_id, moments, hours, finals))
        return rows

    def _growth_rows(
        self, external_id: str, moments: list[datetime], hours: FloatArray, finals: _Finals
    ) -> list[dict[str, Any]]:
        # Cumulative share of the final views by t hours: 1 - (1 - f6)^(t/6), which is f6 at 6 h.
        share = 1.0 - (1.0 - finals.share_6h[0]) ** (hours / 6.0)
        grown = np.floor(finals.views_raw[0] * share).astype(np.int64)
        v6_final = finals.views_6h[0]
        after_6h = hours >= 6.0
        views = np.where(after_6h, np.maximum(grown, v6_final), np.minimum(grown, v6_final))
        views = np.minimum(views, finals.views[0])
        views_6h = np.where(after_6h, v6_final, views)
        n = len(moments)
        likes, comments = self._split_interactions(
            views,
            np.full(n, finals.engagement[0]),
            np.full(n, finals.comment_share[0]),
        )
        duration = float(finals.avg_view_duration_s[0])
        return [
            {
                "external_id": external_id,
                "captured_at": _iso_z(moment),
                "views": int(views[i]),
                "views_6h": int(views_6h[i]),
                "avg_view_duration_s": duration if views[i] > 0 else 0.0,
                "likes": int(likes[i]),
                "comments": int(comments[i]),
            }
            for i, moment in enumerate(moments)
        ]
