"""A seeded synthetic audience: hidden recipe effects, metric snapshots and the ground truth.

The model (README.md in this folder has the long version with the reasoning):

Latent quality of a video made with recipe r, about topic t, on simulated day d::

    q(r, d) = sum_f beta_f[r_f](d) + gamma_HE[hook_type, ending_type] + gamma_PW[preset, wpm]
    Q       = q(r, d) + tau(t) + omega(d) + eps,  eps ~ N(0, noise_sd^2)

- ``beta_f[v](0) = effect_sd * z`` with z standard normal, centred within each field and rescaled
  so that a field's values still have standard deviation ``effect_sd`` around their mean of 0;
  ``beta(d) = beta(0) + drift_sd_per_day * (sum of d centred standard-normal daily steps)``.
- ``gamma``: pure interactions (every row and column of each table sums to 0), cell sd
  ``interaction_sd``; they do not drift.
- ``tau(t) = topic_sd * z(t)``: z is a standard normal fixed by SHA-256 of the seed and the
  normalised topic; an anonymous topic (None) draws z afresh for each video.
- ``omega(d) = weekday_sd * w[d mod 7]``: the pull of the day of the week a video is published on
  (seven centred standard normals of the seed); 0 by default. It moves every video of a day
  alike, so it is noise to a comparison of recipes that a regression on the weekday removes.

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
``k_m = a_m / sqrt(2 * (a_m^2 * (noise_sd^2 + topic_sd^2 + weekday_sd^2) + s_m^2))``, and the
expected contract §3 reward is the weighted sum over the three metrics. It is computed for all
recipes at once per day (a convolution on a 1024-point grid, accurate to about 1e-6) and cached.
Regret of a choice is ``expected_reward(best_recipe(d), d) - expected_reward(chosen, d)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from learning_loop.domain.recipe import (
    RECIPE_FIELDS,
    InvalidRecipe,
    Recipe,
    RecipeTuple,
    field_values,
)
from learning_loop.domain.topics import normalize_topic
from learning_loop.simulation.config import (
    DEFAULT_CAPTURE_OFFSETS,
    METRIC_NAMES,
    ChannelConfig,
    SimVideo,
)
from learning_loop.simulation.metrics import Finals, draw_finals, growth_rows
from learning_loop.simulation.truth import (
    centred,
    double_centred,
    hash_int,
    smoothed_rank,
    stream,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_DRIFT_CHUNK_DAYS = 128
_INTERACTION_PAIRS: tuple[tuple[str, str], ...] = (
    ("hook_type", "ending_type"),
    ("preset", "narration_wpm_bucket"),
)
_STANDARD_NORMAL = NormalDist()


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
        z_main = stream(seed, "effects").standard_normal(self._n_values)
        main0 = np.concatenate(
            [centred(z_main[o : o + s]) for o, s in zip(self._offsets, sizes, strict=True)]
        )
        self._main0: FloatArray = config.effect_sd * main0
        # Interactions: one pure-interaction table per pair.
        self._inter_tables: dict[tuple[str, str], FloatArray] = {}
        for a, b in _INTERACTION_PAIRS:
            shape = (len(self._fields_values[a]), len(self._fields_values[b]))
            z = stream(seed, "interactions", a, b).standard_normal(shape)
            self._inter_tables[(a, b)] = config.interaction_sd * double_centred(z)
        self._inter_q: FloatArray = np.zeros(len(self._recipes))
        for (a, b), table in self._inter_tables.items():
            ia, ib = RECIPE_FIELDS.index(a), RECIPE_FIELDS.index(b)
            self._inter_q = self._inter_q + table[codes[:, ia], codes[:, ib]]
        # Drift: cumulative centred daily steps, generated lazily in fixed-size chunks so that the
        # numbers of a day never depend on which days were asked for first.
        self._drift_rng = stream(seed, "drift")
        self._drift_cum: FloatArray = np.zeros((1, self._n_values))
        self._weekday: FloatArray = config.weekday_sd * centred(
            stream(seed, "weekday").standard_normal(7)
        )

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
                    centred(steps[:, o : o + s])
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
            u = (hash_int("learning-loop-sim", self.config.seed, "topic", key) >> 203) + 0.5
            effect = self.config.topic_sd * _STANDARD_NORMAL.inv_cdf(u / 2.0**53)
            self._topic_cache[key] = effect
        return effect

    def weekday_effect(self, day: int) -> float:
        """The pull of the day of the week of simulated day `day` (``omega``; 0 by default)."""
        return float(self._weekday[_check_day(day) % 7])

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
        spread = self.config.noise_sd**2 + self.config.topic_sd**2 + self.config.weekday_sd**2
        var = loading**2 * spread + noise_sd**2
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
        return stream(self.config.seed, "video", external_id)

    def _simulate(
        self, q: FloatArray, topics: Sequence[str | None] | None, rng: np.random.Generator
    ) -> Finals:
        named = None
        if topics is not None and not all(t is None for t in topics):
            named = np.array(
                [np.nan if t is None else self.topic_effect(t) for t in topics], dtype=np.float64
            )
        return draw_finals(self.config, q, rng, named)

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
        q = self.qualities(recipes, day) + self.weekday_effect(day)
        finals = self._simulate(q, topics, rng)
        return {name: getattr(finals, name) for name in METRIC_NAMES}

    def draw_metrics_for_indices(
        self, indices: npt.ArrayLike, rng: np.random.Generator, day: int = 0
    ) -> dict[str, npt.NDArray[Any]]:
        """draw_metrics for recipes given by their all_recipes() indices, all topics anonymous:
        the fastest path, for benchmarks that work in index space."""
        idx = np.asarray(indices, dtype=np.int64)
        q = self._all_qualities(day)[idx] + self.weekday_effect(day)
        finals = self._simulate(q, None, rng)
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
                self.qualities([video.recipe], video.day) + self.weekday_effect(video.day),
                [video.topic],
                self.video_rng(video.external_id),
            )
            hours = np.array([(m - published).total_seconds() / 3600.0 for m in moments])
            rows.extend(growth_rows(video.external_id, moments, hours, finals))
        return rows


__all__ = [
    "DEFAULT_CAPTURE_OFFSETS",
    "METRIC_NAMES",
    "ChannelConfig",
    "SimVideo",
    "SimulatedChannel",
    "smoothed_rank",
]
