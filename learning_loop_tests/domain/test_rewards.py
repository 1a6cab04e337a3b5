"""Engagement, mid-rank percentiles, weighted reward and window bounds (contract §3)."""

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from learning_loop.domain.rewards import (
    REWARD_COLUMNS,
    RewardWeights,
    compute_rewards,
    midrank_percentiles,
    window_bounds,
)

DEFAULT = RewardWeights()


def _metrics(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    columns = [
        "project_id",
        "video_id",
        "views",
        "views_6h",
        "avg_view_duration_s",
        "likes",
        "comments",
    ]
    return pd.DataFrame(rows, columns=columns)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([42.0], [0.5]),
        ([1, 1, 1], [0.5, 0.5, 0.5]),
        ([10, 20, 20, 30], [0.125, 0.5, 0.5, 0.875]),
        ([3, 1, 2], [5 / 6, 1 / 6, 0.5]),
        ([0.0, 0.0, 5.0], [1 / 3, 1 / 3, 5 / 6]),
    ],
)
def test_midrank_percentiles_hand_examples(values: list[float], expected: list[float]) -> None:
    df = pd.DataFrame({"g": "p", "v": values})
    result = midrank_percentiles(df, "g", "v")
    assert result.tolist() == pytest.approx(expected, abs=0, rel=0)
    assert result.index.equals(df.index)


def test_midrank_percentiles_are_per_group_and_keep_index() -> None:
    df = pd.DataFrame(
        {"g": ["a", "b", "a", "b", "a"], "v": [1, 1, 2, 3, 2]},
        index=[10, 7, 3, 99, 0],
    )
    result = midrank_percentiles(df, "g", "v")
    # group a: [1, 2, 2] -> 1/6, 4/6, 4/6; group b: [1, 3] -> 1/4, 3/4
    assert result.loc[10] == 1 / 6
    assert result.loc[3] == result.loc[0] == 4 / 6
    assert result.loc[7] == 0.25 and result.loc[99] == 0.75
    assert list(result.index) == [10, 7, 3, 99, 0]


def test_midrank_percentiles_exact_integer_formula() -> None:
    values = [0.1, 0.7, 0.7, 0.3, 0.7, 0.2, 0.1]
    result = midrank_percentiles(pd.DataFrame({"g": 1, "v": values}), "g", "v")
    n = len(values)
    for v, pct in zip(values, result, strict=True):
        less = sum(1 for w in values if w < v)
        equal = sum(1 for w in values if w == v)
        assert pct == (2 * less + equal) / (2 * n)  # bit-identical


def test_midrank_percentiles_empty() -> None:
    result = midrank_percentiles(pd.DataFrame({"g": [], "v": []}), "g", "v")
    assert result.empty and result.dtype == np.float64


def test_compute_rewards_hand_example() -> None:
    metrics = _metrics(
        [
            ("p1", "A", 100, 50, 30.0, 5, 5),  # engagement 0.10
            ("p1", "B", 200, 60, 20.0, 10, 0),  # engagement 0.05
            ("p2", "C", 0, 0, 0.0, 0, 0),  # alone: every percentile 0.5
        ]
    )
    result = compute_rewards(metrics, {"p1": DEFAULT, "p2": DEFAULT})
    assert list(result.columns) == list(REWARD_COLUMNS)
    assert result["engagement"].tolist() == [0.1, 0.05, 0.0]
    assert result["pct_avg_view_duration"].tolist() == [0.75, 0.25, 0.5]
    assert result["pct_views_6h"].tolist() == [0.25, 0.75, 0.5]
    assert result["pct_engagement"].tolist() == [0.75, 0.25, 0.5]
    # A: 0.5*0.75 + 0.3*0.25 + 0.2*0.75 = 0.6 ; B: 0.125 + 0.225 + 0.05 = 0.4
    assert result["reward"].tolist() == pytest.approx([0.6, 0.4, 0.5], abs=1e-15)
    assert result["video_id"].tolist() == ["A", "B", "C"]


def test_compute_rewards_uses_each_projects_weights_and_keeps_index() -> None:
    metrics = _metrics(
        [
            ("p1", "A", 100, 50, 30.0, 5, 5),
            ("p2", "X", 10, 1, 1.0, 0, 0),
            ("p1", "B", 200, 60, 20.0, 10, 0),
            ("p2", "Y", 10, 2, 2.0, 1, 0),
        ]
    ).set_index(pd.Index([5, 6, 7, 8]))
    weights = {"p1": RewardWeights(1.0, 0.0, 0.0), "p2": RewardWeights(0.0, 0.0, 1.0)}
    result = compute_rewards(metrics, weights)
    assert list(result.index) == [5, 6, 7, 8]
    assert result["reward"].tolist() == [0.75, 0.25, 0.25, 0.75]


def test_compute_rewards_ties_on_engagement_ratio() -> None:
    # 1/3 and 2/6 are the same correctly rounded double, so they tie.
    metrics = _metrics([("p", "a", 3, 0, 1.0, 1, 0), ("p", "b", 6, 0, 1.0, 1, 1)])
    result = compute_rewards(metrics, {"p": DEFAULT})
    assert result["pct_engagement"].tolist() == [0.5, 0.5]
    assert result["reward"].tolist() == [0.5, 0.5]


def test_compute_rewards_empty() -> None:
    result = compute_rewards(_metrics([]), {})
    assert result.empty
    assert list(result.columns) == list(REWARD_COLUMNS)


def test_compute_rewards_missing_weights_or_columns() -> None:
    metrics = _metrics([("p", "a", 3, 0, 1.0, 1, 0)])
    with pytest.raises(ValueError, match="weights"):
        compute_rewards(metrics, {})
    with pytest.raises(ValueError, match="likes"):
        compute_rewards(metrics.drop(columns=["likes"]), {"p": DEFAULT})
    with pytest.raises(ValueError, match="views"):
        compute_rewards(_metrics([("p", "a", -3, 0, 1.0, 1, 0)]), {"p": DEFAULT})


@pytest.mark.parametrize(
    "weights",
    [
        RewardWeights(0.5, 0.3, 0.3),
        RewardWeights(-0.1, 0.6, 0.5),
        RewardWeights(float("nan"), 0.5, 0.5),
        RewardWeights(float("inf"), 0.0, 0.0),
    ],
)
def test_invalid_weights_rejected(weights: RewardWeights) -> None:
    with pytest.raises(ValueError):
        weights.validate()


@pytest.mark.parametrize(
    "weights",
    [RewardWeights(), RewardWeights(1, 0, 0), RewardWeights(0.1, 0.2, 0.7 + 5e-10)],
)
def test_valid_weights(weights: RewardWeights) -> None:
    weights.validate()


@pytest.mark.parametrize(
    ("as_of", "days", "start", "end"),
    [
        (date(2024, 3, 10), 30, datetime(2024, 2, 10), datetime(2024, 3, 11)),
        (date(2024, 3, 10), 1, datetime(2024, 3, 10), datetime(2024, 3, 11)),
        (date(2024, 12, 31), 7, datetime(2024, 12, 25), datetime(2025, 1, 1)),
    ],
)
def test_window_bounds(as_of: date, days: int, start: datetime, end: datetime) -> None:
    assert window_bounds(as_of, days) == (start, end)
    assert window_bounds(as_of, days)[0].tzinfo is None


@pytest.mark.parametrize("days", [0, -1, True])
def test_window_bounds_rejects_bad_days(days: int) -> None:
    with pytest.raises(ValueError, match="days"):
        window_bounds(date(2024, 1, 1), days)
