"""Runs whose process died are reaped, so they never hold a queue slot (issue #30). The
launcher (`learning_loop.launch`) tags its runs with their owner and reaps before each run;
the plan sensor reaps at each tick.

A run executed in a command's own process (`DagsterRuns.run`, the `--wait` commands) is owned
by that process: its tags name the host and the process (pid and start time, so a reused pid
is not mistaken for the owner). If the process is killed, Dagster would keep the run
`STARTED` for ever, and it would count against the run coordinator's `max_concurrent_runs`.
`reap_dead_runs` finds this host's runs whose owner is gone, marks them failed with the reason,
and tags them `learning_loop/reaped` (the reason in `learning_loop/reaped_reason`). It runs
before every run a launcher starts, submits or looks up, and at each tick of the daemon's
`plan_requests_sensor`.

Runs the daemon launches are watched by Dagster's own run monitoring (enabled in every shipped
instance), which fails a run whose worker stopped, where the run launcher can tell.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster import DagsterInstance

OWNER_HOST_TAG = "learning_loop/owner_host"
OWNER_PROCESS_TAG = "learning_loop/owner_process"
REAPED_TAG = "learning_loop/reaped"  # "true" on a reaped run
REAPED_REASON_TAG = "learning_loop/reaped_reason"


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # Fields after the command (which may hold spaces) start after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19]  # field 22 of stat: starttime


def owner_tags() -> dict[str, str]:
    """The tags that name this process as a run's owner."""
    pid = os.getpid()
    return {
        OWNER_HOST_TAG: socket.gethostname(),
        OWNER_PROCESS_TAG: f"{pid}:{_start_ticks(pid) or ''}",
    }


def owner_alive(process: str) -> bool:
    """Whether the process a run's tag names (on this host) still runs."""
    pid_text, _, ticks = process.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    found = _start_ticks(pid)
    if found is None:
        return False
    return not ticks or found == ticks


def reap_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark failed this host's in-process runs whose owner died; their ids."""
    from dagster import DagsterRunStatus, RunsFilter

    live = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
    host = socket.gethostname()
    reaped: list[str] = []
    for run in instance.get_runs(
        filters=RunsFilter(statuses=live, tags={OWNER_HOST_TAG: host}), limit=1000
    ):
        process = run.tags.get(OWNER_PROCESS_TAG, "")
        if owner_alive(process):
            continue
        reason = (
            f"reaped: the process that ran it ({host}, pid {process.partition(':')[0]}) "
            "ended without finishing it (killed?)"
        )
        instance.report_run_failed(run, message=reason)
        instance.add_run_tags(run.run_id, {REAPED_TAG: "true", REAPED_REASON_TAG: reason})
        reaped.append(run.run_id)
    return reaped
