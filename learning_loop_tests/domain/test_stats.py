"""Recipe stats aggregation (contract §4)."""

import pandas as pd
import pytest

from learning_loop.domain.stats import STATS_COLUMNS, recipe_stats


def test_recipe_stats() -> None:
    rewards = pd.DataFrame(
        {"recipe_id": ["r2", "r1", "r2", "r2", "r1"], "reward": [0.2, 0.9, 0.4, 0.9, None]}
    )
    result = recipe_stats(rewards)
    assert list(result.columns) == list(STATS_COLUMNS)
    assert result["recipe_id"].tolist() == ["r1", "r2"]
    assert result["avg_reward_score"].tolist() == pytest.approx([0.9, 0.5])
    assert result["best_reward_score"].tolist() == [0.9, 0.9]
    assert result["rewarded_videos"].tolist() == [1, 3]


def test_recipe_stats_empty() -> None:
    result = recipe_stats(pd.DataFrame({"recipe_id": [], "reward": []}))
    assert result.empty and list(result.columns) == list(STATS_COLUMNS)
