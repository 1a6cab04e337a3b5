"""Many commands and requests at once from a fresh home: every one ends well, none is lost
and nothing is duplicated.

Real `shorts-engine` processes: 6 `plan-next --wait` and 4 `update-stats` for one date, all
started together while the Dagster instance does not exist yet (a fresh LEARNING_LOOP_HOME on
SQLite; a fresh PostgreSQL database with the product schema only), and meanwhile 6 requests
to the API server of the same deployment (4 `POST /update-stats`, 2 `POST /plan-requests`).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from learning_loop.db.engine import Database
from learning_loop.db.models import PlannedBatch, VideoJob, VideoReward
from learning_loop.launch.instance import open_instance
from learning_loop.settings import Settings
from learning_loop_tests.processes import (
    BIN,
    answers,
    background,
    clean_env,
    free_port,
    shorts_engine,
    wait_until,
)

AS_OF = "2026-10-30"
PLANNERS = 6
STATS = 4
API_REQUESTS = 6  # 4 update-stats (queued runs) and 2 plan requests
TOKEN = "concurrency-test-token-" + "x" * 16


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_deployment(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The environment of a new deployment: nothing exists under its home yet."""
    env = clean_env(LEARNING_LOOP_HOME=str(tmp_path / "home"))
    if request.param == "postgresql":
        env["LEARNING_LOOP_DATABASE_URL"] = request.getfixturevalue("fresh_pg_url")
    return env


def rewards_of(db: Database, day: str) -> list[tuple[object, ...]]:
    with db.read() as session:
        rows = session.execute(
            select(
                VideoReward.video_id,
                VideoReward.reward,
                VideoReward.pct_avg_view_duration,
                VideoReward.pct_views_6h,
                VideoReward.pct_engagement,
            )
            .where(VideoReward.reward_date == day)
            .order_by(VideoReward.video_id)
        ).all()
    return [tuple(r) for r in rows]


def test_concurrent_plans_and_stats_from_a_fresh_home(fresh_deployment, tmp_path, samples):
    env = fresh_deployment
    stack = ExitStack()
    run = lambda *args: shorts_engine(*args, env=env, cwd=tmp_path)  # noqa: E731
    pid = run("projects", "create", "--name", "busy").stdout.strip()
    for step in (
        ("learn", "import-videos", "--project", pid, "--file", samples / "videos.csv"),
        ("learn", "backfill", "--project", pid),
        ("learn", "ingest-metrics", "--project", pid, "--file", samples / "metrics.csv"),
    ):
        assert run(*step).returncode == 0
    home = Path(env["LEARNING_LOOP_HOME"])
    assert not (home / "dagster").exists()  # no command so far opened the instance

    commands = []
    for k in range(PLANNERS):
        topics = tmp_path / f"topics-{k}.txt"
        topics.write_text("".join(f"Planner {k} topic {i}\n" for i in range(3)))
        commands.append(
            ["learn", "plan-next", "--project", pid, "--topics-file", str(topics),
             "--count", "3", "--seed", str(k), "--wait", "--json"]
        )  # fmt: skip
    commands += [["learn", "update-stats", "--project", pid, "--as-of", AS_OF, "--json"]] * STATS
    # The API server of the same home answers requests all the while.
    api_port = free_port()
    api = stack.enter_context(
        background(
            [BIN / "shorts-engine", "api", "serve", "--host", "127.0.0.1", "--port", api_port],
            env=dict(env, LEARNING_LOOP_ADMIN_TOKEN=TOKEN),
            cwd=tmp_path,
            log=tmp_path / "api.log",
        )
    )
    base = f"http://127.0.0.1:{api_port}"
    wait_until(lambda: answers(f"{base}/health"), 120, "the API server")
    assert api.alive()
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def request(k: int) -> httpx.Response:
        if k % 3 == 2:
            body = {"project_id": pid, "n": 2, "topics": [f"API topic {k}"]}
            return httpx.post(
                f"{base}/api/v1/admin/plan-requests", json=body, headers=headers, timeout=120
            )
        return httpx.post(
            f"{base}/api/v1/admin/update-stats",
            params={"project_id": pid, "as_of": AS_OF},
            headers=headers,
            timeout=120,
        )

    pool = stack.enter_context(ThreadPoolExecutor(max_workers=API_REQUESTS))
    answered = [pool.submit(request, k) for k in range(API_REQUESTS)]
    procs = [
        subprocess.Popen(
            [str(BIN / "shorts-engine"), *c],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in commands
    ]
    results = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    responses = [a.result(timeout=300) for a in answered]
    stack.close()
    for response in responses:
        assert response.status_code == 202, response.text
    queued = [r.json()["run_id"] for r in responses if r.json().get("job_name")]
    assert len(queued) == API_REQUESTS - API_REQUESTS // 3
    for (code, out, err), command in zip(results, commands, strict=True):
        assert code == 0, f"{command[:2]} exited {code}: {err[-2000:]}"
        assert "Traceback" not in err and "Traceback" not in out, err[-2000:]
        assert json.loads(out)["run_id"]

    url = env.get("LEARNING_LOOP_DATABASE_URL") or f"sqlite:///{home / 'learning_loop.db'}"
    db = Database.from_url(url)
    try:
        with db.read() as session:
            batches = session.scalar(select(func.count()).select_from(PlannedBatch))
            planned = session.scalar(
                select(func.count()).select_from(VideoJob).where(VideoJob.batch_id.is_not(None))
            )
            duplicates = session.execute(
                select(VideoReward.video_id)
                .where(VideoReward.reward_date == AS_OF)
                .group_by(VideoReward.video_id)
                .having(func.count() > 1)
            ).all()
        assert batches == PLANNERS and planned == PLANNERS * 3
        assert duplicates == []
        concurrent = rewards_of(db, AS_OF)
        assert len(concurrent) > 0
        # One more run of the same date, alone: exactly the same rows (none missing, none extra).
        again = run("learn", "update-stats", "--project", pid, "--as-of", AS_OF)
        assert again.returncode == 0, again.stderr
        assert rewards_of(db, AS_OF) == concurrent
    finally:
        db.dispose()

    if "LEARNING_LOOP_DATABASE_URL" not in env:
        # Dagster's own schema history stayed whole: one head in every SQLite storage.
        for store in (home / "dagster").rglob("*.db"):
            with sqlite3.connect(store) as conn:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
                if "alembic_version" in tables:
                    (count,) = conn.execute("SELECT count(*) FROM alembic_version").fetchone()
                    assert count == 1, store.name
    # The API's runs are in the instance, queued for a daemon.
    instance = open_instance(Settings(**{k: v for k, v in env.items() if k.startswith("LEARN")}))
    try:
        for run_id in queued:
            run = instance.get_run_by_id(run_id)
            assert run is not None and run.status.value == "QUEUED"
    finally:
        instance.dispose()
