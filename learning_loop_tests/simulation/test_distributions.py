"""The simulated metrics look like a real channel's: heavy-tailed views, bounded durations,
engagement that follows quality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from learning_loop.simulation import ChannelConfig, SimulatedChannel

N = 40_000


@pytest.fixture(scope="module")
def channel() -> SimulatedChannel:
    return SimulatedChannel(ChannelConfig(seed=21))


@pytest.fixture(scope="module")
def population(channel: SimulatedChannel) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(8)
    indices = rng.integers(0, len(channel.all_recipes()), N)
    recipes = channel.all_recipes()
    frame = channel.draw_metrics([recipes[i] for i in indices], None, rng)
    return channel.qualities([recipes[i] for i in indices]), frame


def test_views_are_lognormal_with_the_configured_spread(
    channel: SimulatedChannel, population: tuple[np.ndarray, pd.DataFrame]
) -> None:
    _, frame = population
    cfg = channel.config
    log_views = np.log(frame["views"].to_numpy())
    spread_q = channel.qualities(channel.all_recipes()).var() + cfg.noise_sd**2 + cfg.topic_sd**2
    expected_sd = np.sqrt(cfg.views_loading**2 * spread_q + cfg.views_noise_sd**2)
    assert 0.8 <= log_views.std() <= 1.0
    assert log_views.std() == pytest.approx(expected_sd, rel=0.1)
    assert abs(stats.skew(log_views)) < 0.1
    assert abs(stats.kurtosis(log_views)) < 0.3
    assert np.median(frame["views"]) == pytest.approx(np.exp(cfg.base_log_views), rel=0.1)
    assert stats.skew(frame["views"]) > 2  # heavy right tail in raw views
    q01, q99 = np.quantile(log_views, [0.01, 0.99])
    z99 = stats.norm.ppf(0.99)
    assert q99 - q01 == pytest.approx(2 * z99 * log_views.std(), rel=0.05)


def test_views_6h_is_a_share_of_views(population: tuple[np.ndarray, pd.DataFrame]) -> None:
    _, frame = population
    views, views_6h = frame["views"].to_numpy(), frame["views_6h"].to_numpy()
    assert (views_6h <= views).all()
    share = views_6h / views
    assert share.min() > 0.19 and share.max() < 0.61
    assert 0.3 < share.mean() < 0.5


def test_duration_is_bounded_by_the_video_length(
    channel: SimulatedChannel, population: tuple[np.ndarray, pd.DataFrame]
) -> None:
    _, frame = population
    duration = frame["avg_view_duration_s"].to_numpy()
    assert np.isfinite(duration).all()
    assert (duration > 0).all() and (duration < channel.config.video_length_s).all()
    assert 0.35 < duration.mean() / channel.config.video_length_s < 0.55


def test_likes_and_comments_scale_with_views(
    population: tuple[np.ndarray, pd.DataFrame],
) -> None:
    _, frame = population
    big = frame[frame["views"] >= 1000]
    like_rate = big["likes"] / big["views"]
    assert like_rate.min() > 0.015 and like_rate.max() < 0.09
    assert 0.04 < like_rate.mean() < 0.06
    comment_ratio = big["comments"].sum() / big["likes"].sum()
    assert 0.08 < comment_ratio < 0.13
    assert stats.spearmanr(frame["views"], frame["likes"]).statistic > 0.9


def test_every_metric_increases_with_quality(
    population: tuple[np.ndarray, pd.DataFrame],
) -> None:
    quality, frame = population
    engagement = (frame["likes"] + frame["comments"]) / frame["views"]
    for values in (engagement, frame["avg_view_duration_s"], frame["views_6h"], frame["views"]):
        assert stats.spearmanr(quality, values).statistic > 0.2
    share = frame["views_6h"] / frame["views"]
    assert stats.spearmanr(quality, share).statistic > 0.1


def test_noise_sd_controls_how_well_a_video_shows_its_recipe() -> None:
    def correlation(noise_sd: float) -> float:
        channel = SimulatedChannel(ChannelConfig(seed=3, noise_sd=noise_sd))
        rng = np.random.default_rng(0)
        recipes = channel.all_recipes()
        indices = rng.integers(0, len(recipes), 5000)
        draws = channel.draw_metrics_for_indices(indices, rng)
        return float(
            stats.spearmanr(
                channel.qualities(recipes)[indices], draws["avg_view_duration_s"]
            ).statistic
        )

    assert correlation(0.05) > correlation(0.35) > correlation(1.5)
