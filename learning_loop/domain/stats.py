"""Per-recipe reward aggregates (contract §4) from each video's latest reward."""

from __future__ import annotations

import pandas as pd

STATS_COLUMNS: tuple[str, ...] = (
    "recipe_id",
    "avg_reward_score",
    "best_reward_score",
    "rewarded_videos",
)


def recipe_stats(rewards: pd.DataFrame) -> pd.DataFrame:
    """Mean, max and count of the rewards per recipe; one input row per video.

    Rows with a null reward are not rewarded and are ignored. Output is sorted by recipe_id.
    """
    missing = [c for c in ("recipe_id", "reward") if c not in rewards.columns]
    if missing:
        raise ValueError(f"rewards is missing columns: {', '.join(missing)}")
    rewarded = rewards.loc[rewards["reward"].notna(), ["recipe_id", "reward"]]
    if rewarded.empty:
        return pd.DataFrame(
            {
                "recipe_id": pd.Series([], dtype="object"),
                "avg_reward_score": pd.Series([], dtype="float64"),
                "best_reward_score": pd.Series([], dtype="float64"),
                "rewarded_videos": pd.Series([], dtype="int64"),
            }
        )
    rewarded = rewarded.astype({"reward": "float64"})
    grouped = rewarded.groupby("recipe_id", sort=True)["reward"]
    result = grouped.agg(
        avg_reward_score="mean", best_reward_score="max", rewarded_videos="size"
    ).reset_index()
    return result.astype({"rewarded_videos": "int64"})[list(STATS_COLUMNS)]
