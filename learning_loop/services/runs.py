"""Launching the loop's Dagster jobs from the CLI and the API, into the configured instance.

The one place outside `defs` that knows Dagster: it imports the Definitions lazily, when a run
is launched, so the CLI and the API stay quick to start.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from learning_loop.db.engine import Database
from learning_loop.services.errors import InvalidInput, NotFound
from learning_loop.services.plan_requests import create_plan_request, get_plan_request
from learning_loop.services.projects import get_project
from learning_loop.services.recipes import check_days
from learning_loop.services.views import PlanRequestView
from learning_loop.settings import Settings

EMBEDDED_DAGSTER_YAML = """\
# Written by Learning Loop for the embedded default: SQLite storage in this folder.
telemetry:
  enabled: false
"""


class RunInfo(BaseModel):
    run_id: str
    job_name: str
    status: str
    partition_key: str | None = None
    success: bool | None = None
    error: str | None = None


def dagster_instance(settings: Settings) -> Any:
    """The Dagster instance of these settings: `DAGSTER_HOME`, else `<home>/dagster`."""
    from dagster import DagsterInstance

    home = settings.resolved_dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() and settings.dagster_home is None:
        config.write_text(EMBEDDED_DAGSTER_YAML)
    return DagsterInstance.from_config(str(home))


def _env_for(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["LEARNING_LOOP_HOME"] = str(Path(settings.home).resolve())
    env["DAGSTER_HOME"] = str(settings.resolved_dagster_home)
    if settings.database_url:
        env["LEARNING_LOOP_DATABASE_URL"] = settings.database_url
    return env


def run_job(
    settings: Settings,
    job_name: str,
    *,
    partition_key: str | None = None,
    run_config: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    run_id: str | None = None,
) -> RunInfo:
    """Run a job in this process against the instance; it shows in the UI like any run."""
    from learning_loop.defs import defs
    from learning_loop.defs.resources import LearningLoopDatabase

    job = defs.resolve_job_def(job_name)
    instance = dagster_instance(settings)
    try:
        result = job.execute_in_process(
            # The run's full log is in the instance (and the UI); a terminal gets our summary.
            run_config={
                **(run_config or {}),
                "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
            },
            instance=instance,
            partition_key=partition_key,
            tags=tags,
            run_id=run_id,
            raise_on_error=False,
            resources={
                "learning_loop_db": LearningLoopDatabase(
                    database_url=settings.database_url, home=str(Path(settings.home).resolve())
                )
            },
        )
        error = None
        if not result.success:
            error = _failure_message(result)
        status = instance.get_run_by_id(result.run_id).status.value
        return RunInfo(
            run_id=result.run_id,
            job_name=job_name,
            status=status,
            partition_key=partition_key,
            success=result.success,
            error=error,
        )
    finally:
        instance.dispose()


def _failure_message(result: Any) -> str:
    """The root cause of the first failed step, in one line."""
    for event in result.all_events:
        if event.is_step_failure and event.event_specific_data is not None:
            error = event.event_specific_data.error
            while error.cause is not None:
                error = error.cause
            return f"{event.step_key}: {error.message.strip().splitlines()[-1]}"
    return "the run failed"


def start_job(
    settings: Settings,
    job_name: str,
    *,
    partition_key: str | None = None,
    run_config: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> RunInfo:
    """Start a run in a separate process and return at once with its id."""
    run_id = str(uuid.uuid4())
    spec = {
        "job_name": job_name,
        "partition_key": partition_key,
        "run_config": run_config,
        "tags": tags,
        "run_id": run_id,
    }
    log_dir = settings.resolved_dagster_home / "launches"
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{run_id}.log").open("w") as log:
        subprocess.Popen(
            [sys.executable, "-m", "learning_loop.services.runs", json.dumps(spec)],
            env=_env_for(settings),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return RunInfo(run_id=run_id, job_name=job_name, status="STARTING", partition_key=partition_key)


def run_status(settings: Settings, run_id: str) -> RunInfo:
    instance = dagster_instance(settings)
    try:
        run = instance.get_run_by_id(run_id)
        if run is None:
            raise NotFound(f"no run {run_id}", "run_id")
        return RunInfo(
            run_id=run_id,
            job_name=run.job_name,
            status=run.status.value,
            partition_key=run.tags.get("dagster/partition"),
        )
    finally:
        instance.dispose()


def _daily_config(project_id: uuid.UUID, days: int | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"project_id": str(project_id)}
    if days is not None:
        config["days"] = days
    return config


def _stats_request(
    db: Database, project_id: Any, as_of: dt.date | None, days: Any
) -> tuple[str, dict[str, Any], dict[str, str]]:
    check_days(days)
    with db.read() as session:
        pid = get_project(session, project_id).id
    day = (as_of or dt.datetime.now(dt.UTC).date()).isoformat()
    config = _daily_config(pid, days)
    run_config = {
        "ops": {
            name: {"config": config} for name in ("metric_window", "video_rewards", "recipe_stats")
        }
    }
    return day, run_config, {"project_id": str(pid)}


def run_update_stats(
    settings: Settings, db: Database, project_id: Any, as_of: dt.date | None, days: Any = 30
) -> RunInfo:
    day, run_config, tags = _stats_request(db, project_id, as_of, days)
    return run_job(
        settings, "update_recipe_stats", partition_key=day, run_config=run_config, tags=tags
    )


def start_update_stats(
    settings: Settings, db: Database, project_id: Any, as_of: dt.date | None, days: Any = 30
) -> RunInfo:
    day, run_config, tags = _stats_request(db, project_id, as_of, days)
    return start_job(
        settings, "update_recipe_stats", partition_key=day, run_config=run_config, tags=tags
    )


def run_evaluate_experiments(
    settings: Settings, db: Database, project_id: Any, as_of: dt.date | None
) -> RunInfo:
    with db.read() as session:
        pid = get_project(session, project_id).id
    day = (as_of or dt.datetime.now(dt.UTC).date()).isoformat()
    run_config = {"ops": {"experiment_verdicts": {"config": _daily_config(pid)}}}
    return run_job(
        settings,
        "evaluate_experiments",
        partition_key=day,
        run_config=run_config,
        tags={"project_id": str(pid)},
    )


def run_plan_request(
    settings: Settings,
    db: Database,
    project_id: Any,
    n: Any,
    topics: list[str] | None,
    seed: Any,
    source: str = "cli",
    planned_at: dt.datetime | None = None,
) -> tuple[PlanRequestView, RunInfo]:
    """Write a plan request and fulfil it now in a `plan_next_batch` run (`--wait`).

    The request is marked running with its run id before the run starts, so the sensor,
    which only picks pending requests, never plans it a second time.
    """
    from learning_loop.services.plan_requests import mark_plan_request

    request = create_plan_request(db, project_id, n, topics, seed, source=source)
    run_id = str(uuid.uuid4())
    if not mark_plan_request(db, request.id, "running", run_id=run_id, only_if=["pending"]):
        raise InvalidInput("the plan request was taken by another planner", "plan_request")
    op_config: dict[str, Any] = {"plan_request_id": str(request.id)}
    if planned_at is not None:
        op_config["planned_at"] = planned_at.isoformat()
    info = run_job(
        settings,
        "plan_next_batch",
        run_config={"ops": {"plan_batch_op": {"config": op_config}}},
        tags={
            "plan_request_id": str(request.id),
            "project_id": str(request.project_id),
            "source": source,
        },
        run_id=run_id,
    )
    return get_plan_request(db, request.id), info


def _main(spec_json: str) -> int:
    from learning_loop.settings import load_settings

    spec = json.loads(spec_json)
    info = run_job(load_settings(), **spec)
    return 0 if info.success else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))
