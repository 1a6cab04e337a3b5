"""`DagsterRuns`: the services' `RunLauncher` over the deployment's Dagster instance.

- `run` executes a job in this process (`execute_in_process`), recorded in the instance like
  any run: the `--wait` commands and the demo need no daemon.
- `submit` creates the run in the instance with the code location's origin and hands it to
  the instance's run coordinator. With the QueuedRunCoordinator (every configuration this
  project ships) the run is QUEUED; the daemon then starts it through the deployment's run
  launcher (a local process, a Celery worker, a Kubernetes pod). With no daemon running, the
  run stays QUEUED until one starts, and `daemon_note` says so.
"""

from __future__ import annotations

import shlex
import sys
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from learning_loop.defs.partitions import add_evaluation_date
from learning_loop.defs.reaper import (
    REAPED_REASON_TAG,
    REAPED_TAG,
    owner_tags,
    reap_dead_runs,
)
from learning_loop.errors import InvalidInput, NotFound
from learning_loop.launch.instance import instance_kind, open_instance
from learning_loop.services.runs import RunInfo, RunSpec
from learning_loop.settings import Settings

if TYPE_CHECKING:
    from dagster import DagsterInstance
    from dagster._core.remote_representation.code_location import CodeLocation

# The code location of workspace.yaml: a submitted run names it, and the daemon finds it there.
LOCATION_NAME = "learning_loop"
DEFS_MODULE = "learning_loop.defs"
# A daemon beats every few seconds; one silent this long is taken as not running.
DAEMON_SILENCE_S = 60.0
NO_DAEMON = "no Dagster daemon serves this instance: {waiting} until one starts ({start})"
DAEMON_COMMAND = "dagster-daemon run -w workspace.yaml"


def start_daemon_hint(settings: Settings) -> str:
    """How to start a daemon on the instance of `settings`, for the `daemon_note`.

    The daemon's runs read the product database from the environment, so it needs the same
    environment as the process that submitted the run, whichever command starts it.
    """
    kind = instance_kind(settings)
    if kind == "postgres":
        # No DAGSTER_HOME: the instance is in the database; `make dev` writes the home it needs.
        return (
            f"`make dev`, or `{DAEMON_COMMAND}` with DAGSTER_HOME on a folder holding a copy of "
            "deploy/postgres/dagster.yaml, in the repository root with the same "
            "LEARNING_LOOP_DATABASE_URL"
        )
    home = shlex.quote(str(settings.resolved_dagster_home))
    daemon = f"`DAGSTER_HOME={home} {DAEMON_COMMAND}`"
    if kind == "dagster_home":
        return f"{daemon}, or `make dev`, in the repository root with the same environment"
    # The embedded default: `make dev` finds LEARNING_LOOP_HOME's instance by itself.
    return f"`make dev`, or {daemon}, in the repository root with the same environment"


class DagsterRuns:
    """Starts the loop's jobs in the instance of `settings`; one per process is enough."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._instance: DagsterInstance | None = None
        self._location: CodeLocation | None = None
        self._lock = threading.Lock()
        self._settings_key: str | None = None

    # -- the instance and the code location, opened on first use -----------------------------

    def instance(self) -> DagsterInstance:
        with self._lock:
            if self._instance is None:
                self._instance = open_instance(self.settings)
            return self._instance

    def _code_location(self) -> CodeLocation:
        from dagster._core.remote_origin import InProcessCodeLocationOrigin
        from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

        instance = self.instance()
        with self._lock:
            if self._location is None:
                origin = InProcessCodeLocationOrigin(
                    loadable_target_origin=LoadableTargetOrigin(
                        executable_path=sys.executable, module_name=DEFS_MODULE
                    ),
                    location_name=LOCATION_NAME,
                )
                self._location = origin.create_location(instance)
            return self._location

    def close(self) -> None:
        from learning_loop.defs.resources import forget_settings

        with self._lock:
            if self._settings_key is not None:
                forget_settings(self._settings_key)
                self._settings_key = None
            if self._location is not None:
                self._location.cleanup()
                self._location = None
            if self._instance is not None:
                self._instance.dispose()
                self._instance = None

    # -- RunLauncher ---------------------------------------------------------------------------

    def run(self, spec: RunSpec) -> RunInfo:
        from learning_loop.defs import defs
        from learning_loop.defs.resources import LearningLoopDatabase, register_settings
        from learning_loop.defs.run_config import run_config_for

        job = defs.resolve_job_def(spec.job.value)
        instance = self.instance()
        reap_dead_runs(instance)
        with self._lock:
            if self._settings_key is None:
                self._settings_key = register_settings(self.settings)
        run_config = run_config_for(spec)
        if spec.partition_key is not None:
            add_evaluation_date(instance, spec.partition_key)
        # The run's full log is in the instance (and the UI); a terminal gets our summary.
        run_config.loggers = {"console": {"config": {"log_level": "CRITICAL"}}}
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            partition_key=spec.partition_key,
            # This process owns the run: if it dies, the next command or the daemon reaps it.
            tags={**spec.tags, **owner_tags()},
            run_id=spec.run_id,
            raise_on_error=False,
            # The settings by key, never the URL itself (see `register_settings`).
            resources={"learning_loop_db": LearningLoopDatabase(settings_key=self._settings_key)},
        )
        run = instance.get_run_by_id(result.run_id)
        return RunInfo(
            run_id=result.run_id,
            job_name=spec.job.value,
            status=run.status.value if run is not None else "UNKNOWN",
            partition_key=spec.partition_key,
            success=result.success,
            error=None if result.success else _failure_message(result.all_events),
            metadata=_materialized_metadata(result.all_events) or None,
        )

    def submit(self, spec: RunSpec) -> RunInfo:
        from dagster import DagsterRunStatus
        from dagster._core.definitions.selector import JobSubsetSelector
        from dagster._core.run_coordinator import QueuedRunCoordinator
        from dagster._core.storage.tags import PARTITION_NAME_TAG

        from learning_loop.defs.run_config import run_config_for

        instance = self.instance()
        reap_dead_runs(instance)  # a dead run's slot is free before this one queues
        if not isinstance(instance.run_coordinator, QueuedRunCoordinator):
            # Any other coordinator launches at once, which needs a code server we do not have.
            raise InvalidInput(
                "this Dagster instance does not queue runs (its run_coordinator is "
                f"{type(instance.run_coordinator).__name__}); configure the "
                "QueuedRunCoordinator, or run the command with --wait",
                "run_coordinator",
            )
        location = self._code_location()
        repository = next(iter(location.get_repositories().values()))
        # Dagster leaves RunConfig.to_config_dict unannotated.
        run_config: dict[str, Any] = run_config_for(spec).to_config_dict()  # type: ignore[no-untyped-call]
        tags = dict(spec.tags)
        if spec.partition_key is not None:
            add_evaluation_date(instance, spec.partition_key)
            tags[PARTITION_NAME_TAG] = spec.partition_key
        remote_job = location.get_job(
            JobSubsetSelector(
                location_name=location.name,
                repository_name=repository.name,
                job_name=spec.job.value,
                op_selection=None,
            )
        )
        plan = location.get_execution_plan(
            remote_job, run_config, step_keys_to_execute=None, known_state=None, instance=instance
        )
        snapshot = plan.execution_plan_snapshot
        run = instance.create_run(
            job_name=spec.job.value,
            run_id=spec.run_id,
            run_config=run_config,
            status=None,
            tags={**remote_job.tags, **tags},
            root_run_id=None,
            parent_run_id=None,
            step_keys_to_execute=snapshot.step_keys_to_execute,
            execution_plan_snapshot=snapshot,
            job_snapshot=remote_job.job_snapshot,
            parent_job_snapshot=remote_job.parent_job_snapshot,
            asset_selection=None,
            asset_check_selection=None,
            resolved_op_selection=remote_job.resolved_op_selection,
            op_selection=None,
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
            asset_graph=repository.asset_graph,
        )
        # The queued coordinator only records the run as QUEUED; it needs no workspace.
        submitted = instance.submit_run(run.run_id, workspace=None)  # type: ignore[arg-type]
        queued = submitted.status == DagsterRunStatus.QUEUED
        return RunInfo(
            run_id=run.run_id,
            job_name=spec.job.value,
            status=submitted.status.value,
            partition_key=spec.partition_key,
            note=self.daemon_note() if queued else None,
        )

    def status(self, run_id: str) -> RunInfo:
        reap_dead_runs(self.instance())  # a run whose process died is not reported running
        run = self.instance().get_run_by_id(run_id)
        if run is None:
            raise NotFound(f"no run {run_id} in this Dagster instance", "run_id")
        return _info(run)

    def recent(
        self, limit: int = 20, reaped_only: bool = False, project_id: uuid.UUID | None = None
    ) -> list[RunInfo]:
        from dagster import RunsFilter

        instance = self.instance()
        reap_dead_runs(instance)
        tags = {REAPED_TAG: "true"} if reaped_only else {}
        if project_id is not None:
            tags["project_id"] = str(project_id)
        filters = RunsFilter(tags=tags) if tags else None
        return [_info(r) for r in instance.get_runs(filters=filters, limit=limit)]

    def daemon_note(self, waiting: str = "the run stays QUEUED") -> str | None:
        beats = self.instance().get_daemon_heartbeats()
        beat = beats.get("QUEUED_RUN_COORDINATOR")
        if beat is None or time.time() - beat.timestamp > DAEMON_SILENCE_S:
            return NO_DAEMON.format(waiting=waiting, start=start_daemon_hint(self.settings))
        return None


def _info(run: Any) -> RunInfo:
    """A stored run as the services see it."""
    return RunInfo(
        run_id=run.run_id,
        job_name=run.job_name,
        status=run.status.value,
        partition_key=run.tags.get("dagster/partition"),
        success={"SUCCESS": True, "FAILURE": False, "CANCELED": False}.get(run.status.value),
        error=run.tags.get(REAPED_REASON_TAG),
        project_id=run.tags.get("project_id") or None,
    )


def _materialized_metadata(events: Any) -> dict[str, float | int | str | None]:
    """The plain values (numbers, text) the run's asset materializations recorded."""
    found: dict[str, float | int | str | None] = {}
    for event in events:
        if not event.is_step_materialization:
            continue
        for label, entry in event.step_materialization_data.materialization.metadata.items():
            value = getattr(entry, "value", None)
            if value is None or isinstance(value, int | float | str):
                found[label] = value
    return found


def _failure_message(events: Any) -> str:
    """The root cause of the first failed step, in one line."""
    for event in events:
        if event.is_step_failure and event.event_specific_data is not None:
            error = event.event_specific_data.error
            while error.cause is not None:
                error = error.cause
            return f"{event.step_key}: {error.message.strip().splitlines()[-1]}"
    return "the run failed"
