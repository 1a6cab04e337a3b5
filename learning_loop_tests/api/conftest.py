"""The admin API in process, over httpx's ASGI transport, on each test database."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from api.app import create_app
from learning_loop.db.engine import Database
from learning_loop.db.models import Base
from learning_loop.errors import NotFound
from learning_loop.services import planning
from learning_loop.services.plan_requests import create_plan_request
from learning_loop.services.projects import create_project
from learning_loop.services.runs import JobName, RunInfo, RunSpec
from learning_loop.services.stats import update_stats
from learning_loop.settings import Settings
from learning_loop_tests.factories import T0, channel, metric_row, video_row

TOKEN = "test-admin-token-" + "x" * 24
ADMIN = "/api/v1/admin"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeRuns:
    """Stands in for the Dagster launcher: records submissions and does the stats run's work
    in process, so the loop can be followed end to end without a daemon."""

    def __init__(self, db: Database, settings: Settings | None = None) -> None:
        self.db = db
        self.settings = settings
        self.calls: list[RunSpec] = []

    def submit(self, spec: RunSpec) -> RunInfo:
        if spec.job is JobName.VIDEO_PLANS:  # the run's work, done here (replan)
            from learning_loop.services.video_plans import make_video_plans

            make_video_plans(self.db, spec.project_id, spec.job_ids)
        elif spec.job is JobName.COLLECT_METRICS:  # a collector pass, done here
            from learning_loop.services.collector import collect_metrics

            assert self.settings is not None
            collect_metrics(self.db, self.settings, [spec.project_id])
        elif spec.job is JobName.EVALUATE_EXPERIMENTS:  # the evaluation, done here
            from learning_loop.services.experiments import evaluate_experiments

            assert spec.partition_key is not None
            evaluate_experiments(
                self.db, dt.date.fromisoformat(spec.partition_key), [spec.project_id]
            )
        else:
            assert spec.job is JobName.UPDATE_RECIPE_STATS and spec.partition_key is not None
            day = dt.date.fromisoformat(spec.partition_key)
            update_stats(self.db, spec.project_id, day, spec.days)
        self.calls.append(spec)
        return RunInfo(
            run_id=str(uuid.uuid4()),
            job_name=spec.job.value,
            status="QUEUED",
            partition_key=spec.partition_key,
        )

    def run(self, spec: RunSpec) -> RunInfo:
        raise AssertionError("the API never runs a job in its own process")

    def status(self, run_id: str) -> RunInfo:
        raise NotFound(f"no run {run_id} in this Dagster instance", "run_id")

    def recent(
        self, limit: int = 20, reaped_only: bool = False, project_id: uuid.UUID | None = None
    ) -> list[RunInfo]:
        return []

    def daemon_note(self, waiting: str = "the run stays QUEUED") -> str | None:
        return None


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        LEARNING_LOOP_DATABASE_URL=database_url,
        LEARNING_LOOP_HOME=str(tmp_path / "home"),
        LEARNING_LOOP_ADMIN_TOKEN=TOKEN,
    )


@pytest.fixture
def fake_runs(db: Database, settings: Settings) -> FakeRuns:
    return FakeRuns(db, settings)


@pytest.fixture
def app(settings: Settings, fake_runs: FakeRuns) -> Iterator[FastAPI]:
    application = create_app(settings, runs=fake_runs)
    yield application
    application.state.database.dispose()


def _client(app: FastAPI, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, {"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


@pytest.fixture
async def anon(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, {}) as c:
        yield c


@pytest.fixture
def counts(db: Database) -> Callable[[], dict[str, int]]:
    """Rows per table: what a rejected request must leave as it was."""

    def count() -> dict[str, int]:
        with db.read() as session:
            return {
                t.name: session.scalar(select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables
            }

    return count


@dataclass
class World:
    pid: str  # a project with imported videos, a queued batch and a plan request
    other: str  # an empty project
    job: str  # a queued job of `pid`
    batch: str
    request: str


@pytest.fixture
def world(db) -> World:
    videos = [video_row(i, scene_count=6 + i) for i in range(3)]
    metrics = [
        metric_row(f"v{i}", T0 + dt.timedelta(days=i + 1), views=1000 + 100 * i) for i in range(3)
    ]
    pid = channel(db, videos, metrics)
    update_stats(db, pid, (T0 + dt.timedelta(days=5)).date(), 30)
    out = planning.plan_and_write(db, pid, 2, ["first topic", "second topic"], seed=1)
    request = create_plan_request(db, pid, 3, ["a topic"])
    other = create_project(db, "other").id
    return World(str(pid), str(other), str(out.jobs[0].id), str(out.batch.id), str(request.id))
