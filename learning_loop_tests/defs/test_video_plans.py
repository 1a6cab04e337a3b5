"""The `video_plans` asset in real Dagster runs: started after a batch's run, on a schedule and
by hand; its metadata tells plans made, failed, re-asked and the backend's latency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from dagster import (
    DagsterInstance,
    SkipReason,
    build_run_status_sensor_context,
    build_schedule_context,
)

from learning_loop.defs import defs
from learning_loop.defs.jobs import PlanConfig, plan_run_config
from learning_loop.defs.video_plans import video_plans_after_batch, video_plans_schedule
from learning_loop.domain.statuses import PlannerBackend
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.video_jobs import list_videos
from learning_loop_tests.fake_llm import FakeLLM, fake_llm_settings


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    with fake_llm_settings(monkeypatch, LLM_HTTP_RETRIES="0", LLM_MAX_RETRIES="1") as fake:
        yield fake


def _plan_batch(instance, resources, pid, topics):
    job = defs.resolve_job_def("plan_next_batch")
    config = PlanConfig(project_id=str(pid), n=len(topics), topics=topics, seed=1)
    result = job.execute_in_process(
        run_config=plan_run_config(config),
        instance=instance,
        resources=resources,
        tags={"project_id": str(pid)},
    )
    assert result.success
    return result


def _after_batch(instance, resources, result):
    run = instance.get_run_by_id(result.run_id)
    context = build_run_status_sensor_context(
        sensor_name=video_plans_after_batch.name,
        dagster_event=result.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=run,
        resources=resources,
    )
    return video_plans_after_batch(context)


def test_a_batch_run_triggers_video_plans_whose_metadata_tells_what_it_did(db, resources, llm):
    pid = create_project(
        db, "llm-channel", ProjectSettings(planner_backend=PlannerBackend.OPENAI)
    ).id
    template_pid = create_project(db, "template-channel").id
    llm.script = [("invalid",), ("plan",)]  # the first plan is sent back once
    with DagsterInstance.ephemeral() as instance:
        batch_run = _plan_batch(instance, resources, pid, ["a", "b", "c"])
        # The batch's run wrote the jobs and asked no model.
        assert llm.requests == []
        assert {v.plan_status for v in list_videos(db, pid)} == {"pending"}

        request = _after_batch(instance, resources, batch_run)
        assert not isinstance(request, SkipReason)
        assert request.run_key == f"video-plans:{batch_run.run_id}"
        assert request.tags["project_id"] == str(pid)

        llm.delay_s = 0.05  # every answer held this long: the latency figures must show it
        result = defs.resolve_job_def("make_video_plans").execute_in_process(
            run_config=request.run_config, instance=instance, resources=resources
        )
        assert result.success
        (materialization,) = result.asset_materializations_for_node("video_plans")
        meta = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
        assert (meta["jobs"], meta["plans_made"], meta["plans_failed"]) == (3, 3, 0)
        assert meta["re_asked"] == 1 and meta["backend_requests"] == 4
        assert 0.05 <= meta["backend_latency_median_s"] <= meta["backend_latency_p95_s"]
        assert {v.plan_status for v in list_videos(db, pid)} == {"ready"}

        # A template project's batch has its plans already: nothing to start.
        template_run = _plan_batch(instance, resources, template_pid, ["x"])
        assert isinstance(_after_batch(instance, resources, template_run), SkipReason)


def test_the_schedule_starts_a_run_per_project_with_plans_to_make(db, resources, llm):
    settings = ProjectSettings(planner_backend=PlannerBackend.OPENAI)
    pid = create_project(db, "llm-channel", settings).id
    when = dt.datetime(2026, 11, 28, 5, 20, tzinfo=dt.UTC)
    context = build_schedule_context(resources=resources, scheduled_execution_time=when)
    assert isinstance(video_plans_schedule(context), SkipReason)
    with DagsterInstance.ephemeral() as instance:
        _plan_batch(instance, resources, pid, ["a", "b"])
    context = build_schedule_context(resources=resources, scheduled_execution_time=when)
    (request,) = video_plans_schedule(context)
    assert request.run_key == f"video-plans:{pid}:{when.isoformat()}"
    assert request.run_config["ops"]["video_plans"]["config"]["project_id"] == str(pid)
