"""Daily-partitioned assets: thin wrappers that read, compute and write through the services."""
# Dagster reads these signatures at definition time: no `from __future__ import annotations`.

import datetime as dt
import uuid
from typing import Any

from dagster import (
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)

from learning_loop.defs.metadata import ROW_COUNT, md_table
from learning_loop.defs.partitions import daily_partitions
from learning_loop.defs.resources import LearningLoopDatabase, retry_transient_errors
from learning_loop.domain.formatting import interval_text
from learning_loop.domain.refs import short_id
from learning_loop.services.estimates import insights
from learning_loop.services.experiments import evaluate_experiments
from learning_loop.services.recipes import compute_recipe_stats, top_recipes_of_day
from learning_loop.services.rewards import compute_rewards_for_date, window_summary
from learning_loop.services.run_metadata import NONE

GROUP = "learning_loop"


class DailyConfig(Config):
    """Limit a run to one project (default: every project); `days` is the recipe stats window
    (default: each project's own `window_days`)."""

    project_id: str | None = None
    days: int | None = None


def partition_date(context: AssetExecutionContext) -> dt.date:
    return dt.date.fromisoformat(context.partition_key)


def project_scope(config: DailyConfig) -> list[uuid.UUID] | None:
    return [uuid.UUID(config.project_id)] if config.project_id else None


@asset(
    partitions_def=daily_partitions,
    group_name=GROUP,
    # The snapshots: the collector's, and those imported or posted (contract §12).
    deps=["collected_metrics"],
    description="Each project's reward window of the day: videos published in the window "
    "and their latest metric snapshot captured by the end of the day (contract §3).",
)
@retry_transient_errors()
def metric_window(
    context: AssetExecutionContext, config: DailyConfig, learning_loop_db: LearningLoopDatabase
) -> MaterializeResult[None]:
    summary = window_summary(
        learning_loop_db.database(), partition_date(context), project_scope(config)
    )
    counts = summary.videos_per_project
    largest = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:10]
    return MaterializeResult(
        metadata={
            "videos_in_window": sum(counts.values()),
            "projects": summary.projects,
            "projects_with_videos": len(counts),
            "largest_windows": md_table(("project", "videos"), largest, "No video in a window."),
        }
    )


@asset(
    partitions_def=daily_partitions,
    group_name=GROUP,
    deps=[metric_window],
    description="Every window video's percentiles and reward for the day (contract §3).",
)
@retry_transient_errors()
def video_rewards(
    context: AssetExecutionContext, config: DailyConfig, learning_loop_db: LearningLoopDatabase
) -> MaterializeResult[None]:
    result = compute_rewards_for_date(
        learning_loop_db.database(),
        partition_date(context),
        project_scope(config),
        history_days=learning_loop_db.settings().reward_history_days,
    )
    return MaterializeResult(
        metadata={
            ROW_COUNT: result.videos_rewarded,
            "rows": result.videos_rewarded,
            "projects": result.projects,
            "projects_touched": len(result.per_project),
            "retired_dates": ", ".join(d.isoformat() for d in result.retired_dates) or NONE,
            "settled_rewards": result.settled_rewards,
            "history_rewarded": result.history_rewarded,
        }
    )


@asset(
    partitions_def=daily_partitions,
    group_name=GROUP,
    deps=[video_rewards],
    description="Per recipe: mean and best current reward over the window, times used, and the "
    "estimate of its expected reward with a 95% interval from the model of the whole weighted "
    "history (contract §4).",
)
@retry_transient_errors()
def recipe_stats(
    context: AssetExecutionContext, config: DailyConfig, learning_loop_db: LearningLoopDatabase
) -> MaterializeResult[None]:
    db = learning_loop_db.database()
    day = partition_date(context)
    result = compute_recipe_stats(db, day, config.days, project_scope(config))
    scope = project_scope(config)
    top = top_recipes_of_day(db, day, scope[0] if scope else None)
    table = md_table(
        (
            "recipe", "preset", "hook", "scenes", "wpm", "captions", "ending",
            "estimate [95%]", "videos", "avg", "best",
        ),
        (
            (
                r.recipe_hash[:12], r.preset, r.hook_type, r.scene_count,
                r.narration_wpm_bucket, r.caption_density_bucket, r.ending_type,
                interval_text(r.estimate, r.estimate_low, r.estimate_high),
                r.rewarded_videos, f"{r.avg_reward_score:.3f}", f"{r.best_reward_score:.3f}",
            )
            for r in top
        ),
        "No recipe has a reward in the window.",
    )  # fmt: skip
    extra: dict[str, Any] = {}
    if scope and len(scope) == 1:
        found = insights(db, scope[0])
        extra["insights"] = MetadataValue.md("\n".join(f"- {f.summary}" for f in found.fields))
    return MaterializeResult(
        metadata={
            ROW_COUNT: result.recipes,
            "recipes": result.recipes,
            "rewarded_recipes": result.rewarded_recipes,
            "estimated_recipes": result.estimated_recipes,
            **extra,
            "projects": result.projects,
            "window_days": result.days if result.days is not None else "each project's own",
            "top_recipes": table,
        }
    )


@asset(
    partitions_def=daily_partitions,
    group_name=GROUP,
    deps=[video_rewards],
    description="Verdicts of the experiments that completed that day: an always-valid early "
    "decision, or one Welch test once the variant has min_samples and the baseline twice that, "
    "or at the deadline (contract §7).",
)
@retry_transient_errors()
def experiment_verdicts(
    context: AssetExecutionContext, config: DailyConfig, learning_loop_db: LearningLoopDatabase
) -> MaterializeResult[None]:
    result = evaluate_experiments(
        learning_loop_db.database(), partition_date(context), project_scope(config)
    )
    table = md_table(
        ("experiment", "variable", "baseline → variant", "winner", "reason", "diff", "p"),
        (
            (
                short_id(d.experiment_id),
                d.variable_tested,
                f"{d.baseline_value} → {d.variant_value}",
                d.winner,
                d.reason,
                "-" if d.difference is None else f"{d.difference:+.3f}",
                "-" if d.p_value is None else f"{d.p_value:.3f}",
            )
            for d in result.decisions
        ),
        "No verdict today.",
    )
    return MaterializeResult(
        metadata={
            "evaluated": result.evaluated,
            "completed": result.completed,
            "still_running": result.still_running,
            "verdicts": table,
        }
    )


daily_assets = [metric_window, video_rewards, recipe_stats, experiment_verdicts]
