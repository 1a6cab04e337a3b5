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

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
