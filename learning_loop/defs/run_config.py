"""The one place where a run the services ask for (`services.runs.RunSpec`) becomes Dagster run
config: above the jobs' modules, so neither imports the other for it."""

from dagster import RunConfig

from learning_loop.defs.collector import collect_run_config
from learning_loop.defs.jobs import (
    PlanConfig,
    experiments_run_config,
    plan_run_config,
    stats_run_config,
)
from learning_loop.defs.video_plans import video_plans_run_config
from learning_loop.services.runs import JobName, RunSpec


def run_config_for(spec: RunSpec) -> RunConfig:
    """The run config of the job `spec` names, for its project and options."""
    pid = str(spec.project_id)
    if spec.job is JobName.UPDATE_RECIPE_STATS:
        return stats_run_config(pid, spec.days)
    if spec.job is JobName.EVALUATE_EXPERIMENTS:
        return experiments_run_config(pid)
    if spec.job is JobName.COLLECT_METRICS:
        return collect_run_config(pid)
    if spec.job is JobName.VIDEO_PLANS:
        jobs = [str(j) for j in spec.job_ids] if spec.job_ids is not None else None
        return video_plans_run_config(pid, jobs, spec.concurrency)
    planned_at = spec.planned_at.isoformat() if spec.planned_at is not None else None
    if spec.plan_request_id is not None:
        return plan_run_config(
            PlanConfig(plan_request_id=str(spec.plan_request_id), planned_at=planned_at)
        )
    return plan_run_config(PlanConfig(project_id=pid, planned_at=planned_at))
