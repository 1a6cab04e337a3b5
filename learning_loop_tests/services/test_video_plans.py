"""Video plans made after planning (issue #15): the `openai` backend against the local fake
chat-completions server, on both databases; the `template` backend offline."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from learning_loop.db.engine import Database
from learning_loop.db.models import PlannedBatch, VideoJob
from learning_loop.domain.recipe import Recipe
from learning_loop.domain.statuses import PlannerBackend
from learning_loop.errors import Conflict, NotFound
from learning_loop.planner import VideoPlan, validate_plan
from learning_loop.services.planning import plan_and_write
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.report import project_report
from learning_loop.services.stats import project_stats
from learning_loop.services.video_jobs import list_videos, publish_job
from learning_loop.services.video_plans import (
    make_video_plans,
    projects_with_plans_due,
    request_replan,
)
from learning_loop_tests.fake_llm import (
    FakeLLM,
    closed_port_url,
    fake_llm_settings,
    requested_idea,
)


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    """The fake server, with the LEARNING_LOOP_LLM_* settings pointing at it (no backoff)."""
    with fake_llm_settings(
        monkeypatch, LLM_API_KEY="sk-fake", LLM_HTTP_RETRIES="1", LLM_MAX_RETRIES="2"
    ) as fake:
        yield fake


def openai_project(db: Database, name: str = "llm-channel") -> uuid.UUID:
    settings = ProjectSettings(planner_backend=PlannerBackend.OPENAI)
    return create_project(db, name, settings).id


def jobs_of(db: Database, pid: uuid.UUID) -> list[VideoJob]:
    with db.read() as s:
        return list(
            s.scalars(
                select(VideoJob)
                .where(VideoJob.project_id == pid)
                .order_by(VideoJob.batch_position, VideoJob.id)
            )
        )


def assert_valid_plan(job: VideoJob, backend: str) -> None:
    assert job.plan_status == "ready" and job.plan_error is None
    assert job.plan is not None
    plan = VideoPlan.model_validate(job.plan)
    recipe = Recipe.from_dict(plan.recipe.model_dump())
    assert recipe.recipe_hash == job.recipe_hash
    assert validate_plan(plan, recipe) == []
    assert plan.backend == backend
    assert plan.idea == job.topic


def test_template_backend_plans_at_once_and_offline(db, monkeypatch):
    # Nothing listens at this address: a request would fail the planning.
    monkeypatch.setenv("LEARNING_LOOP_LLM_BASE_URL", closed_port_url())
    pid = create_project(db, "template-channel").id
    batch = plan_and_write(db, pid, 4, ["a", "b", "c", "d"], seed=1)
    assert {j.plan_status for j in batch.jobs} == {"ready"}
    for job in jobs_of(db, pid):
        assert_valid_plan(job, "template")
    assert projects_with_plans_due(db, 3) == []
    result = make_video_plans(db, pid)
    assert (result.jobs, result.made, result.requests) == (0, 0, 0)


def test_openai_jobs_start_pending_then_get_valid_plans(db, llm):
    pid = openai_project(db)
    batch = plan_and_write(db, pid, 3, ["octopus dreams", "tidal locking", "slime molds"], seed=2)
    # The batch is written without asking the model: its jobs wait for their plans.
    assert llm.requests == []
    assert [(j.plan_status, j.plan) for j in batch.jobs] == [("pending", None)] * 3
    assert projects_with_plans_due(db, 3) == [(pid, 3)]
    assert project_stats(db, pid).plans_pending == 3

    result = make_video_plans(db, pid, concurrency=2, max_attempts=3)

    assert (result.jobs, result.made, result.failed, result.left_pending) == (3, 3, 0, 0)
    assert result.re_asked == 0 and result.requests == 3
    assert result.latency_median_s is not None and result.latency_p95_s is not None
    assert sorted(requested_idea(r) for r in llm.requests) == sorted(
        ["octopus dreams", "tidal locking", "slime molds"]
    )
    for job in jobs_of(db, pid):
        assert_valid_plan(job, "openai")
    listed = list_videos(db, pid, with_plans=True)
    assert [(v.plan_status, v.plan_error) for v in listed] == [("ready", None)] * 3
    assert all(v.plan is not None for v in listed)
    assert projects_with_plans_due(db, 3) == []
    # A second run finds nothing to do.
    assert make_video_plans(db, pid).jobs == 0


def test_an_invalid_plan_is_sent_back_and_the_corrected_one_kept(db, llm):
    pid = openai_project(db)
    plan_and_write(db, pid, 1, ["why cats knead"], seed=3)
    llm.script = [("invalid",), ("plan",)]

    result = make_video_plans(db, pid)

    assert (result.made, result.failed, result.re_asked, result.requests) == (1, 0, 1, 2)
    second = llm.requests[1]["body"]["messages"]
    assert second[-1]["role"] == "user" and "breaks" in second[-1]["content"]
    (job,) = jobs_of(db, pid)
    assert_valid_plan(job, "openai")


def test_a_plan_always_invalid_fails_the_job_and_leaves_the_batch_intact(db, llm):
    pid = openai_project(db)
    batch = plan_and_write(db, pid, 2, ["aurora noise", "ball lightning"], seed=4)
    llm.script = [("invalid",)]

    first = make_video_plans(db, pid, max_attempts=2)
    assert (first.made, first.failed, first.failed_for_good) == (0, 2, 0)
    assert first.re_asked == 2 * 2  # two re-asks per plan (LEARNING_LOOP_LLM_MAX_RETRIES=2)
    jobs = jobs_of(db, pid)
    assert {(j.plan_status, j.plan_attempts, j.plan) for j in jobs} == {("failed", 1, None)}
    assert all("breaks" in (j.plan_error or "") and "\n" not in (j.plan_error or "") for j in jobs)
    assert project_stats(db, pid).plans_failed == 2

    # A failed job is tried again by the next run, until the maximum of failed attempts.
    second = make_video_plans(db, pid, max_attempts=2)
    assert (second.jobs, second.failed, second.failed_for_good) == (2, 2, 2)
    asked = len(llm.requests)
    third = make_video_plans(db, pid, max_attempts=2)
    assert third.jobs == 0 and len(llm.requests) == asked
    assert projects_with_plans_due(db, 2) == []

    # The batch and its jobs stay as planned.
    with db.read() as s:
        stored = s.get(PlannedBatch, batch.batch.id)
        assert stored is not None and stored.jobs_created == 2
    jobs = jobs_of(db, pid)
    assert [j.id for j in jobs] == [j.id for j in batch.jobs]
    assert {(j.status, j.plan_status, j.plan_attempts) for j in jobs} == {("queued", "failed", 2)}
    assert project_stats(db, pid).plans_failed == 2
    # The report lists them with their state and error.
    page = project_report(db, pid)
    assert "Video plans" in page and "2 failed" in page
    assert page.count("<td>failed</td>") == 2 and "breaks" in page


def test_an_endpoint_down_for_a_whole_run_leaves_the_jobs_for_the_next_run(db, llm, monkeypatch):
    pid = openai_project(db)
    plan_and_write(db, pid, 3, ["sand dunes sing", "glass frogs", "moon dust"], seed=5)
    monkeypatch.setenv("LEARNING_LOOP_LLM_BASE_URL", closed_port_url())

    down = make_video_plans(db, pid, max_attempts=1)

    assert (down.made, down.failed, down.left_pending) == (0, 0, 3)
    jobs = jobs_of(db, pid)
    # Not the jobs' fault: no attempt is counted, even with a maximum of one.
    assert {(j.plan_status, j.plan_attempts) for j in jobs} == {("pending", 0)}
    assert all("could not be reached" in (j.plan_error or "") for j in jobs)
    assert llm.requests == []

    monkeypatch.setenv("LEARNING_LOOP_LLM_BASE_URL", llm.url)
    back = make_video_plans(db, pid, max_attempts=1)

    assert (back.made, back.failed, back.left_pending) == (3, 0, 0)
    for job in jobs_of(db, pid):
        assert_valid_plan(job, "openai")


def test_fifty_jobs_never_have_more_than_k_requests_in_flight(db, llm):
    pid = openai_project(db)
    plan_and_write(db, pid, 50, [f"topic number {i}" for i in range(50)], seed=6)
    llm.delay_s = 0.05  # long enough that requests overlap when they may

    result = make_video_plans(db, pid, concurrency=4)

    assert (result.jobs, result.made) == (50, 50)
    assert len(llm.requests) == 50
    assert 2 <= llm.max_in_flight <= 4  # measured by the server
    assert result.max_in_flight <= 4
    assert {j.plan_status for j in jobs_of(db, pid)} == {"ready"}


def test_replan_asks_for_a_fresh_plan_of_one_queued_job(db, llm):
    pid = openai_project(db)
    batch = plan_and_write(db, pid, 2, ["first idea", "second idea"], seed=7)
    make_video_plans(db, pid)
    target, other = batch.jobs
    before = {j.id: j.plan for j in jobs_of(db, pid)}

    assert request_replan(db, target.id) == pid
    jobs = {j.id: j for j in jobs_of(db, pid)}
    assert (jobs[target.id].plan_status, jobs[target.id].plan) == ("pending", None)
    assert jobs[other.id].plan_status == "ready"

    asked = len(llm.requests)
    result = make_video_plans(db, pid, [target.id])
    assert result.made == 1 and len(llm.requests) == asked + 1
    jobs = {j.id: j for j in jobs_of(db, pid)}
    assert_valid_plan(jobs[target.id], "openai")
    assert jobs[other.id].plan == before[other.id]

    publish_job(db, pid, other.id, "yt-1")
    with pytest.raises(Conflict):
        request_replan(db, other.id)
    with pytest.raises(NotFound):
        request_replan(db, target.id, uuid.uuid4())  # not the job's project


def test_once_k_jobs_in_a_row_find_the_endpoint_down_the_run_stops_asking(db, llm, monkeypatch):
    pid = openai_project(db)
    plan_and_write(db, pid, 3, ["one idea", "two ideas", "three ideas"], seed=8)
    monkeypatch.setenv("LEARNING_LOOP_LLM_BASE_URL", closed_port_url())

    result = make_video_plans(db, pid, concurrency=1)

    assert (result.jobs, result.left_pending, result.requests) == (3, 3, 2)  # 1 try + 1 retry
    errors = [j.plan_error for j in jobs_of(db, pid)]
    assert sum(e is not None for e in errors) == 1  # the other two were not asked about
    assert {j.plan_status for j in jobs_of(db, pid)} == {"pending"}


def test_missing_endpoint_settings_leave_the_jobs_pending_with_the_reason(db, llm, monkeypatch):
    pid = openai_project(db)
    plan_and_write(db, pid, 2, ["left alone", "also left"], seed=9)
    monkeypatch.delenv("LEARNING_LOOP_LLM_BASE_URL")

    result = make_video_plans(db, pid, max_attempts=1)

    assert (result.made, result.failed, result.left_pending) == (0, 0, 2)
    jobs = jobs_of(db, pid)
    assert {(j.plan_status, j.plan_attempts) for j in jobs} == {("pending", 0)}
    assert all("LEARNING_LOOP_LLM_BASE_URL" in (j.plan_error or "") for j in jobs)
    assert llm.requests == []


def test_a_credential_an_endpoint_echoes_is_never_stored(db, monkeypatch):
    """Issue #30, finding 7: an endpoint that echoes the request's Authorization header (as
    text or base64) leaves no credential in `plan_error`; a base URL holding credentials is
    refused before any request."""
    secret = "sk-echoed-secret-0123456789"
    with fake_llm_settings(
        monkeypatch, LLM_API_KEY=secret, LLM_HTTP_RETRIES="0", LLM_MAX_RETRIES="1"
    ) as fake:
        fake.script = [
            ("status", 400, {"error": f"bad request; you sent Authorization: Bearer {secret}"})
        ]
        pid = openai_project(db)
        plan_and_write(db, pid, 1, ["echo"], seed=1)
        make_video_plans(db, pid, max_attempts=1)
        (job,) = jobs_of(db, pid)
        assert job.plan_status == "failed" and job.plan_error
        assert secret not in job.plan_error and "[redacted]" in job.plan_error

        monkeypatch.setenv("LEARNING_LOOP_LLM_BASE_URL", fake.url.replace("://", "://u:pw@"))
        before = len(fake.requests)
        plan_and_write(db, pid, 1, ["again"], seed=2)
        make_video_plans(db, pid, max_attempts=1)
        assert len(fake.requests) == before
        errors = {j.plan_error for j in jobs_of(db, pid)}
        assert any("must not hold credentials" in (e or "") for e in errors)
        assert not any("pw" in (e or "").split("@")[0] for e in errors if "@" in (e or ""))
