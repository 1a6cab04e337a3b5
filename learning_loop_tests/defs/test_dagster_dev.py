"""End to end: `dagster dev` serves the code location, and its daemon runs the plan sensor,
then the `video_plans` run its batch triggers (against the fake chat-completions server)."""

import os
import shutil
import signal
import subprocess
import time

import pytest

from learning_loop.db.engine import Database
from learning_loop.domain.statuses import PlannerBackend
from learning_loop.services.plan_requests import create_plan_request, get_plan_request
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.video_jobs import list_videos
from learning_loop_tests.fake_llm import PROXY_VARIABLES, fake_llm_server
from learning_loop_tests.processes import (
    BIN,
    ROOT,
    answers,
    background,
    clean_env,
    free_port,
    graphql,
    session_members,
    wait_until,
)

START_TIMEOUT_S = 120
PLAN_TIMEOUT_S = 150


@pytest.fixture
def llm():
    with fake_llm_server() as fake:
        fake.script = [("plan",)]
        yield fake


@pytest.fixture
def dagster_dev(tmp_path, sqlite_template, llm):
    db_path = tmp_path / "learning_loop.db"
    shutil.copy(sqlite_template, db_path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    env = clean_env(
        DAGSTER_HOME=str(home),
        LEARNING_LOOP_DATABASE_URL=f"sqlite:///{db_path}",
        LEARNING_LOOP_HOME=str(tmp_path / "home"),
        LEARNING_LOOP_LLM_BASE_URL=llm.url,
        LEARNING_LOOP_LLM_MODEL="fake-model",
    )
    for var in PROXY_VARIABLES:
        env.pop(var, None)
    with background(
        [BIN / "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=ROOT,
        log=tmp_path / "dagster_dev.log",
    ) as dev:
        wait_until(
            lambda: not dev.alive() or answers(f"http://127.0.0.1:{port}/server_info"),
            START_TIMEOUT_S,
            "dagster dev",
        )
        assert dev.alive(), dev.log()
        yield port, Database.from_url(f"sqlite:///{db_path}"), dev.proc, env


def test_dagster_dev_serves_the_loop_and_runs_the_sensor(dagster_dev):
    port, db, proc, env = dagster_dev
    nodes = graphql(port, "{ assetNodes { assetKey { path } dependencyKeys { path } } }")
    assets = {"/".join(n["assetKey"]["path"]): n for n in nodes["assetNodes"]}
    assert set(assets) == {
        "metric_window",
        "video_rewards",
        "recipe_stats",
        "experiment_verdicts",
        "video_plans",
        "collected_metrics",
        "planned_batches",
    }
    assert assets["recipe_stats"]["dependencyKeys"] == [{"path": ["video_rewards"]}]
    assert assets["video_plans"]["dependencyKeys"] == [{"path": ["planned_batches"]}]
    repos = graphql(
        port,
        "{ repositoriesOrError { ... on RepositoryConnection { nodes { name "
        "sensors { name sensorState { status } } schedules { name } jobs { name } } } } }",
    )["repositoriesOrError"]["nodes"]
    (repo,) = repos
    assert {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]} == {
        "plan_requests_sensor": "RUNNING",
        "video_plans_after_batch": "RUNNING",
    }
    assert {s["name"] for s in repo["schedules"]} == {
        "daily_recipe_stats",
        "daily_experiment_evaluation",
        "nightly_auto_plan",
        "video_plans_schedule",
        "collect_metrics_schedule",
    }
    assert {
        "update_recipe_stats",
        "evaluate_experiments",
        "plan_next_batch",
        "make_video_plans",
        "collect_metrics",
    } <= {j["name"] for j in repo["jobs"]}

    pid = create_project(db, "dev", ProjectSettings(planner_backend=PlannerBackend.OPENAI)).id
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

    # The batch's run triggers the video plans of its jobs (the run-status sensor).
    def planned() -> bool:
        videos = list_videos(db, pid)
        assert all(v.plan_status != "failed" for v in videos), [v.plan_error for v in videos]
        return {v.plan_status for v in videos} == {"ready"}

    wait_until(planned, PLAN_TIMEOUT_S, "the video plans of the batch", every=2)
    db.dispose()
    # The batch is a materialization of `planned_batches` (issue #29, point 13).
    batches = graphql(
        port,
        '{ assetOrError(assetKey: {path: ["planned_batches"]}) { ... on Asset { '
        "assetMaterializations { runId } } } }",
    )["assetOrError"]["assetMaterializations"]
    assert [m["runId"] for m in batches] == [current.run_id]
    # The partitions are the evaluated dates: one date evaluated by the CLI, one partition,
    # materialized (the UI reads "1 partition", not thousands at 0%).
    stats = subprocess.run(
        [BIN / "shorts-engine", "learn", "update-stats", "--project", str(pid)]
        + ["--as-of", "2026-10-30"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stats.returncode == 0, stats.stderr
    node = graphql(
        port,
        '{ assetNodeOrError(assetKey: {path: ["video_rewards"]}) { ... on AssetNode { '
        "partitionKeys partitionStats { numMaterialized numPartitions } } } }",
    )["assetNodeOrError"]
    assert node["partitionKeys"] == ["2026-10-30"]
    assert node["partitionStats"] == {"numMaterialized": 1, "numPartitions": 1}

    sid = proc.pid
    os.killpg(sid, signal.SIGTERM)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while session_members(sid):
        assert time.monotonic() < deadline, f"left behind: {session_members(sid)}"
        time.sleep(0.5)
