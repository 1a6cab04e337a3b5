"""Project settings through the API: create with settings, GET the document, PATCH a subset."""

from __future__ import annotations

import pytest

from learning_loop_tests.api.conftest import ADMIN
from learning_loop_tests.api.test_bad_input import expect
from learning_loop_tests.factories import video_row

pytestmark = pytest.mark.anyio

CUSTOM = {
    "presets": ["A_STYLE", "B_STYLE"],
    "reward_weights": {"avg_view_duration": 0.6, "views_6h": 0.4, "engagement": 0.0},
    "window_days": 7,
    "explore_rate": 0.5,
    "top_k": 2,
    "max_running_experiments": 1,
    "min_samples": 4,
    "max_days": 10,
    "alpha": 0.1,
    "default_recipe": {
        "preset": "B_STYLE",
        "hook_type": "story",
        "scene_count": 8,
        "narration_wpm_bucket": "fast",
        "caption_density_bucket": "dense",
        "ending_type": "loop",
    },
    "target_duration_s": 30.0,
    "policy": "thompson",
    "planner_backend": "openai",
    "half_life_days": 30,
    "exploit_scope": "made",
    "guardrail": "views_6h",
}


async def test_create_with_settings_get_and_patch(client):
    created = await client.post(f"{ADMIN}/projects", json={"name": "custom", **CUSTOM})
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    doc = (await client.get(f"{ADMIN}/projects/{pid}")).json()
    assert doc == {
        "id": pid,
        "name": "custom",
        "connection": None,
        **CUSTOM,
        "auto_plan": False,
        "auto_plan_count": 5,
        "changes": [],
    }
    patched = await client.patch(
        f"{ADMIN}/projects/{pid}",
        json={"window_days": 14, "add_presets": ["C_STYLE"], "auto_plan": True},
    )
    assert patched.status_code == 200, patched.text
    after = patched.json()
    assert after["window_days"] == 14 and after["auto_plan"] is True
    assert after["presets"] == ["A_STYLE", "B_STYLE", "C_STYLE"]
    assert after["top_k"] == 2  # untouched
    assert [(c["setting"], c["old_value"], c["new_value"]) for c in after["changes"]] == [
        ("auto_plan", False, True),
        ("presets", ["A_STYLE", "B_STYLE"], ["A_STYLE", "B_STYLE", "C_STYLE"]),
        ("window_days", 7, 14),
    ]
    assert (await client.get(f"{ADMIN}/projects/{pid}")).json() == after


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reward_weights": {"avg_view_duration": 1, "views_6h": 1, "engagement": 0}}, None),
        ({"explore_rate": 1.5}, "explore_rate"),
        ({"top_k": 0}, "top_k"),
        ({"alpha": 0.9}, "alpha"),
        ({"window_days": "x"}, "window_days"),
        ({"half_life_days": 3}, "half_life_days"),
        ({"half_life_days": "soon"}, "half_life_days"),
        ({"exploit_scope": "all"}, "exploit_scope"),
        ({"guardrail": "reach"}, "guardrail"),
        ({"presets": []}, "presets"),
        ({"remove_presets": ["DARK_DYSTOPIAN_ANIME"]}, "remove_preset"),
        ({"default_recipe": {"preset": "NOPE"}}, "default_recipe"),
        ({"unknown_setting": 1}, None),
    ],
)
async def test_a_bad_patch_is_422_naming_the_field_and_writes_nothing(client, counts, body, field):
    pid = (await client.post(f"{ADMIN}/projects", json={"name": "p"})).json()["id"]
    before = (await client.get(f"{ADMIN}/projects/{pid}")).json()
    answer = await expect(client, counts, 422, field, "PATCH", f"{ADMIN}/projects/{pid}", json=body)
    if field is None:
        assert answer["field"]
    assert (await client.get(f"{ADMIN}/projects/{pid}")).json() == before


async def test_bad_settings_at_creation_are_422(client, counts):
    await expect(
        client,
        counts,
        422,
        "reward_weights",
        "POST",
        f"{ADMIN}/projects",
        json={
            "name": "w",
            "reward_weights": {"avg_view_duration": -1, "views_6h": 1, "engagement": 1},
        },
    )
    await expect(
        client,
        counts,
        422,
        "presets",
        "POST",
        f"{ADMIN}/projects",
        json={"name": "r", "presets": ["ONLY"]},
    )


async def test_patch_unknown_project_is_404(client, counts):
    import uuid

    await expect(
        client,
        counts,
        404,
        "project_id",
        "PATCH",
        f"{ADMIN}/projects/{uuid.uuid4()}",
        json={"top_k": 2},
    )


async def test_import_of_an_unknown_preset_names_the_command(client):
    pid = (await client.post(f"{ADMIN}/projects", json={"name": "p"})).json()["id"]
    answer = await client.post(
        f"{ADMIN}/videos/import",
        params={"project_id": pid},
        json={"videos": [video_row(0, preset="Other_1")]},
    )
    assert answer.status_code == 422
    assert f"shorts-engine projects configure --project {pid} --add-preset Other_1" in answer.text


async def test_a_boolean_must_be_a_json_boolean(client):
    """Issue #30, finding 9: `"yes"` is not true."""
    created = await client.post(f"{ADMIN}/projects", json={"name": "strict"})
    pid = created.json()["id"]
    for value in ("yes", "true", 1):
        answer = await client.patch(f"{ADMIN}/projects/{pid}", json={"auto_plan": value})
        assert answer.status_code == 422 and answer.json()["field"] == "auto_plan", value
    shown = (await client.get(f"{ADMIN}/projects/{pid}")).json()
    assert shown["auto_plan"] is False and shown["changes"] == []


async def test_update_stats_takes_a_json_body_or_the_query(client, world, fake_runs):
    """Issue #29, point 8: the JSON form beside the query form, not both at once."""
    body = {"project_id": world.pid, "days": 14, "as_of": "2026-10-06"}
    started = await client.post(f"{ADMIN}/update-stats", json=body)
    assert started.status_code == 202, started.text
    assert started.json()["days"] == 14 and started.json()["as_of"] == "2026-10-06"
    query = await client.post(
        f"{ADMIN}/update-stats", params={"project_id": world.pid, "as_of": "2026-10-06"}
    )
    assert query.status_code == 202 and query.json()["days"] == 30
    both = await client.post(f"{ADMIN}/update-stats", params={"project_id": world.pid}, json=body)
    assert both.status_code == 422 and both.json()["field"] == "body"
    neither = await client.post(f"{ADMIN}/update-stats")
    assert neither.status_code == 422 and neither.json()["field"] == "project_id"
    bad = await client.post(f"{ADMIN}/update-stats", json={**body, "days": 0})
    assert bad.status_code == 422 and bad.json()["field"] == "days"
    # Point 4: without `days`, the raw average's window is the project's own.
    patched = await client.patch(f"{ADMIN}/projects/{world.pid}", json={"window_days": 21})
    assert patched.status_code == 200, patched.text
    own = await client.post(f"{ADMIN}/update-stats", json={"project_id": world.pid})
    assert own.status_code == 202 and own.json()["days"] == 21


async def test_evaluate_experiments_takes_a_json_body_or_the_query(client, world, fake_runs):
    """Issue #29, point 14: the seed's `evaluate_experiments` task as a route, in the same two
    forms as `POST /update-stats`."""
    body = {"project_id": world.pid, "as_of": "2026-10-06"}
    started = await client.post(f"{ADMIN}/evaluate-experiments", json=body)
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["job_name"] == "evaluate_experiments" and run["as_of"] == "2026-10-06"
    query = await client.post(f"{ADMIN}/evaluate-experiments", params=body)
    assert query.status_code == 202 and query.json()["project_id"] == world.pid
    both = await client.post(f"{ADMIN}/evaluate-experiments", params=body, json=body)
    assert both.status_code == 422 and both.json()["field"] == "body"
    late = await client.post(f"{ADMIN}/evaluate-experiments", json={**body, "as_of": "2099-01-01"})
    assert late.status_code == 422 and late.json()["field"] == "as_of"


async def test_the_guardrail_setting_and_the_verdicts_guardrail(client, counts, db):
    """A bad guardrail is a 422 naming the allowed values; the experiments listing shows the
    guardrail each verdict was judged with, and when it held the variant's win back."""
    import datetime as dt
    import uuid

    from learning_loop.services.experiments import evaluate_experiments
    from learning_loop_tests.services.test_guardrail import better_on_reward_worse_on_engagement

    body = {"name": "g", "guardrail": "reach"}
    answer = await expect(client, counts, 422, "guardrail", "POST", f"{ADMIN}/projects", json=body)
    assert all(v in answer["detail"] for v in ("engagement", "avg_view_duration", "views_6h"))
    created = await client.post(
        f"{ADMIN}/projects", json={"name": "g", "min_samples": 3, "explore_rate": 0.5}
    )
    pid = created.json()["id"]
    assert created.json()["guardrail"] == "engagement"  # the default
    day = better_on_reward_worse_on_engagement(db, uuid.UUID(pid))
    evaluate_experiments(db, day + dt.timedelta(days=40))
    listed = await client.get(
        f"{ADMIN}/experiments", params={"project_id": pid, "status": "completed"}
    )
    assert listed.status_code == 200, listed.text
    rows = listed.json()["items"]
    held = [r for r in rows if r["reason"] == "guardrail"]
    assert held and all(r["winner"] == "inconclusive" for r in held)
    assert all(r["guardrail"] == "engagement" and r["guardrail_p_value"] < 0.05 for r in held)
    patched = await client.patch(f"{ADMIN}/projects/{pid}", json={"guardrail": "none"})
    assert patched.status_code == 200, patched.text
    assert ("guardrail", "engagement", "none") in [
        (c["setting"], c["old_value"], c["new_value"]) for c in patched.json()["changes"]
    ]
