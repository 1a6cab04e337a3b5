"""`POST /update-stats` starts a real Dagster run that computes what the CLI's run computes."""

from __future__ import annotations

import time

import anyio
import httpx
import pytest

from api.app import create_app
from learning_loop.settings import Settings
from learning_loop_tests.api.conftest import ADMIN, TOKEN
from learning_loop_tests.factories import T0, channel, metric_row, video_row

pytestmark = pytest.mark.anyio


async def test_update_stats_starts_a_real_run(tmp_path, db, database_url):
    from learning_loop.services.runs import run_status

    settings = Settings(
        LEARNING_LOOP_DATABASE_URL=database_url,
        LEARNING_LOOP_HOME=str(tmp_path / "home"),
        DAGSTER_HOME=str(tmp_path / "dagster"),
        LEARNING_LOOP_ADMIN_TOKEN=TOKEN,
    )
    videos = [video_row(i, scene_count=5 + i % 3) for i in range(6)]
    metrics = [metric_row(f"v{i}", T0.replace(day=T0.day + i + 1), views=500 + i) for i in range(6)]
    pid = channel(db, videos, metrics)
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        started = await client.post(
            f"{ADMIN}/update-stats", params={"project_id": pid, "as_of": "2026-10-10", "days": 30}
        )
        assert started.status_code == 202, started.text
        run = started.json()
        assert run["status"] == "STARTING" and run["partition_key"] == "2026-10-10"
        deadline = time.monotonic() + 120
        status = run["status"]
        while time.monotonic() < deadline:
            try:
                status = run_status(settings, run["run_id"]).status
            except Exception:  # the run's process has not registered it yet
                status = "STARTING"
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            await anyio.sleep(0.5)
        log = tmp_path / "dagster" / "launches" / f"{run['run_id']}.log"
        assert status == "SUCCESS", log.read_text() if log.exists() else status
        recipes = (await client.get(f"{ADMIN}/recipes", params={"project_id": pid})).json()
        assert any(r["avg_reward_score"] is not None for r in recipes["items"])
        assert all(r["stats_as_of"] in (None, "2026-10-10") for r in recipes["items"])
    app.state.database.dispose()
