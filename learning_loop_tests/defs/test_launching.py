"""Runs launched through the deployment's instance, end to end with real processes.

- A fresh clone on the embedded default: `dagster definitions validate` and `dagster dev` in
  the repository root with no environment set; the UI shows the CLI's runs, and its daemon
  starts the runs that the CLI (`--no-wait`) and the API submitted.
- PostgreSQL deployments (`deploy/postgres`, and `deploy/celery` with a real Redis broker and
  a Celery worker): the API server, over HTTP, submits `update_recipe_stats`; the daemon
  launches it through the deployment's run launcher; the rewards equal an in-process run's.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from learning_loop.client import LearningLoopClient, LearningLoopClientError
from learning_loop.db.engine import Database
from learning_loop.db.models import VideoReward
from learning_loop.launch import DagsterRuns
from learning_loop.launch.instance import open_instance
from learning_loop.services.ingest import (
    METRIC_COLUMNS,
    VIDEO_COLUMNS,
    backfill_recipes,
    import_videos,
    ingest_metrics,
)
from learning_loop.services.projects import create_project
from learning_loop.services.rows import read_rows
from learning_loop.services.runs import update_stats_spec
from learning_loop.settings import Settings
from learning_loop_tests.processes import (
    BIN,
    ROOT,
    answers,
    background,
    clean_env,
    free_port,
    graphql,
    session_members,
    shorts_engine,
    wait_until,
)

AS_OF = "2026-10-30"
AS_OF_DATE = dt.date(2026, 10, 30)
TOKEN = "launch-test-token-" + "x" * 20
START_TIMEOUT_S = 120
RUN_TIMEOUT_S = 150


def ui_run_status(port: int, run_id: str) -> str | None:
    run = graphql(port, f'{{ runOrError(runId: "{run_id}") {{ ... on Run {{ status }} }} }}')
    return run["runOrError"].get("status")


def rewards_of(db: Database, day: str) -> list[tuple[object, ...]]:
    with db.read() as session:
        rows = session.execute(
            select(VideoReward.video_id, VideoReward.reward, VideoReward.pct_views_6h)
            .where(VideoReward.reward_date == day)
            .order_by(VideoReward.video_id)
        ).all()
    return [tuple(r) for r in rows]


def test_dagster_dev_in_a_fresh_clone_shows_and_starts_the_loops_runs(tmp_path, samples):
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(ROOT / name, clone / name)
    env = clean_env()

    validate = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert validate.returncode == 0, validate.stderr[-2000:]

    def cli(*args: str | Path) -> str:
        result = shorts_engine(*args, env=env, cwd=clone)
        assert result.returncode == 0, result.stderr
        return result.stdout

    pid = cli("projects", "create", "--name", "fresh clone").strip()
    cli("learn", "import-videos", "--project", pid, "--file", samples / "videos.csv")
    cli("learn", "backfill", "--project", pid)
    cli("learn", "ingest-metrics", "--project", pid, "--file", samples / "metrics.csv")
    ran = json.loads(cli("learn", "update-stats", "--project", pid, "--as-of", AS_OF, "--json"))
    queued = json.loads(
        cli("learn", "evaluate-experiments", "--project", pid, "--no-wait", "--json")
    )
    assert queued["status"] == "QUEUED" and "no Dagster daemon" in queued["note"]

    port = free_port()
    with background(
        [BIN / "dagster", "dev", "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=clone,
        log=tmp_path / "dagster_dev.log",
    ) as dev:
        wait_until(
            lambda: (
                dev.alive() and answers(f"http://127.0.0.1:{port}/server_info") or not dev.alive()
            ),
            START_TIMEOUT_S,
            "dagster dev",
        )
        assert dev.alive(), dev.log()
        # The UI reads the instance the CLI wrote: the CLI's in-process run is there.
        assert ui_run_status(port, ran["run_id"]) == "SUCCESS"
        # Its daemon starts the run the CLI queued...
        wait_until(
            lambda: ui_run_status(port, queued["run_id"]) in ("SUCCESS", "FAILURE"),
            RUN_TIMEOUT_S,
            "the queued evaluate_experiments run",
        )
        assert ui_run_status(port, queued["run_id"]) == "SUCCESS", dev.log()

        # ... and the run the API server submits, on the same embedded instance.
        api_port = free_port()
        with background(
            [BIN / "shorts-engine", "api", "serve", "--host", "127.0.0.1", "--port", api_port],
            env=dict(env, LEARNING_LOOP_ADMIN_TOKEN=TOKEN),
            cwd=clone,
            log=tmp_path / "api.log",
        ):
            base = f"http://127.0.0.1:{api_port}"
            wait_until(lambda: answers(f"{base}/health"), START_TIMEOUT_S, "the API server")
            with httpx.Client(
                base_url=f"{base}/api/v1/admin",
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=30,
            ) as api:
                started = api.post(
                    "/update-stats", params={"project_id": pid, "as_of": "2026-10-29"}
                )
                assert started.status_code == 202, started.text
                assert started.json()["status"] == "QUEUED" and started.json()["note"] is None
                run_url = f"/runs/{started.json()['run_id']}"
                wait_until(
                    lambda: api.get(run_url).json()["status"] in ("SUCCESS", "FAILURE"),
                    RUN_TIMEOUT_S,
                    "the API's update_recipe_stats run",
                )
                final = api.get(run_url).json()
                assert final["status"] == "SUCCESS" and final["success"] is True, dev.log()
    # `dagster dev` wrote into the embedded home, not into a folder of its own.
    assert (clone / ".learning_loop" / "dagster" / "history" / "runs.db").exists()


def _the_seeds_tasks_through_the_client(base: str, pid: uuid.UUID) -> None:
    """Issue #29, point 14: the seed's three tasks through the typed client, against the API
    server and the daemon of a real deployment; its plan request is run by the plan sensor."""
    with LearningLoopClient(base, TOKEN) as loop:
        stats_run = loop.update_recipe_stats(pid, as_of=AS_OF_DATE).wait(RUN_TIMEOUT_S)
        assert stats_run.job_name == "update_recipe_stats" and stats_run.success is True
        verdicts = loop.evaluate_experiments(pid, as_of=AS_OF_DATE).wait(RUN_TIMEOUT_S)
        assert verdicts.job_name == "evaluate_experiments" and verdicts.status == "SUCCESS"
        queued = loop.plan_next_batch(pid, n=3, topics=["first", "second", "third"])
        assert queued.status == "pending"
        planned = queued.wait(RUN_TIMEOUT_S)
        assert [j.topic for j in planned.jobs] == ["first", "second", "third"]
        listed = loop.video_jobs(pid, batch_id=planned.id)
        assert {j.id for j in listed} == {j.id for j in planned.jobs}
        with pytest.raises(LearningLoopClientError) as refused:
            loop.plan_next_batch(uuid.uuid4(), n=2)
        assert refused.value.status == 404 and "no project" in refused.value.detail
        with pytest.raises(LearningLoopClientError) as refused:
            loop.plan_next_batch(pid, n=0)
        assert refused.value.status == 422 and refused.value.field == "n"


def seeded_project(db: Database, samples: Path) -> uuid.UUID:
    pid = create_project(db, "deployment").id
    import_videos(db, pid, read_rows(samples / "videos.csv", VIDEO_COLUMNS))
    backfill_recipes(db, pid)
    ingest_metrics(db, pid, read_rows(samples / "metrics.csv", METRIC_COLUMNS))
    return pid


@pytest.mark.parametrize("deployment", ["postgres", "celery"])
def test_a_postgres_deployment_launches_the_apis_runs(deployment, fresh_pg_url, tmp_path, samples):
    db = Database.from_url(fresh_pg_url)
    pid = seeded_project(db, samples)
    env = clean_env(LEARNING_LOOP_DATABASE_URL=fresh_pg_url)
    # The daemon's (and the worker's) instance is the deployment's dagster.yaml ...
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(ROOT / "deploy" / deployment / "dagster.yaml", dagster_home / "dagster.yaml")
    daemon_env = dict(env, DAGSTER_HOME=str(dagster_home))
    # ... while the API has no DAGSTER_HOME: it opens the same instance from the database URL.
    api_port = free_port()
    api_env = dict(
        env, LEARNING_LOOP_ADMIN_TOKEN=TOKEN, LEARNING_LOOP_HOME=str(tmp_path / "api_home")
    )
    services = []
    if deployment == "celery":
        redis_port = free_port()
        broker = f"redis://127.0.0.1:{redis_port}/0"
        daemon_env["LEARNING_LOOP_CELERY_BROKER"] = broker
        services += [
            (
                "redis",
                [shutil.which("redis-server") or "redis-server", "--port", str(redis_port),
                 "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                env,
            ),
            (
                "worker",
                [BIN / "dagster-celery", "worker", "start", "-A", "dagster_celery.app",
                 "-y", ROOT / "deploy" / "celery" / "worker.yaml", "-q", "dagster",
                 "-n", "ll-test", "--", "--pool=solo"],
                daemon_env,
            ),
        ]  # fmt: skip
    services += [
        ("daemon", [BIN / "dagster-daemon", "run", "-w", ROOT / "workspace.yaml"], daemon_env),
        (
            "api",
            [BIN / "shorts-engine", "api", "serve", "--host", "127.0.0.1", "--port", api_port],
            api_env,
        ),
    ]
    with ExitStack() as stack:
        procs = {
            name: stack.enter_context(
                background(args, env=penv, cwd=tmp_path, log=tmp_path / f"{name}.log")
            )
            for name, args, penv in services
        }
        base = f"http://127.0.0.1:{api_port}"
        wait_until(lambda: answers(f"{base}/health"), START_TIMEOUT_S, "the API server")
        client = httpx.Client(base_url=f"{base}/api/v1/admin", timeout=30)
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        started = client.post("/update-stats", params={"project_id": pid, "as_of": AS_OF})
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        assert started.json()["status"] == "QUEUED"

        def finished() -> bool:
            for name, proc in procs.items():
                assert proc.alive(), f"{name} died: {proc.log()}"
            return client.get(f"/runs/{run_id}").json()["status"] in ("SUCCESS", "FAILURE")

        wait_until(finished, RUN_TIMEOUT_S + START_TIMEOUT_S, f"run {run_id}")
        final = client.get(f"/runs/{run_id}").json()
        assert final["status"] == "SUCCESS", procs["daemon"].log()

        instance = open_instance(Settings(LEARNING_LOOP_DATABASE_URL=fresh_pg_url))
        try:
            run = instance.get_run_by_id(run_id)
            step_pids = {
                e.dagster_event.pid
                for e in instance.all_logs(run_id)
                if e.dagster_event is not None and e.dagster_event.is_step_success
            }
            assert step_pids, "no step succeeded"
            if deployment == "celery":
                # The steps ran in the Celery worker's process, which says it ran the task.
                task_id = run.tags["dagster-celery/task_id"]
                assert step_pids <= set(session_members(procs["worker"].proc.pid))
                wait_until(
                    lambda: f"Task execute_job[{task_id}] succeeded" in procs["worker"].log(10**6),
                    30,
                    "the worker's log line",
                )
            # Never in the API server's process: it only submitted the run.
            assert not step_pids & set(session_members(procs["api"].proc.pid))
            assert os.getpid() not in step_pids
        finally:
            instance.dispose()
        client.close()
        if deployment == "postgres":
            _the_seeds_tasks_through_the_client(base, pid)

    launched = rewards_of(db, AS_OF)
    assert len(launched) > 0
    # The same run in this process gives the same rewards, row for row.
    runs = DagsterRuns(Settings(LEARNING_LOOP_DATABASE_URL=fresh_pg_url))
    again = runs.run(update_stats_spec(db, pid, AS_OF_DATE, 30))
    runs.close()
    assert again.success, again.error
    assert rewards_of(db, AS_OF) == launched
    db.dispose()
