"""Reproducibility, per-video determinism, snapshot validity and configuration of the simulator."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learning_loop.domain.recipe import InvalidRecipe, Recipe
from learning_loop.services.ingest import _check_snapshot
from learning_loop.simulation import ChannelConfig, SimulatedChannel, SimVideo

T0 = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
TOPICS = ("Why cities glow", "the last lighthouse", None, "ocean  MACHINES", "Mars dust")


def videos_for(channel: SimulatedChannel, n: int, seed: int = 0) -> list[SimVideo]:
    rng = np.random.default_rng(seed)
    recipes = channel.all_recipes()
    return [
        SimVideo(
            external_id=f"yt_{seed}_{i}",
            recipe=recipes[int(rng.integers(len(recipes)))],
            topic=TOPICS[i % len(TOPICS)],
            published_at=T0 + dt.timedelta(hours=int(rng.integers(0, 24 * 30))),
            day=int(rng.integers(0, 30)),
        )
        for i in range(n)
    ]


def test_same_seed_same_everything() -> None:
    a = SimulatedChannel(ChannelConfig(seed=11, interaction_sd=0.1, drift_sd_per_day=0.02))
    b = SimulatedChannel(ChannelConfig(seed=11, interaction_sd=0.1, drift_sd_per_day=0.02))
    assert a.effects == b.effects
    assert a.interactions == b.interactions
    assert a.effects_on(40) == b.effects_on(40)
    np.testing.assert_array_equal(a.expected_rewards(3), b.expected_rewards(3))
    assert a.best_recipe() == b.best_recipe()
    videos = videos_for(a, 20)
    assert a.snapshots(videos) == b.snapshots(videos)
    recipes = [v.recipe for v in videos]
    topics = [v.topic for v in videos]
    pd.testing.assert_frame_equal(
        a.draw_metrics(recipes, topics, np.random.default_rng(5), day=2),
        b.draw_metrics(recipes, topics, np.random.default_rng(5), day=2),
    )


def test_different_seed_different_audience() -> None:
    a = SimulatedChannel(ChannelConfig(seed=1))
    b = SimulatedChannel(ChannelConfig(seed=2))
    assert a.effects != b.effects
    assert a.topic_effect("Mars dust") != b.topic_effect("Mars dust")
    videos = videos_for(a, 10)
    assert a.snapshots(videos) != b.snapshots(videos)
    recipes = [v.recipe for v in videos]
    assert not a.draw_metrics(recipes, None, np.random.default_rng(5)).equals(
        b.draw_metrics(recipes, None, np.random.default_rng(5))
    )


def test_snapshots_independent_of_batch_composition_and_order() -> None:
    channel = SimulatedChannel(ChannelConfig(seed=4))
    videos = videos_for(channel, 12)
    together = channel.snapshots(videos)
    by_video = {v.external_id: channel.snapshots([v]) for v in videos}
    assert together == [row for v in videos for row in by_video[v.external_id]]
    shuffled = list(reversed(videos[3:9]))
    assert channel.snapshots(shuffled) == [row for v in shuffled for row in by_video[v.external_id]]
    # A fresh channel object with the same seed, asked in another order, agrees too.
    again = SimulatedChannel(ChannelConfig(seed=4))
    assert again.snapshots([videos[7]]) == by_video[videos[7].external_id]


def test_snapshot_finals_are_draw_metrics_on_the_video_stream() -> None:
    channel = SimulatedChannel(ChannelConfig(seed=9))
    for video in videos_for(channel, 8):
        late = video.published_at + dt.timedelta(days=400)
        (row,) = channel.snapshots([video], captured_at=[late])
        final = channel.draw_metrics(
            [video.recipe], [video.topic], channel.video_rng(video.external_id), day=video.day
        ).iloc[0]
        for name in ("views", "views_6h", "avg_view_duration_s", "likes", "comments"):
            assert row[name] == final[name], name


def test_topic_effects_are_stable_and_normalised() -> None:
    channel = SimulatedChannel(ChannelConfig(seed=3, topic_sd=0.2))
    assert channel.topic_effect("Ocean  machines") == channel.topic_effect(" ocean machines ")
    assert channel.topic_effect(None) == 0.0
    recipe = channel.all_recipes()[17]
    assert channel.quality(recipe, "Mars dust") == pytest.approx(
        channel.quality(recipe) + channel.topic_effect("Mars dust")
    )
    effects = np.array([channel.topic_effect(f"topic {i}") for i in range(4000)])
    assert abs(effects.mean()) < 0.02
    assert effects.std() == pytest.approx(0.2, rel=0.06)


def _check_rows(rows: list[dict[str, Any]], videos: list[SimVideo]) -> None:
    published = {v.external_id: v.published_at for v in videos}
    for row in rows:
        assert list(row) == [
            "external_id",
            "captured_at",
            "views",
            "views_6h",
            "avg_view_duration_s",
            "likes",
            "comments",
        ]
        snap = _check_snapshot(row)  # the ingest's own validation; raises on an invalid row
        assert isinstance(row["captured_at"], str) and row["captured_at"].endswith("Z")
        for name in ("views", "views_6h", "likes", "comments"):
            value = row[name]
            assert isinstance(value, int) and not isinstance(value, bool) and value >= 0
        assert isinstance(row["avg_view_duration_s"], float)
        assert math.isfinite(row["avg_view_duration_s"]) and row["avg_view_duration_s"] >= 0
        assert snap.views_6h <= snap.views
        assert snap.captured_at >= published[snap.external_id]


def test_default_snapshots_valid_and_growing() -> None:
    channel = SimulatedChannel(ChannelConfig(seed=5))
    videos = videos_for(channel, 200)
    rows = channel.snapshots(videos)
    assert len(rows) == 3 * len(videos)
    _check_rows(rows, videos)
    for i, video in enumerate(videos):
        six, day, three_days = rows[3 * i : 3 * i + 3]
        assert six["captured_at"] == (video.published_at + dt.timedelta(hours=6)).isoformat(
            timespec="auto"
        ).replace("+00:00", "Z")
        assert six["views_6h"] == six["views"] == day["views_6h"] == three_days["views_6h"]
        assert six["views"] <= day["views"] <= three_days["views"]
        assert six["likes"] <= day["likes"] <= three_days["likes"]
        assert six["comments"] <= day["comments"] <= three_days["comments"]
        assert six["avg_view_duration_s"] == three_days["avg_view_duration_s"] < 45.0


def test_explicit_capture_times() -> None:
    channel = SimulatedChannel(ChannelConfig(seed=6))
    video = SimVideo("yt_a", channel.all_recipes()[0], "topic", T0)
    before = T0 - dt.timedelta(hours=1)
    moments = [T0 + dt.timedelta(hours=h) for h in (0, 1, 3, 5.99, 6, 7, 48)]
    # Naive moments are UTC; moments before publication give no row.
    rows = channel.snapshots(
        [video], captured_at=[before, *[m.replace(tzinfo=None) for m in moments]]
    )
    assert [r["captured_at"] for r in rows] == [
        m.isoformat().replace("+00:00", "Z") for m in moments
    ]
    _check_rows(rows, [video])
    views = [r["views"] for r in rows]
    assert views == sorted(views) and views[0] == 0 and rows[0]["avg_view_duration_s"] == 0.0
    for row, hours in zip(rows, (0, 1, 3, 5.99, 6, 7, 48), strict=True):
        if hours < 6:
            assert row["views_6h"] == row["views"]
        else:
            assert row["views_6h"] == rows[4]["views_6h"]
    assert channel.snapshots([video], captured_at=[before]) == []


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(-(2**40), 2**40),
    effect_sd=st.floats(0, 1.5),
    noise_sd=st.floats(0, 1.5),
    base_log_views=st.floats(0, 16),
    video_length_s=st.floats(1, 600),
    hours=st.lists(st.floats(0, 2000), min_size=1, max_size=5),
)
def test_every_row_valid_for_any_config(
    seed: int,
    effect_sd: float,
    noise_sd: float,
    base_log_views: float,
    video_length_s: float,
    hours: list[float],
) -> None:
    channel = SimulatedChannel(
        ChannelConfig(
            seed=seed,
            effect_sd=effect_sd,
            noise_sd=noise_sd,
            interaction_sd=0.3,
            drift_sd_per_day=0.05,
            base_log_views=base_log_views,
            video_length_s=video_length_s,
        )
    )
    videos = videos_for(channel, 15, seed=abs(seed) % 1000)
    rows = channel.snapshots(videos)
    rows += channel.snapshots(videos, captured_at=[T0 + dt.timedelta(hours=h) for h in hours])
    _check_rows(rows, videos)
    for row in rows:
        assert row["avg_view_duration_s"] < video_length_s


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="noise_sd"):
        ChannelConfig(noise_sd=-0.1)
    with pytest.raises(ValueError, match="effect_sd"):
        ChannelConfig(effect_sd=float("nan"))
    with pytest.raises(ValueError, match="video_length_s"):
        ChannelConfig(video_length_s=0)
    with pytest.raises(ValueError, match="presets"):
        ChannelConfig(presets=())
    with pytest.raises(ValueError, match="preset"):
        ChannelConfig(presets=("lower case",))
    with pytest.raises(ValueError, match="sum to 1"):
        from learning_loop.domain.rewards import RewardWeights

        ChannelConfig(weights=RewardWeights(0.5, 0.5, 0.5))


def test_recipe_catalogue_and_errors() -> None:
    channel = SimulatedChannel(ChannelConfig())
    recipes = channel.all_recipes()
    assert len(recipes) == 2 * 6 * 6 * 3 * 3 * 4 == len(set(recipes))
    assert all(channel.recipe_index(r) == i for i, r in enumerate(recipes))
    three = SimulatedChannel(ChannelConfig(presets=("A", "B", "C")))
    assert len(three.all_recipes()) == 3 * 1296
    stranger = Recipe("OTHER_PRESET", "question", 7, "medium", "medium", "cliffhanger")
    with pytest.raises(InvalidRecipe, match="OTHER_PRESET"):
        channel.expected_reward(stranger)
    with pytest.raises(ValueError, match="one entry per recipe"):
        channel.draw_metrics(recipes[:3], [None], np.random.default_rng(0))
    with pytest.raises(ValueError, match="day"):
        channel.expected_rewards(-1)


def test_draw_metrics_shape_and_index_path() -> None:
    channel = SimulatedChannel(ChannelConfig(seed=2))
    recipes = channel.all_recipes()[100:105]
    frame = channel.draw_metrics(recipes, ["a", None, "b", None, "c"], np.random.default_rng(1))
    assert list(frame.columns) == ["views", "views_6h", "avg_view_duration_s", "likes", "comments"]
    assert len(frame) == 5
    assert all(frame[c].dtype == np.int64 for c in ("views", "views_6h", "likes", "comments"))
    by_name = channel.draw_metrics(recipes, None, np.random.default_rng(1))
    by_index = channel.draw_metrics_for_indices(np.arange(100, 105), np.random.default_rng(1))
    for name in frame.columns:
        np.testing.assert_array_equal(by_name[name].to_numpy(), by_index[name])
