"""A killed `--wait` command never blocks the queue (issue #30, finding 1): its run, left
`STARTED` by the dead process, is reaped by the next command, failed with the reason, and no
longer counts against the coordinator's limit. On both databases, with real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from dagster import DagsterRunStatus

from learning_loop.defs.reaper import REAPED_REASON_TAG, REAPED_TAG
from learning_loop.launch.instance import open_instance
from learning_loop.settings import Settings
from learning_loop_tests.fake_llm import fake_llm_server
from learning_loop_tests.processes import BIN, clean_env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "shorts-engine"), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_killed_waiting_command_is_reaped_by_the_next_one(database_url, tmp_path: Path):
    with fake_llm_server() as llm:
        llm.script = [("hang",)]  # the model never answers: the run stays STARTED
        env = clean_env(
            LEARNING_LOOP_HOME=str(tmp_path / "home"),
            LEARNING_LOOP_DATABASE_URL=database_url,
            LEARNING_LOOP_LLM_BASE_URL=llm.url,
            LEARNING_LOOP_LLM_MODEL="fake-model",
            LEARNING_LOOP_LLM_TIMEOUT_S="600",
        )
        made = _cli(env, "projects", "create", "--name", "reaped", "--planner-backend", "openai")
        assert made.returncode == 0, made.stderr
        pid = made.stdout.strip()
        planned = _cli(env, "learn", "plan-next", "--project", pid, "--count", "1", "--wait")
        assert planned.returncode == 0, planned.stderr
        waiting = subprocess.Popen(
            [str(BIN / "shorts-engine"), "learn", "video-plans", "--project", pid],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        settings = Settings(
            LEARNING_LOOP_HOME=tmp_path / "home", LEARNING_LOOP_DATABASE_URL=database_url
        )
        instance = open_instance(settings)
        try:
            deadline = time.monotonic() + 60
            started = []
            while not started and time.monotonic() < deadline:
                started = [
                    r
                    for r in instance.get_runs()
                    if r.job_name == "make_video_plans" and r.status == DagsterRunStatus.STARTED
                ]
                time.sleep(0.2)
            assert started, "the video_plans run never started"
            while not llm.requests and time.monotonic() < deadline:
                time.sleep(0.1)
            os.kill(waiting.pid, signal.SIGKILL)
            waiting.wait(10)
            (dead,) = started
            assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.STARTED

            # The next command reaps it before its own run.
            status = _cli(env, "learn", "run-status", "--run", dead.run_id, "--json")
            again = _cli(env, "learn", "update-stats", "--project", pid)
            assert again.returncode == 0, again.stderr
            reaped = instance.get_run_by_id(dead.run_id)
            assert reaped.status == DagsterRunStatus.FAILURE
            assert reaped.tags[REAPED_TAG] == "true"
            assert "reaped" in reaped.tags[REAPED_REASON_TAG]
            listed = json.loads(_cli(env, "learn", "runs", "--reaped", "--json").stdout)
            assert [r["run_id"] for r in listed] == [dead.run_id]
            shown = json.loads(
                _cli(env, "learn", "run-status", "--run", dead.run_id, "--json").stdout
            )
            assert shown["status"] == "FAILURE" and "reaped" in shown["error"]
            assert status.returncode == 0
        finally:
            instance.dispose()
            llm.release.set()
