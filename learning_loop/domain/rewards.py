"""Vectorised reward computation: engagement, mid-rank percentiles per window, weighted reward.

Arithmetic is ordered to be bit-identical with the SQL window-function version (contract §3).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # imported where used: the CLI's start must not pay for numpy and pandas
    import numpy as np
    import pandas as pd

METRIC_COLUMNS: tuple[str, ...] = (
    "project_id",
    "video_id",
    "views",
    "views_6h",
    "avg_view_duration_s",
    "likes",
    "comments",
)
REWARD_COLUMNS: tuple[str, ...] = (
    "project_id",
    "video_id",
    "engagement",
    "pct_avg_view_duration",
    "pct_views_6h",
    "pct_engagement",
    "reward",
)
_COUNT_COLUMNS = frozenset({"views", "views_6h", "likes", "comments"})
WEIGHT_SUM_TOLERANCE = 1e-9

# Any hashable project id (str UUID, int...); a TypeVar because Mapping keys are invariant.
ProjectId = TypeVar("ProjectId", bound=Hashable)


@dataclass(frozen=True)
class RewardWeights:
    avg_view_duration: float = 0.5
    views_6h: float = 0.3
    engagement: float = 0.2

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.avg_view_duration, self.views_6h, self.engagement)

    def validate(self) -> None:
        names = ("avg_view_duration", "views_6h", "engagement")
        for name, value in zip(names, self.as_tuple(), strict=True):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"reward weight {name} must be a number; got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"reward weight {name} must be finite and >= 0; got {value!r}")
        total = math.fsum(self.as_tuple())
        if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(f"reward weights must sum to 1; they sum to {total!r}")


def window_bounds(as_of: date, days: int) -> tuple[datetime, datetime]:
    """Naive-UTC [start, end) of the window of length `days` ending with the day `as_of`."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be an integer >= 1; got {days!r}")
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    end = datetime.combine(as_of + timedelta(days=1), time.min)
    start = datetime.combine(as_of - timedelta(days=days - 1), time.min)
    return start, end


def midrank_percentiles(df: pd.DataFrame, group_col: str, value_col: str) -> pd.Series:
    """Mid-rank percentile of each value within its group: (2*less + equal) / (2*N).

    The numerator and denominator are exact integers and the single division is IEEE-rounded,
    so a SQL version (RANK() - 1, COUNT(*) OVER (PARTITION BY group, value)) gives the same bits.
    """
    import numpy as np
    import pandas as pd

    if df.empty:
        return pd.Series(np.array([], dtype="float64"), index=df.index, dtype="float64")
    if df[group_col].isna().any() or df[value_col].isna().any():
        raise ValueError(f"{group_col} and {value_col} must not be null")
    groups = df.groupby(group_col, sort=False)
    less = groups[value_col].rank(method="min").to_numpy(dtype="int64") - 1
    size_codes = groups.ngroup().to_numpy()
    group_size = np.bincount(size_codes)[size_codes].astype("int64")
    equal_codes = df.groupby([group_col, value_col], sort=False).ngroup().to_numpy()
    equal = np.bincount(equal_codes)[equal_codes].astype("int64")
    numerator = 2 * less + equal
    denominator = 2 * group_size
    return pd.Series(numerator / denominator, index=df.index, dtype="float64", name=value_col)


def _check_metrics(metrics: pd.DataFrame) -> None:
    import numpy as np
    import pandas as pd

    missing = [c for c in METRIC_COLUMNS if c not in metrics.columns]
    if missing:
        raise ValueError(f"metrics is missing columns: {', '.join(missing)}")
    for column in METRIC_COLUMNS[2:]:
        values = pd.to_numeric(metrics[column], errors="coerce").to_numpy(dtype="float64")
        if not np.isfinite(values).all() or (values < 0).any():
            raise ValueError(f"metric column {column} must hold finite numbers >= 0")
        if column in _COUNT_COLUMNS and (values != np.floor(values)).any():
            raise ValueError(f"metric column {column} must hold whole numbers")


def _weight_columns(
    project_ids: pd.Series, weights: Mapping[ProjectId, RewardWeights]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import numpy as np
    import pandas as pd

    distinct = pd.unique(project_ids)
    lookup: dict[ProjectId, tuple[float, float, float]] = {}
    for project in distinct:
        if project not in weights:
            raise ValueError(f"no reward weights for project {project!r}")
        weights[project].validate()
        lookup[project] = weights[project].as_tuple()
    codes, uniques = pd.factorize(project_ids, sort=False)
    table = np.array([lookup[p] for p in uniques], dtype="float64").reshape(-1, 3)
    per_row = table[codes]
    return per_row[:, 0], per_row[:, 1], per_row[:, 2]


def compute_rewards(
    metrics: pd.DataFrame, weights: Mapping[ProjectId, RewardWeights]
) -> pd.DataFrame:
    """Rewards of the videos of one window per project (many projects at once).

    `metrics` holds one row per video already in its window; the result keeps its index order.
    """
    import numpy as np
    import pandas as pd

    _check_metrics(metrics)
    if metrics.empty:
        return pd.DataFrame(
            {
                "project_id": pd.Series([], dtype="object"),
                "video_id": pd.Series([], dtype="object"),
                **{c: pd.Series([], dtype="float64") for c in REWARD_COLUMNS[2:]},
            },
            index=metrics.index,
        )
    views = metrics["views"].to_numpy(dtype="float64")
    # Integer sum first, then one division: the same operation order as the SQL version.
    interactions = (
        metrics["likes"].to_numpy(dtype="int64") + metrics["comments"].to_numpy(dtype="int64")
    ).astype("float64")
    engagement = np.divide(
        interactions, views, out=np.zeros(len(metrics), dtype="float64"), where=views > 0
    )
    frame = pd.DataFrame(
        {
            "project_id": metrics["project_id"].to_numpy(),
            "avg_view_duration_s": metrics["avg_view_duration_s"].to_numpy(dtype="float64"),
            "views_6h": metrics["views_6h"].to_numpy(dtype="int64"),
            "engagement": engagement,
        },
        index=metrics.index,
    )
    pct_avd = midrank_percentiles(frame, "project_id", "avg_view_duration_s").to_numpy()
    pct_v6 = midrank_percentiles(frame, "project_id", "views_6h").to_numpy()
    pct_eng = midrank_percentiles(frame, "project_id", "engagement").to_numpy()
    w_avd, w_v6, w_eng = _weight_columns(metrics["project_id"], weights)
    # Left-to-right (a + b) + c, as SQL evaluates w1*p1 + w2*p2 + w3*p3.
    reward = (w_avd * pct_avd + w_v6 * pct_v6) + w_eng * pct_eng
    return pd.DataFrame(
        {
            "project_id": metrics["project_id"].to_numpy(),
            "video_id": metrics["video_id"].to_numpy(),
            "engagement": engagement,
            "pct_avg_view_duration": pct_avd,
            "pct_views_6h": pct_v6,
            "pct_engagement": pct_eng,
            "reward": reward,
        },
        index=metrics.index,
    )
