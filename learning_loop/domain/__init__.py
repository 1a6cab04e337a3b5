"""Pure domain core of the learning loop: recipes, rewards, stats, verdicts and the samplers.

The names below are reached lazily: `learning_loop.domain.dates` (which every command needs)
must not pull in scipy and pandas, which only the verdicts and the pure reward functions use.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "BatchPlan": "batch",
    "DEFAULT_PRESETS": "recipe",
    "DEFAULT_RECIPE": "recipe",
    "DENSITY_BUCKETS": "recipe",
    "ENDING_TYPES": "recipe",
    "HOOK_TYPES": "recipe",
    "InvalidRawValue": "buckets",
    "InvalidRecipe": "recipe",
    "InvalidTopic": "topics",
    "MAX_BATCH_SIZE": "batch",
    "NewExperiment": "batch",
    "PlannerSettings": "batch",
    "RECIPE_FIELDS": "recipe",
    "RankedRecipe": "batch",
    "Recipe": "recipe",
    "Recommendation": "batch",
    "RewardWeights": "rewards",
    "RunningExperiment": "batch",
    "SCENE_COUNT_MAX": "recipe",
    "SCENE_COUNT_MIN": "recipe",
    "SamplerState": "batch",
    "SkippedTopic": "batch",
    "Verdict": "experiments",
    "WPM_BUCKETS": "recipe",
    "clean_topic": "topics",
    "compute_rewards": "rewards",
    "density_bucket": "buckets",
    "explore_slot_count": "sampler",
    "field_values": "recipe",
    "format_field_value": "recipe",
    "midrank_percentiles": "rewards",
    "mutations": "sampler",
    "normalize_topic": "topics",
    "parse_field_value": "recipe",
    "plan_batch": "sampler",
    "recipe_hash": "recipe",
    "recipe_stats": "stats",
    "should_complete": "experiments",
    "top_recipes": "sampler",
    "topic_hash": "topics",
    "validate_preset": "recipe",
    "welch_verdict": "experiments",
    "window_bounds": "rewards",
    "wpm_bucket": "buckets",
}

__all__ = [
    "DEFAULT_PRESETS",
    "DEFAULT_RECIPE",
    "DENSITY_BUCKETS",
    "ENDING_TYPES",
    "HOOK_TYPES",
    "MAX_BATCH_SIZE",
    "RECIPE_FIELDS",
    "SCENE_COUNT_MAX",
    "SCENE_COUNT_MIN",
    "WPM_BUCKETS",
    "BatchPlan",
    "InvalidRawValue",
    "InvalidRecipe",
    "InvalidTopic",
    "NewExperiment",
    "PlannerSettings",
    "RankedRecipe",
    "Recipe",
    "Recommendation",
    "RewardWeights",
    "RunningExperiment",
    "SamplerState",
    "SkippedTopic",
    "Verdict",
    "clean_topic",
    "compute_rewards",
    "density_bucket",
    "explore_slot_count",
    "field_values",
    "format_field_value",
    "midrank_percentiles",
    "mutations",
    "normalize_topic",
    "parse_field_value",
    "plan_batch",
    "recipe_hash",
    "recipe_stats",
    "should_complete",
    "top_recipes",
    "topic_hash",
    "validate_preset",
    "welch_verdict",
    "wpm_bucket",
    "window_bounds",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
