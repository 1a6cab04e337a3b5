"""The simulator's metric model: a video's final metrics from its latent quality, and its
snapshots as its views grow (`channel.py` has the model)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from learning_loop.simulation.config import (
    COMMENT_RATIO,
    COMMENT_RATIO_LOG_SD,
    LIKE_RATE_MIN,
    LIKE_RATE_SPAN,
    MAX_LOG_VIEWS,
    MAX_RETENTION,
    VIEWS_6H_SHARE_MIN,
    VIEWS_6H_SHARE_SPAN,
    VIEWS_6H_SHARE_TYPICAL,
    ChannelConfig,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_NOISE_ROWS = 7  # standard normals drawn per video: topic, eps, eta_v, eta_6, eta_d, eta_e, eta_c


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Finals:
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


def draw_finals(
    cfg: ChannelConfig, q: FloatArray, rng: np.random.Generator, topics: FloatArray | None
) -> Finals:
    """The final metrics of videos of latent qualities `q` (without their noise), each with its
    topic's effect in `topics` (NaN, or `topics` None for all: an anonymous topic, drawn)."""
    n = q.shape[0]
    z = rng.standard_normal((_NOISE_ROWS, n))
    if topics is None:
        tau = cfg.topic_sd * z[0]
    else:
        tau = np.where(np.isnan(topics), cfg.topic_sd * z[0], topics)
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
    likes, comments = split_interactions(views, engagement, comment_share)
    return Finals(
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


def split_interactions(
    views: IntArray, engagement: FloatArray, comment_share: FloatArray
) -> tuple[IntArray, IntArray]:
    interactions = np.rint(engagement * views).astype(np.int64)
    comments = np.rint(interactions * comment_share).astype(np.int64)
    return interactions - comments, comments


def growth_rows(
    external_id: str, moments: list[datetime], hours: FloatArray, finals: Finals
) -> list[dict[str, Any]]:
    """A video's snapshot rows at `moments`, `hours` after its publication."""
    # Cumulative share of the final views by t hours: 1 - (1 - f6)^(t/6), which is f6 at 6 h.
    share = 1.0 - (1.0 - finals.share_6h[0]) ** (hours / 6.0)
    grown = np.floor(finals.views_raw[0] * share).astype(np.int64)
    v6_final = finals.views_6h[0]
    after_6h = hours >= 6.0
    views = np.where(after_6h, np.maximum(grown, v6_final), np.minimum(grown, v6_final))
    views = np.minimum(views, finals.views[0])
    views_6h = np.where(after_6h, v6_final, views)
    n = len(moments)
    likes, comments = split_interactions(
        views,
        np.full(n, finals.engagement[0]),
        np.full(n, finals.comment_share[0]),
    )
    duration = float(finals.avg_view_duration_s[0])
    return [
        {
            "external_id": external_id,
            "captured_at": iso_z(moment),
            "views": int(views[i]),
            "views_6h": int(views_6h[i]),
            "avg_view_duration_s": duration if views[i] > 0 else 0.0,
            "likes": int(likes[i]),
            "comments": int(comments[i]),
        }
        for i, moment in enumerate(moments)
    ]
