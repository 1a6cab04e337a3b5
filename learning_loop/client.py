"""A small typed client of the admin API, with the seed's names, for a video pipeline that
queues batches and reads their jobs without writing HTTP by hand.

    from learning_loop.client import LearningLoopClient

    with LearningLoopClient("http://127.0.0.1:8000", token) as loop:
        batch = loop.plan_next_batch(project_id, n=5, topics=["Topic 1", "Topic 2"]).wait()
        for job in batch.jobs:
            ...
        loop.update_recipe_stats(project_id).wait()
        loop.evaluate_experiments(project_id).wait()

It maps the seed's Celery tasks (`plan_next_batch_task.delay(...)`, `update_recipe_stats`,
`evaluate_experiments`) onto the API's routes (contract §9): each call is answered at once with
a handle, and `wait()` follows the plan request or the Dagster run until it ends. Failures are
`LearningLoopClientError`s carrying the API's status and its one-line `detail`.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx

from learning_loop.domain.statuses import PlanRequestStatus
from learning_loop.services.runs import RunInfo
from learning_loop.services.views import BatchView, JobView, PlanRequestView, VideoView

API = "/api/v1/admin"
FINISHED_RUN = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
T = TypeVar("T")


class LearningLoopClientError(Exception):
    """The API refused a call (`status` 4xx or 5xx, `detail` its reason), or what was waited
    for failed or took too long (`status` None)."""

    def __init__(self, detail: str, status: int | None = None, field: str | None = None) -> None:
        super().__init__(detail if status is None else f"{status}: {detail}")
        self.detail = detail
        self.status = status
        self.field = field


class PlannedBatch:
    """A batch the loop planned, and its video jobs in planning order."""

    def __init__(self, batch: BatchView, jobs: list[JobView]) -> None:
        self.batch = batch
        self.jobs = jobs

    @property
    def id(self) -> uuid.UUID:
        return self.batch.id


class PlanHandle:
    """A queued batch (a plan request): `wait()` returns it once the plan sensor's run made it."""

    def __init__(self, client: LearningLoopClient, request: PlanRequestView) -> None:
        self._client = client
        self.request = request

    @property
    def id(self) -> uuid.UUID:
        return self.request.id

    @property
    def status(self) -> PlanRequestStatus:
        return self.request.status

    def refresh(self) -> PlanRequestView:
        self.request = self._client._plan_request(self.request.id)
        return self.request

    def wait(self, timeout: float = 600.0, poll: float = 1.0) -> PlannedBatch:
        done = _wait(
            self.refresh,
            lambda r: r.status in (PlanRequestStatus.SUCCEEDED, PlanRequestStatus.FAILED),
            timeout,
            poll,
            f"plan request {self.id}",
        )
        if done.status == PlanRequestStatus.FAILED or done.batch is None:
            raise LearningLoopClientError(f"plan request {self.id} failed: {done.error}")
        return PlannedBatch(done.batch, done.jobs or [])


class RunHandle:
    """A Dagster run the API submitted: `wait()` returns its final state."""

    def __init__(self, client: LearningLoopClient, run: RunInfo) -> None:
        self._client = client
        self.run = run

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def refresh(self) -> RunInfo:
        self.run = self._client._run(self.run.run_id)
        return self.run

    def wait(self, timeout: float = 600.0, poll: float = 1.0) -> RunInfo:
        done = _wait(
            self.refresh, lambda r: r.status in FINISHED_RUN, timeout, poll, f"run {self.run_id}"
        )
        if done.status != "SUCCESS":
            raise LearningLoopClientError(f"run {self.run_id} ended {done.status}: {done.error}")
        return done


def _wait(
    read: Callable[[], T], done: Callable[[T], bool], timeout: float, poll: float, what: str
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        current = read()
        if done(current):
            return current
        if time.monotonic() >= deadline:
            raise LearningLoopClientError(f"{what} has not finished after {timeout:g} s")
        time.sleep(poll)


class LearningLoopClient:
    """The admin API at `base_url` (e.g. `http://127.0.0.1:8000`), with the admin token or a
    project's token."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + API,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def __enter__(self) -> LearningLoopClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # The seed's tasks --------------------------------------------------------------------

    def plan_next_batch(
        self,
        project_id: uuid.UUID | str,
        n: int = 5,
        topics: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> PlanHandle:
        """`plan_next_batch_task.delay(project_id=…, n=…, topics=[…])`: queue the next batch."""
        body: dict[str, Any] = {"project_id": str(project_id), "n": n}
        if topics is not None:
            body["topics"] = list(topics)
        if seed is not None:
            body["seed"] = seed
        answer = self._call("POST", "/plan-requests", json=body)
        return PlanHandle(self, PlanRequestView.model_validate(answer))

    def update_recipe_stats(
        self, project_id: uuid.UUID | str, as_of: dt.date | None = None, days: int | None = None
    ) -> RunHandle:
        """The `update_recipe_stats` task: the day's rewards, then the recipe stats."""
        body: dict[str, Any] = {"project_id": str(project_id)}
        if as_of is not None:
            body["as_of"] = as_of.isoformat()
        if days is not None:
            body["days"] = days
        return RunHandle(
            self, RunInfo.model_validate(self._call("POST", "/update-stats", json=body))
        )

    def evaluate_experiments(
        self, project_id: uuid.UUID | str, as_of: dt.date | None = None
    ) -> RunHandle:
        """The `evaluate_experiments` task: judge the running experiments."""
        body: dict[str, Any] = {"project_id": str(project_id)}
        if as_of is not None:
            body["as_of"] = as_of.isoformat()
        answer = self._call("POST", "/evaluate-experiments", json=body)
        return RunHandle(self, RunInfo.model_validate(answer))

    # Reading -----------------------------------------------------------------------------

    def video_jobs(
        self, project_id: uuid.UUID | str, batch_id: uuid.UUID | str | None = None
    ) -> list[VideoView]:
        """The project's video jobs with their rewards (one batch's with `batch_id`), every
        page read."""
        params: dict[str, Any] = {"project_id": str(project_id), "limit": 1000}
        if batch_id is not None:
            params["batch_id"] = str(batch_id)
        jobs: list[VideoView] = []
        offset: int | None = 0
        while offset is not None:
            page = self._call("GET", "/video-jobs", params={**params, "offset": offset})
            jobs += [VideoView.model_validate(item) for item in page["items"]]
            offset = page["next_offset"]
        return jobs

    def _plan_request(self, request_id: uuid.UUID) -> PlanRequestView:
        return PlanRequestView.model_validate(self._call("GET", f"/plan-requests/{request_id}"))

    def _run(self, run_id: str) -> RunInfo:
        return RunInfo.model_validate(self._call("GET", f"/runs/{run_id}"))

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise LearningLoopClientError(f"{method} {path}: {type(exc).__name__}") from None
        if answer.status_code >= 400:
            try:
                error = answer.json()
                detail, field = str(error.get("detail")), error.get("field")
            except ValueError:
                detail, field = answer.text[:200], None
            raise LearningLoopClientError(detail, answer.status_code, field)
        return answer.json()
