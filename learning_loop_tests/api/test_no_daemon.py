"""The API over the real launcher (`DagsterRuns`) with no Dagster daemon running: the run is
queued in the deployment's instance and the answer says that no daemon serves it, and how to
start one for that deployment (the embedded SQLite home; PostgreSQL without DAGSTER_HOME)."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from learning_loop.db.engine import Database
from learning_loop.launch import DagsterRuns
from learning_loop.launch.instance import instance_kind
from learning_loop.settings import Settings
from learning_loop_tests.api.conftest import ADMIN, TOKEN
from learning_loop_tests.factories import T0, channel, metric_row, video_row

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings of a deployment without DAGSTER_HOME, with a project that has a little data."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    if request.param == "sqlite":
        path = tmp_path / "learning_loop.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        # Dagster's tables go into this database: the fixture drops them afterwards.
        url = request.getfixturevalue("shared_pg_url")
    return Settings(
        LEARNING_LOOP_DATABASE_URL=url,
        LEARNING_LOOP_HOME=str(tmp_path / "home"),
        LEARNING_LOOP_ADMIN_TOKEN=TOKEN,
    )


@pytest.fixture
async def api(deployment: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(deployment)  # no runs=: the app builds DagsterRuns(settings) itself
    assert isinstance(app.state.runs, DagsterRuns)
    # The lifespan closes the launcher's instance and the database at the end.
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as client,
    ):
        yield client


async def test_update_stats_without_a_daemon_says_how_to_start_one(api, deployment):
    db = Database.from_url(deployment.resolved_database_url)
    try:
        videos = [video_row(i) for i in range(3)]
        metrics = [metric_row(f"v{i}", T0 + dt.timedelta(days=i + 1)) for i in range(3)]
        pid = str(channel(db, videos, metrics))
    finally:
        db.dispose()

    started = await api.post(
        f"{ADMIN}/update-stats", params={"project_id": pid, "as_of": "2026-10-10"}
    )
    assert started.status_code == 202, started.text
    body = started.json()
    assert uuid.UUID(body["run_id"]) and body["status"] == "QUEUED"
    assert body["job_name"] == "update_recipe_stats" and body["as_of"] == "2026-10-10"
    note = body["note"]
    assert note.startswith("no Dagster daemon serves this instance: the run stays QUEUED")
    assert "`make dev`" in note and "dagster-daemon run -w workspace.yaml" in note
    if instance_kind(deployment) == "embedded":
        # The embedded instance's own folder, which the launcher opened.
        home = (Path(deployment.home) / "dagster").resolve()
        assert f"DAGSTER_HOME={home} dagster-daemon run" in note
    else:
        assert "deploy/postgres/dagster.yaml" in note and "LEARNING_LOOP_DATABASE_URL" in note
        assert "DAGSTER_HOME=" not in note

    # The run is in the instance, waiting for the daemon.
    status = await api.get(f"{ADMIN}/runs/{body['run_id']}")
    assert status.status_code == 200, status.text
    assert status.json()["status"] == "QUEUED"
    assert status.json()["job_name"] == "update_recipe_stats"
    latest = (await api.get(f"{ADMIN}/runs", params={"limit": 5})).json()
    assert [r["run_id"] for r in latest["items"]] == [body["run_id"]]
    assert (await api.get(f"{ADMIN}/runs", params={"reaped": "true"})).json()["items"] == []

    # A plan request answers the same note: it stays pending until a daemon's sensor runs it.
    requested = await api.post(f"{ADMIN}/plan-requests", json={"project_id": pid, "n": 1})
    assert requested.status_code == 202, requested.text
    pending = requested.json()["note"]
    assert pending.startswith("no Dagster daemon serves this instance: the request stays pending")
    assert "`make dev`" in pending
