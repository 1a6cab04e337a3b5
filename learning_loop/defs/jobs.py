"""Jobs: the two daily asset jobs and `plan_next_batch` (`video_plans` is in its own module,
`run_config` turns a requested run into run config)."""

import datetime as dt
import uuid

from dagster import (
    AssetMaterialization,
    AssetSelection,
    AssetSpec,
    Config,
    OpExecutionContext,
    RunConfig,
    define_asset_job,
    in_process_executor,
    job,
    op,
)
from sqlalchemy.exc import OperationalError

from learning_loop.defs.assets import (
    GROUP,
    DailyConfig,
    experiment_verdicts,
    metric_window,
    recipe_stats,
    video_rewards,
)
from learning_loop.defs.resources import LearningLoopDatabase, retry_transient_errors
from learning_loop.domain.statuses import PlanRequestStatus
from learning_loop.services.plan_requests import get_plan_request, mark_plan_request
from learning_loop.services.planning import plan_and_write

STATS_OPS = ("metric_window", "video_rewards", "recipe_stats")

update_recipe_stats_job = define_asset_job(
    "update_recipe_stats",
    selection=AssetSelection.assets(metric_window, video_rewards, recipe_stats),
    description="The day's rewards, then the recipe stats (contract §3-§4), with their checks.",
)

evaluate_experiments_job = define_asset_job(
    "evaluate_experiments",
    selection=AssetSelection.assets(experiment_verdicts),
    description="Verdicts of the experiments that complete on the day (contract §7).",
)


# What `plan_next_batch` writes, in the lineage: planned from the recipe stats and the verdicts,
# and read by `video_plans`. A job of ops (one run per plan request, not per date) writes it,
# and records each batch as a materialization of it (docs/decisions.md, "The loop in the UI").
planned_batches = AssetSpec(
    "planned_batches",
    group_name=GROUP,
    deps=[recipe_stats, experiment_verdicts],
    description="The batches and their video jobs: 70% exploit (the best recipes by estimate), "
    "30% explore (one-variable experiments); written by the plan_next_batch job, one run per "
    "plan request (contract §5-§6).",
)


class PlanConfig(Config):
    """Either a plan request to fulfil, or a project to plan for directly."""

    plan_request_id: str | None = None
    project_id: str | None = None
    n: int = 5
    topics: list[str] | None = None
    seed: int | None = None
    from_backlog: bool = False
    planned_at: str | None = None  # ISO 8601; dates the batch when replaying history


@op(description="Plan a batch and write it with its jobs in one transaction (contract §6).")
@retry_transient_errors()
def plan_batch_op(
    context: OpExecutionContext, config: PlanConfig, learning_loop_db: LearningLoopDatabase
) -> None:
    # Returns nothing on purpose: an output would be pickled by the IO manager onto local
    # disk, and every piece of state belongs in the database (see deploy/README.md).
    db = learning_loop_db.database()
    request_id = uuid.UUID(config.plan_request_id) if config.plan_request_id else None
    planned_at = dt.datetime.fromisoformat(config.planned_at) if config.planned_at else None
    if request_id is None:
        if not config.project_id:
            raise ValueError("plan_next_batch needs a plan_request_id or a project_id")
        out = plan_and_write(
            db,
            uuid.UUID(config.project_id),
            config.n,
            config.topics,
            config.seed,
            from_backlog=config.from_backlog,
            planned_at=planned_at,
        )
    else:
        request = get_plan_request(db, request_id)
        mark_plan_request(db, request_id, PlanRequestStatus.RUNNING, run_id=context.run_id)
        try:
            out = plan_and_write(
                db,
                request.project_id,
                request.n,
                request.topics,
                request.seed,
                plan_request_id=request_id,
                planned_at=planned_at,
            )
        except OperationalError:
            # Transient: the request stays running and the step is retried.
            raise
        except Exception as exc:
            mark_plan_request(
                db, request_id, PlanRequestStatus.FAILED, run_id=context.run_id, error=str(exc)
            )
            raise
        mark_plan_request(db, request_id, PlanRequestStatus.SUCCEEDED, batch_id=out.batch.id)
    batch = out.batch
    metadata: dict[str, str | int] = {
        "batch_id": str(batch.id),
        "project_id": str(batch.project_id),
        "jobs_created": batch.jobs_created,
        "exploit": batch.exploit_count,
        "explore": batch.explore_count,
        "skipped_topics": len(out.skipped_topics),
    }
    context.add_output_metadata(output_name="result", metadata=metadata)
    context.log_event(AssetMaterialization(asset_key=planned_batches.key, metadata=metadata))
    context.log.info(
        f"batch {batch.id}: {batch.exploit_count} exploit + {batch.explore_count} explore"
        + (f"; {batch.note}" if batch.note else "")
    )


@job(
    executor_def=in_process_executor,
    description="Plan the next batch of videos: 70% exploit, 30% explore (contract §5-§6).",
)
def plan_next_batch() -> None:
    plan_batch_op()


def stats_run_config(project_id: str | None = None, days: int | None = None) -> RunConfig:
    """Run config of `update_recipe_stats`: the project (None: every project) and window
    (None: each project's own `window_days`)."""
    config = DailyConfig(project_id=project_id, days=days)
    return RunConfig(ops={name: config for name in STATS_OPS})


def experiments_run_config(project_id: str | None = None) -> RunConfig:
    return RunConfig(ops={"experiment_verdicts": DailyConfig(project_id=project_id)})


def plan_run_config(config: PlanConfig) -> RunConfig:
    return RunConfig(ops={"plan_batch_op": config})
