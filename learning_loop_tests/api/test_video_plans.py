"""Plan states through the API: `GET /video-jobs` with `plan_status` and `plan_error` (and the
plans a downstream pipeline fetches), `POST /video-jobs/{id}/replan`, the settings' backend."""

from __future__ import annotations

import uuid

import pytest

from learning_loop.domain.statuses import PlannerBackend
from learning_loop.services import planning
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.runs import JobName
from learning_loop_tests.api.conftest import ADMIN

pytestmark = pytest.mark.anyio


async def test_the_planner_backend_is_a_project_setting(client):
    created = await client.post(
        f"{ADMIN}/projects", json={"name": "llm", "planner_backend": "openai"}
    )
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert created.json()["planner_backend"] == "openai"
    changed = await client.patch(f"{ADMIN}/projects/{pid}", json={"planner_backend": "template"})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["planner_backend"] == "template"
    assert [(c["setting"], c["old_value"], c["new_value"]) for c in body["changes"]] == [
        ("planner_backend", "openai", "template")
    ]
    bad = await client.patch(f"{ADMIN}/projects/{pid}", json={"planner_backend": "gpt"})
    assert bad.status_code == 422 and bad.json()["field"] == "planner_backend"


async def test_video_jobs_show_plan_states_and_a_replan_starts_a_run(client, db, fake_runs):
    pid = create_project(db, "llm", ProjectSettings(planner_backend=PlannerBackend.OPENAI)).id
    batch = planning.plan_and_write(db, pid, 2, ["first topic", "second topic"], seed=1)
    params = {"project_id": str(pid)}
    page = (await client.get(f"{ADMIN}/video-jobs", params=params)).json()
    assert [(j["plan_status"], j["plan_error"], j["plan"]) for j in page["items"]] == [
        ("pending", None, None)
    ] * 2

    # The template backend plans the job the run is asked for (the fake runs do its work).
    template = create_project(db, "template").id
    done = planning.plan_and_write(db, template, 1, ["third topic"], seed=2)
    ready = await client.get(
        f"{ADMIN}/video-jobs",
        params={
            "project_id": str(template),
            "status": "queued",
            "plan_status": "ready",
            "include_plan": "true",
        },
    )
    (item,) = ready.json()["items"]
    assert item["plan_status"] == "ready" and item["plan"]["backend"] == "template"
    assert item["id"] == str(done.jobs[0].id)

    replanned = await client.post(f"{ADMIN}/video-jobs/{done.jobs[0].id}/replan")
    assert replanned.status_code == 202, replanned.text
    answer = replanned.json()
    assert answer["status"] == "QUEUED" and answer["run_id"]
    spec = fake_runs.calls[-1]
    assert spec.job is JobName.VIDEO_PLANS and spec.job_ids == (done.jobs[0].id,)
    assert answer["job"]["plan_status"] == "ready"  # the fake run planned it at once

    missing = await client.post(f"{ADMIN}/video-jobs/{uuid.uuid4()}/replan")
    assert missing.status_code == 404 and missing.json()["field"] == "job_id"
    elsewhere = await client.post(
        f"{ADMIN}/video-jobs/{batch.jobs[0].id}/replan", params={"project_id": str(template)}
    )
    assert elsewhere.status_code == 404
    pending = await client.get(
        f"{ADMIN}/video-jobs", params={"project_id": str(pid), "plan_status": "pending"}
    )
    assert len(pending.json()["items"]) == 2
    bad = await client.get(f"{ADMIN}/video-jobs", params={**params, "plan_status": "done"})
    assert bad.status_code == 422
