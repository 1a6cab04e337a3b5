"""End to end: `dagster dev` serves the code location, and its daemon runs the plan sensor."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from learning_loop.db.engine import Database
from learning_loop.services.plan_requests import create_plan_request, get_plan_request
from learning_loop.services.projects import create_project
from learning_loop_tests.processes import ROOT, default_signals, free_port, session_members

START_TIMEOUT_S = 120
PLAN_TIMEOUT_S = 150


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture
def dagster_dev(tmp_path, sqlite_template):
    db_path = tmp_path / "learning_loop.db"
    shutil.copy(sqlite_template, db_path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    env = dict(
        os.environ,
        DAGSTER_HOME=str(home),
        LEARNING_LOOP_DATABASE_URL=f"sqlite:///{db_path}",
        LEARNING_LOOP_HOME=str(tmp_path / "home"),
    )
    log = (tmp_path / "dagster_dev.log").open("w")
    proc = subprocess.Popen(
        [
            Path(sys.executable).parent / "dagster",
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=default_signals,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert proc.poll() is None, (tmp_path / "dagster_dev.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "dagster dev did not answer"
                time.sleep(1)
        yield port, Database.from_url(f"sqlite:///{db_path}"), proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def test_dagster_dev_serves_the_loop_and_runs_the_sensor(dagster_dev):
    port, db, proc = dagster_dev
    nodes = graphql(port, "{ assetNodes { assetKey { path } dependencyKeys { path } } }")
    assets = {"/".join(n["assetKey"]["path"]): n for n in nodes["assetNodes"]}
    assert set(assets) == {"metric_window", "video_rewards", "recipe_stats", "experiment_verdicts"}
    assert assets["recipe_stats"]["dependencyKeys"] == [{"path": ["video_rewards"]}]
    repos = graphql(
        port,
        "{ repositoriesOrError { ... on RepositoryConnection { nodes { name "
        "sensors { name sensorState { status } } schedules { name } jobs { name } } } } }",
    )["repositoriesOrError"]["nodes"]
    (repo,) = repos
    assert {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]} == {
        "plan_requests_sensor": "RUNNING"
    }
    assert {s["name"] for s in repo["schedules"]} == {
        "daily_recipe_stats",
        "daily_experiment_evaluation",
        "nightly_auto_plan",
    }
    assert {"update_recipe_stats", "evaluate_experiments", "plan_next_batch"} <= {
        j["name"] for j in repo["jobs"]
    }

    pid = create_project(db, "dev").id
    request = create_plan_request(db, pid, 3, ["one", "two", "three"], seed=1)
    deadline = time.monotonic() + PLAN_TIMEOUT_S
    while (current := get_plan_request(db, request.id)).status != "succeeded":
        assert current.status != "failed", current.error
        assert time.monotonic() < deadline, f"plan request still {current.status}"
        time.sleep(2)
    assert current.run_id and current.batch.jobs_created == 3
    run = graphql(
        port,
        f'{{ runOrError(runId: "{current.run_id}") {{ ... on Run {{ jobName status tags '
        "{ key value } } } }",
    )["runOrError"]
    assert run["jobName"] == "plan_next_batch" and run["status"] == "SUCCESS"
    assert {"key": "dagster/run_key", "value": str(request.id)} in run["tags"]
    db.dispose()

    sid = proc.pid
    os.killpg(sid, signal.SIGTERM)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while session_members(sid):
        assert time.monotonic() < deadline, f"left behind: {session_members(sid)}"
        time.sleep(0.5)
