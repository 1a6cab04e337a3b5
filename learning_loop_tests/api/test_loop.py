"""The loop closed from outside, route by route: the happy paths on both databases."""

from __future__ import annotations

import csv
import uuid

import pytest

from learning_loop.domain.recipe import RECIPE_FIELDS
from learning_loop.domain.statuses import PlanRequestStatus
from learning_loop.services import planning
from learning_loop.services.plan_requests import mark_plan_request
from learning_loop_tests.api.conftest import ADMIN

pytestmark = pytest.mark.anyio


def rows(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


async def test_the_loop_from_outside(client, samples, db, counts, fake_runs):
    created = await client.post(f"{ADMIN}/projects", json={"name": "sample channel"})
    assert created.status_code == 201, created.text
    project = created.json()
    pid = project["id"]
    assert project["name"] == "sample channel" and project["explore_rate"] == 0.3
    assert (await client.get(f"{ADMIN}/projects/{pid}")).json()["id"] == pid
    listed = (await client.get(f"{ADMIN}/projects")).json()
    assert [p["id"] for p in listed["items"]] == [pid] and listed["next_offset"] is None

    videos = rows(samples / "videos.csv")
    imported = await client.post(
        f"{ADMIN}/videos/import", params={"project_id": pid}, json={"videos": videos}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"project_id": pid, "rows": 60, "imported": 60, "unchanged": 0}
    again = await client.post(
        f"{ADMIN}/videos/import", params={"project_id": pid}, json={"videos": videos}
    )
    assert again.json()["imported"] == 0 and again.json()["unchanged"] == 60

    backfill = await client.post(f"{ADMIN}/backfill-recipes", params={"project_id": pid})
    assert backfill.status_code == 200, backfill.text
    assert backfill.json()["videos_backfilled"] == 60 and backfill.json()["recipes_created"] > 1

    snapshots = rows(samples / "metrics.csv")
    ingested = await client.post(
        f"{ADMIN}/metrics", params={"project_id": pid}, json={"snapshots": snapshots}
    )
    assert ingested.status_code == 200, ingested.text
    assert ingested.json()["ingested"] == len(snapshots)
    again = await client.post(
        f"{ADMIN}/metrics", params={"project_id": pid}, json={"snapshots": snapshots}
    )
    assert again.json()["ingested"] == 0 and again.json()["unchanged"] == len(snapshots)

    run = await client.post(
        f"{ADMIN}/update-stats", params={"project_id": pid, "as_of": "2026-10-30", "days": 30}
    )
    assert run.status_code == 202, run.text
    assert run.json()["run_id"] and run.json()["status"] == "QUEUED"
    assert run.json()["partition_key"] == "2026-10-30" and run.json()["days"] == 30
    assert fake_runs.calls[-1].partition_key == "2026-10-30"

    recipes = (await client.get(f"{ADMIN}/recipes", params={"project_id": pid})).json()["items"]
    # The leaderboard goes by estimate (the whole history's model), each with its interval.
    estimates = [r["estimate"] for r in recipes]
    assert None not in estimates and estimates == sorted(estimates, reverse=True)
    assert all(r["estimate_low"] <= r["estimate"] <= r["estimate_high"] for r in recipes)
    # Every sample video published by the end of 2026-10-30 (59 of the 60) is evidence.
    assert sum(r["evidence_videos"] for r in recipes) == 59

    insights = (await client.get(f"{ADMIN}/insights", params={"project_id": pid})).json()
    assert set(insights) >= {"project_id", "as_of", "videos", "fields"}
    assert insights["project_id"] == pid and insights["videos"] == 59
    assert insights["as_of"] == "2026-10-30"
    assert [f["field"] for f in insights["fields"]] == list(RECIPE_FIELDS)
    for f in insights["fields"]:
        assert set(f) >= {"field", "reference", "summary", "values"} and f["summary"]
        assert f["reference"] == project["default_recipe"][f["field"]]
        assert sum(v["p_best"] for v in f["values"]) == pytest.approx(1.0)
        assert sum(v["videos"] for v in f["values"]) == 59
        for v in f["values"]:
            assert set(v) == {"value", "effect", "low", "high", "videos", "p_best"}
            assert isinstance(v["value"], int if f["field"] == "scene_count" else str)
            if v["value"] == f["reference"]:
                assert v["effect"] == 0
    missing = await client.get(f"{ADMIN}/insights", params={"project_id": str(uuid.uuid4())})
    assert missing.status_code == 404
    for key in ("recipe_hash", "times_used", "best_reward_score", "preset", "ending_type"):
        assert key in recipes[0]

    stats = (await client.get(f"{ADMIN}/stats", params={"project_id": pid})).json()
    assert stats["rewarded_videos"] > 50 and stats["best_recipe"] is not None

    before = counts()
    preview = await client.get(
        f"{ADMIN}/recommendations",
        params={"project_id": pid, "n": 10, "topics": "a,b,c,d,e,f,g,h,i,j", "seed": 7},
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert set(body) >= {"recommendations", "top_recipes", "running_experiments", "recent_batches"}
    assert len(body["recommendations"]) == 10
    assert {r["type"] for r in body["recommendations"]} <= {"exploit", "explore"}
    assert [r["topic"] for r in body["recommendations"]] == list("abcdefghij")
    assert body["top_recipes"][0]["recipe_hash"] == recipes[0]["recipe_hash"]
    assert counts() == before  # a preview writes nothing

    requested = await client.post(
        f"{ADMIN}/plan-requests", json={"project_id": pid, "n": 4, "topics": list("wxyz")}
    )
    assert requested.status_code == 202, requested.text
    request = requested.json()
    assert request["status"] == "pending" and request["batch"] is None
    assert requested.headers["location"] == f"{ADMIN}/plan-requests/{request['id']}"
    followed = await client.get(requested.headers["location"])
    assert followed.json()["status"] == "pending" and followed.json()["run_id"] is None

    # What the plan sensor's run does with the request.
    rid = uuid.UUID(request["id"])
    out = planning.plan_and_write(db, uuid.UUID(pid), 4, list("wxyz"), seed=1, plan_request_id=rid)
    mark_plan_request(db, rid, PlanRequestStatus.SUCCEEDED, run_id="run-1", batch_id=out.batch.id)
    done = (
        await client.get(f"{ADMIN}/plan-requests/{request['id']}", params={"project_id": pid})
    ).json()
    assert done["status"] == "succeeded" and done["run_id"] == "run-1"
    assert done["batch"]["id"] == str(out.batch.id) and len(done["jobs"]) == 4
    assert {j["topic"] for j in done["jobs"]} == set("wxyz")

    queued = (
        await client.get(f"{ADMIN}/video-jobs", params={"project_id": pid, "status": "queued"})
    ).json()["items"]
    assert len(queued) == 4 and {j["status"] for j in queued} == {"queued"}
    in_batch = (
        await client.get(
            f"{ADMIN}/video-jobs", params={"project_id": pid, "batch_id": str(out.batch.id)}
        )
    ).json()["items"]
    assert sorted(j["id"] for j in in_batch) == sorted(j["id"] for j in queued)

    job = queued[0]["id"]
    published = await client.post(
        f"{ADMIN}/video-jobs/{job}/publish",
        params={"project_id": pid},
        json={"external_id": "yt_new_1", "published_at": "2026-11-01T10:00:00"},
    )
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert published.json()["published_at"].startswith("2026-11-01T10:00:00")
    # The project is the job's own when not given; the same id again changes nothing.
    same = await client.post(f"{ADMIN}/video-jobs/{job}/publish", json={"external_id": "yt_new_1"})
    assert same.status_code == 200 and same.json()["external_id"] == "yt_new_1"
    other = await client.post(f"{ADMIN}/video-jobs/{job}/publish", json={"external_id": "yt_x"})
    assert other.status_code == 409 and other.json()["field"] == "job_id"

    all_jobs = (await client.get(f"{ADMIN}/video-jobs", params={"project_id": pid})).json()
    assert len(all_jobs["items"]) == 64
    with_reward = [j for j in all_jobs["items"] if j["reward"] is not None]
    assert with_reward and all(0 <= j["reward"] <= 1 for j in with_reward)
    assert all(j["reward_date"] == "2026-10-30" for j in with_reward)

    experiments = (
        await client.get(f"{ADMIN}/experiments", params={"project_id": pid, "status": "running"})
    ).json()["items"]
    explore = [j for j in done["jobs"] if j["generation_mode"] == "explore"]
    assert {e["id"] for e in experiments} >= {j["experiment_id"] for j in explore}
    # Where each running experiment stands (issue #16): its arms, the always-valid interval and
    # the expected days to the verdict; no verdict fields yet.
    for e in experiments:
        standing = e["standing"]
        assert standing["variant_n"] >= 0 and standing["baseline_n"] >= 0
        assert {"difference", "ci_low", "ci_high", "expected_days_to_decision"} <= set(standing)
        assert e["mde"] is None and e["decision_rule"] is None
    none_done = await client.get(
        f"{ADMIN}/experiments", params={"project_id": pid, "status": "completed"}
    )
    assert none_done.json()["items"] == []


@pytest.mark.parametrize("limit", [1, 7, 100])
async def test_pages_cover_the_list_once_in_a_stable_order(client, db, limit):
    from learning_loop_tests.factories import channel, video_row

    pid = channel(db, [video_row(i) for i in range(23)], [])
    seen, offset = [], 0
    while offset is not None:
        page = (
            await client.get(
                f"{ADMIN}/video-jobs", params={"project_id": pid, "limit": limit, "offset": offset}
            )
        ).json()
        assert page["limit"] == limit and page["offset"] == offset
        assert len(page["items"]) <= limit
        seen += [j["id"] for j in page["items"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == 23
    whole = (await client.get(f"{ADMIN}/video-jobs", params={"project_id": pid})).json()
    assert [j["id"] for j in whole["items"]] == seen
    assert [j["external_id"] for j in whole["items"]] == [f"v{i}" for i in range(23)]


async def test_list_routes_page(client, db):
    from learning_loop_tests.factories import channel, video_row

    for i in range(3):
        await client.post(f"{ADMIN}/projects", json={"name": f"p{i}"})
    first = (await client.get(f"{ADMIN}/projects", params={"limit": 2})).json()
    rest = (await client.get(f"{ADMIN}/projects", params={"limit": 2, "offset": 2})).json()
    assert first["next_offset"] == 2 and rest["next_offset"] is None
    assert [p["name"] for p in first["items"] + rest["items"]] == ["p0", "p1", "p2"]

    pid = channel(db, [video_row(i, scene_count=5 + i % 6) for i in range(12)], [])
    recipes = (await client.get(f"{ADMIN}/recipes", params={"project_id": pid})).json()
    assert len(recipes["items"]) == 6
    two = (
        await client.get(f"{ADMIN}/recipes", params={"project_id": pid, "limit": 2, "offset": 4})
    ).json()
    assert two["items"] == recipes["items"][4:6] and two["next_offset"] is None
