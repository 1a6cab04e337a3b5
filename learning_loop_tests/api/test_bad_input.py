"""Bad input on every route: a 4xx JSON answer naming the field, never a 500, nothing written."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from learning_loop_tests.api.conftest import ADMIN
from learning_loop_tests.factories import T0, metric_row, video_row

pytestmark = pytest.mark.anyio

UNKNOWN = str(uuid.uuid4())


async def expect(client, counts, status, field, method, path, **kwargs):
    """The request answers `status` with `{"detail", "field"}` and writes nothing."""
    before = counts()
    response = await client.request(method, path, **kwargs)
    where = f"{method} {path} {kwargs.get('params')}: {response.text[:300]}"
    assert response.status_code == status, where
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"], where
    if field is not None:
        assert body["field"] == field, where
    assert counts() == before, where
    return body


PROJECT_ROUTES = [
    ("GET", "/recommendations", None),
    ("GET", "/recipes", None),
    ("GET", "/experiments", None),
    ("GET", "/stats", None),
    ("POST", "/backfill-recipes", None),
    ("POST", "/update-stats", None),
    ("POST", "/evaluate-experiments", None),
    ("GET", "/video-jobs", None),
    ("POST", "/videos/import", {"videos": [video_row(9)]}),
    ("POST", "/metrics", {"snapshots": [metric_row("v1", T0 + dt.timedelta(days=5))]}),
]


async def test_project_id_is_checked_on_every_route(client, counts, world):
    for method, path, body in PROJECT_ROUTES:
        await expect(client, counts, 422, "project_id", method, ADMIN + path, json=body)
        for bad in ["not-a-uuid", "", "12345", "1' OR '1'='1", UNKNOWN[:-1], "\u0661" * 32]:
            found = await expect(
                client,
                counts,
                422,
                "project_id",
                method,
                ADMIN + path,
                params={"project_id": bad},
                json=body,
            )
            assert found["detail"].startswith("project_id: ")
        found = await expect(
            client,
            counts,
            404,
            "project_id",
            method,
            ADMIN + path,
            params={"project_id": UNKNOWN},
            json=body,
        )
        assert UNKNOWN in found["detail"]


async def test_unknown_objects(client, counts, world):
    await expect(client, counts, 404, "project_id", "GET", f"{ADMIN}/projects/{UNKNOWN}")
    await expect(
        client,
        counts,
        404,
        "project_id",
        "POST",
        f"{ADMIN}/plan-requests",
        json={"project_id": UNKNOWN},
    )
    await expect(client, counts, 404, "request_id", "GET", f"{ADMIN}/plan-requests/{UNKNOWN}")
    await expect(
        client,
        counts,
        404,
        "job_id",
        "POST",
        f"{ADMIN}/video-jobs/{UNKNOWN}/publish",
        json={"external_id": "x1"},
    )
    await expect(
        client,
        counts,
        404,
        "batch_id",
        "GET",
        f"{ADMIN}/video-jobs",
        params={"project_id": world.pid, "batch_id": UNKNOWN},
    )


async def test_malformed_ids_in_paths_and_bodies(client, counts, world):
    await expect(client, counts, 422, "project_id", "GET", f"{ADMIN}/projects/nope")
    await expect(client, counts, 422, "request_id", "GET", f"{ADMIN}/plan-requests/nope")
    await expect(
        client,
        counts,
        422,
        "job_id",
        "POST",
        f"{ADMIN}/video-jobs/nope/publish",
        json={"external_id": "x1"},
    )
    await expect(
        client,
        counts,
        422,
        "batch_id",
        "GET",
        f"{ADMIN}/video-jobs",
        params={"project_id": world.pid, "batch_id": "batch-1"},
    )
    await expect(
        client,
        counts,
        422,
        "project_id",
        "POST",
        f"{ADMIN}/plan-requests",
        json={"project_id": "p-1"},
    )
    await expect(
        client,
        counts,
        422,
        "project_id",
        "POST",
        f"{ADMIN}/video-jobs/{world.job}/publish",
        params={"project_id": "nope"},
        json={"external_id": "x1"},
    )


async def test_an_object_of_another_project(client, counts, world):
    """A project id that is not the object's own finds nothing and changes nothing."""
    await expect(
        client,
        counts,
        404,
        "job_id",
        "POST",
        f"{ADMIN}/video-jobs/{world.job}/publish",
        params={"project_id": world.other},
        json={"external_id": "x1"},
    )
    await expect(
        client,
        counts,
        404,
        "request_id",
        "GET",
        f"{ADMIN}/plan-requests/{world.request}",
        params={"project_id": world.other},
    )
    await expect(
        client,
        counts,
        404,
        "batch_id",
        "GET",
        f"{ADMIN}/video-jobs",
        params={"project_id": world.other, "batch_id": world.batch},
    )
    # Unknown project and foreign batch: the project is what is reported.
    await expect(
        client,
        counts,
        404,
        "project_id",
        "GET",
        f"{ADMIN}/video-jobs",
        params={"project_id": UNKNOWN, "batch_id": world.batch},
    )
    job = (
        await client.get(
            f"{ADMIN}/video-jobs", params={"project_id": world.pid, "status": "queued"}
        )
    ).json()["items"]
    assert world.job in {j["id"] for j in job}  # still queued


BAD_QUERY_VALUES = [
    ("/recommendations", {"n": "0"}, "n"),
    ("/recommendations", {"n": "101"}, "n"),
    ("/recommendations", {"n": "-5"}, "n"),
    ("/recommendations", {"n": "1.5"}, "n"),
    ("/recommendations", {"n": "five"}, "n"),
    ("/recommendations", {"n": str(10**30)}, "n"),
    ("/recommendations", {"seed": str(2**70)}, "seed"),
    ("/recommendations", {"seed": "x"}, "seed"),
    ("/recipes", {"limit": "0"}, "limit"),
    ("/recipes", {"limit": "1001"}, "limit"),
    ("/recipes", {"offset": "-1"}, "offset"),
    ("/recipes", {"offset": str(10**20)}, "offset"),
    ("/experiments", {"status": "done"}, "status"),
    ("/video-jobs", {"status": "queued'; --"}, "status"),
    ("/video-jobs", {"limit": "a lot"}, "limit"),
]


async def test_out_of_range_query_values(client, counts, world):
    for path, params, field in BAD_QUERY_VALUES:
        body = await expect(
            client,
            counts,
            422,
            field,
            "GET",
            ADMIN + path,
            params={"project_id": world.pid} | params,
        )
        assert body["detail"].startswith(f"{field}: ")


BAD_DAYS_AND_AS_OF = [
    ({"days": "0"}, "days"),
    ({"days": "3651"}, "days"),
    ({"days": "-1"}, "days"),
    ({"days": "thirty"}, "days"),
    ({"as_of": "2026-13-01"}, "as_of"),
    ({"as_of": "2026-02-30"}, "as_of"),
    ({"as_of": "yesterday"}, "as_of"),
    ({"as_of": "0"}, "as_of"),
    ({"as_of": "2026-10-01T00:00:00"}, "as_of"),
    # Outside the evaluation dates (2015-01-01 through tomorrow, UTC).
    ({"as_of": "2014-12-31"}, "as_of"),
    ({"as_of": "1970-01-01"}, "as_of"),
    ({"as_of": (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()}, "as_of"),
    ({"as_of": "9999-12-31"}, "as_of"),
]


async def test_update_stats_days_and_as_of(client, counts, world, fake_runs):
    for params, field in BAD_DAYS_AND_AS_OF:
        await expect(
            client,
            counts,
            422,
            field,
            "POST",
            f"{ADMIN}/update-stats",
            params={"project_id": world.pid} | params,
        )
        assert fake_runs.calls == []  # nothing was started


async def test_update_stats_accepts_the_first_and_last_evaluation_dates(client, world, fake_runs):
    """The bounds of the refusals above are themselves accepted: 2015-01-01 and tomorrow (UTC).
    (Experiments are evaluated by the CLI and the schedule only: the API has no such route.)"""
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    for day in ("2015-01-01", tomorrow):
        response = await client.post(
            f"{ADMIN}/update-stats", params={"project_id": world.pid, "as_of": day}
        )
        assert response.status_code == 202, (day, response.text)
        body = response.json()
        assert body["as_of"] == day and body["status"] == "QUEUED" and body["run_id"]
    assert [spec.partition_key for spec in fake_runs.calls] == ["2015-01-01", tomorrow]


BAD_TOPIC_LISTS = [
    "",
    "   ",
    ",",
    "a,,b",
    "a,",
    " ,b",
    ",".join(f"t{i}" for i in range(1001)),
    "x" * 501,
    "ok,bad\x00nul",
    "bell\x07",
    "esc\x1b[31mred",
    "del\x7f",
]


async def test_bad_topic_lists_in_a_preview(client, counts, world):
    for topics in BAD_TOPIC_LISTS:
        await expect(
            client,
            counts,
            422,
            "topics",
            "GET",
            f"{ADMIN}/recommendations",
            params={"project_id": world.pid, "topics": topics},
        )


ODD_TOPICS = [
    "'; DROP TABLE video_jobs; --",
    "Robert'); DELETE FROM projects WHERE ('1'='1",
    '" OR 1=1 --',
    "<script>alert(1)</script>",
    "${jndi:ldap://example.invalid/a}",
    "{{7*7}}",
    "../../etc/passwd",
    "%00%27",
    "\u202eevil rtl",
    "ｆｕｌｌｗｉｄｔｈ topic",
    "zero\u200bwidth\u200djoin",
    "\ufeffbom first",
    "emoji 🎬🔥 topic",
    "e\u0301\u0301\u0301 combining",
    "日本語のトピック",
    "tab\tand\nnewline",
]


async def test_injection_and_odd_unicode_topics_are_just_text(client, counts, world):
    before = counts()
    response = await client.get(
        f"{ADMIN}/recommendations",
        params={"project_id": world.pid, "n": len(ODD_TOPICS), "topics": ",".join(ODD_TOPICS)},
    )
    assert response.status_code == 200, response.text
    topics = [r["topic"] for r in response.json()["recommendations"]]
    assert topics == [t.strip() for t in ODD_TOPICS]
    assert counts() == before
    requested = await client.post(
        f"{ADMIN}/plan-requests",
        json={"project_id": world.pid, "n": len(ODD_TOPICS), "topics": ODD_TOPICS},
    )
    assert requested.status_code == 202, requested.text
    assert requested.json()["topics"] == [t.strip() for t in ODD_TOPICS]
    assert counts()["plan_requests"] == before["plan_requests"] + 1


MISSING = object()
BAD_PLAN_REQUESTS = [
    ({"project_id": MISSING}, "project_id"),
    ({"project_id": None}, "project_id"),
    ({"project_id": MISSING, "n": 5}, "project_id"),
    ({"n": 0}, "n"),
    ({"n": 101}, "n"),
    ({"n": "5"}, "n"),
    ({"n": True}, "n"),
    ({"n": 2.5}, "n"),
    ({"topics": []}, "topics"),
    ({"topics": "a,b"}, "topics"),
    ({"topics": [f"t{i}" for i in range(1001)]}, "topics"),
    ({"topics": ["ok", ""]}, "topics"),
    ({"topics": ["ok", "  "]}, "topics"),
    ({"topics": ["x" * 501]}, "topics"),
    ({"topics": ["a\x00b"]}, "topics"),
    ({"topics": [1, 2]}, "topics[0]"),
    ({"topics": [["nested"]]}, "topics[0]"),
    ({"seed": 2**64}, "seed"),
    ({"seed": "7"}, "seed"),
    ({"priority": "high"}, "priority"),
]


async def test_bad_plan_requests(client, counts, world):
    for body, field in BAD_PLAN_REQUESTS:
        payload = {k: v for k, v in ({"project_id": world.pid} | body).items() if v is not MISSING}
        await expect(client, counts, 422, field, "POST", f"{ADMIN}/plan-requests", json=payload)


async def test_lone_surrogates_are_refused(client, counts, world):
    raw = '{"project_id": "PID", "topics": ["ok", "bad \\ud800 half"]}'.replace("PID", world.pid)
    body = await expect(
        client,
        counts,
        422,
        "topics[1]",
        "POST",
        f"{ADMIN}/plan-requests",
        content=raw,
        headers={"content-type": "application/json"},
    )
    assert "Unicode" in body["detail"]
    rows = '{"videos": [{"external_id": "v\\udfff", "topic": "t"}]}'
    await expect(
        client,
        counts,
        422,
        "videos[0]",
        "POST",
        f"{ADMIN}/videos/import",
        params={"project_id": world.pid},
        content=rows,
        headers={"content-type": "application/json"},
    )
    await expect(
        client,
        counts,
        422,
        "name",
        "POST",
        f"{ADMIN}/projects",
        content='{"name": "\\ud83d"}',
        headers={"content-type": "application/json"},
    )


WRONG_CONTENT_TYPES = [
    ('{"name": "p"}', "text/plain"),
    ("name=p", "application/x-www-form-urlencoded"),
    ('{"name": "p"}', "multipart/form-data; boundary=x"),
    ('{"name": "p"}', "application/xml"),
    ('{"name": "p"}', "json"),
    ('{"name": "p"}', None),
]


async def test_wrong_content_types(client, counts, world):
    for content, content_type in WRONG_CONTENT_TYPES:
        headers = {"content-type": content_type} if content_type else {}
        for path, params in [
            ("/projects", {}),
            ("/plan-requests", {}),
            ("/videos/import", {"project_id": world.pid}),
            ("/metrics", {"project_id": world.pid}),
            (f"/video-jobs/{world.job}/publish", {}),
        ]:
            body = await expect(
                client,
                counts,
                415,
                "Content-Type",
                "POST",
                ADMIN + path,
                params=params,
                content=content,
                headers=headers,
            )
            assert "application/json" in body["detail"]


MALFORMED_BODIES = [
    ("", "body"),
    ("{", "body"),
    ('{"name": "p",}', "body"),
    ("[]", "body"),
    ('"p"', "body"),
    ("null", "body"),
    ("{}", "name"),
    ('{"name": ""}', "name"),
    ('{"name": "' + "n" * 201 + '"}', "name"),
    ('{"name": 5}', "name"),
    ('{"name": "p", "extra": 1}', "extra"),
    ('{"name": "tab\\there"}', "name"),
    ('{"name": "   "}', "name"),
]


async def test_malformed_json_bodies(client, counts, world):
    for content, field in MALFORMED_BODIES:
        await expect(
            client,
            counts,
            422,
            field,
            "POST",
            f"{ADMIN}/projects",
            content=content,
            headers={"content-type": "application/json"},
        )


async def test_a_duplicate_project_name_conflicts(client, counts, world):
    await expect(client, counts, 409, "name", "POST", f"{ADMIN}/projects", json={"name": "other"})


async def test_oversized_bodies(client, counts, world):
    big = json.dumps({"snapshots": [metric_row("v1", T0)] * 70_000})
    assert len(big) > 10 * 1024 * 1024
    body = await expect(
        client,
        counts,
        413,
        "body",
        "POST",
        f"{ADMIN}/metrics",
        params={"project_id": world.pid},
        content=big,
        headers={"content-type": "application/json"},
    )
    assert "larger than" in body["detail"]

    async def chunked():
        for start in range(0, len(big), 1 << 20):
            yield big[start : start + (1 << 20)].encode()

    await expect(
        client,
        counts,
        413,
        "body",
        "POST",
        f"{ADMIN}/metrics",
        params={"project_id": world.pid},
        content=chunked(),
        headers={"content-type": "application/json"},
    )


GOOD_METRIC = metric_row("v1", T0 + dt.timedelta(days=6))


BAD_METRIC_ROWS = [
    ({"views_6h": 2000, "views": 1000}, "views_6h"),
    ({"views": -1}, "views"),
    ({"views": "many"}, "views"),
    ({"views": 1.5}, "views"),
    ({"views": True}, "views"),
    ({"likes": None}, "likes is missing"),
    ({"avg_view_duration_s": "NaN"}, "avg_view_duration_s"),
    ({"avg_view_duration_s": "inf"}, "avg_view_duration_s"),
    ({"avg_view_duration_s": -2.0}, "avg_view_duration_s"),
    ({"captured_at": "yesterday"}, "captured_at"),
    ({"captured_at": "2026-09-01T00:00:00Z"}, "before the video was published"),
    ({"external_id": "v999"}, "not a published video"),
    ({"external_id": "'; DROP TABLE metric_snapshots; --"}, "not a published video"),
    ({"external_id": {"$ne": 1}}, "external_id"),
    ({"comments": [1]}, "comments"),
]


async def test_invalid_metric_rows_reject_the_whole_list(client, counts, world):
    for bad, reason in BAD_METRIC_ROWS:
        rows = [GOOD_METRIC, metric_row("v2", T0 + dt.timedelta(days=6)) | bad]
        body = await expect(
            client,
            counts,
            422,
            "snapshots",
            "POST",
            f"{ADMIN}/metrics",
            params={"project_id": world.pid},
            json={"snapshots": rows},
        )
        assert [e["line"] for e in body["errors"]] == [2]
        assert reason in body["errors"][0]["reason"]
        assert "nothing written" in body["detail"]


async def test_metric_lists_report_every_bad_row(client, counts, world):
    rows = [
        metric_row("v1", T0 + dt.timedelta(days=3), views=-1),
        GOOD_METRIC,
        GOOD_METRIC,  # the same snapshot twice
        {"external_id": "v2"},
    ]
    body = await expect(
        client,
        counts,
        422,
        "snapshots",
        "POST",
        f"{ADMIN}/metrics",
        params={"project_id": world.pid},
        json={"snapshots": rows},
    )
    assert [e["line"] for e in body["errors"]] == [1, 3, 4]
    await expect(
        client,
        counts,
        422,
        "snapshots",
        "POST",
        f"{ADMIN}/metrics",
        params={"project_id": world.pid},
        json={"snapshots": []},
    )
    await expect(
        client,
        counts,
        422,
        "snapshots[1]",
        "POST",
        f"{ADMIN}/metrics",
        params={"project_id": world.pid},
        json={"snapshots": [GOOD_METRIC, "v1,2026-10-01"]},
    )


BAD_VIDEO_ROWS = [
    ({"preset": "NOPE"}, "preset"),
    ({"scene_count": 11}, "scene_count"),
    ({"scene_count": "seven"}, "scene_count"),
    ({"hook_type": "shout"}, "hook_type"),
    ({"narration_wpm": -3}, "narration_wpm"),
    ({"caption_density": "NaN"}, "caption_density"),
    ({"published_at": "01/10/2026"}, "published_at"),
    ({"topic": ""}, "topic"),
    ({"topic": "bad\x00topic"}, "topic"),
    ({"external_id": "v0"}, "already exists"),
    ({"external_id": "x" * 201}, "external_id"),
]


async def test_invalid_video_rows_reject_the_whole_list(client, counts, world):
    for bad, reason in BAD_VIDEO_ROWS:
        rows = [video_row(50), video_row(51) | bad]
        body = await expect(
            client,
            counts,
            422,
            "videos",
            "POST",
            f"{ADMIN}/videos/import",
            params={"project_id": world.pid},
            json={"videos": rows},
        )
        assert [e["line"] for e in body["errors"]] == [2]
        assert reason in body["errors"][0]["reason"]


OUT_OF_ANY_RANGE = [
    video_row(60, narration_wpm=1e308 * 10),  # JSON `Infinity`
    video_row(60, published_at="9999-12-31T23:59:59-05:00"),
    video_row(60, published_at="0001-01-01T00:00:00+05:00"),
]


async def test_numbers_and_dates_out_of_any_range(client, counts, world):
    for row in OUT_OF_ANY_RANGE:
        await expect(
            client,
            counts,
            422,
            None,
            "POST",
            f"{ADMIN}/videos/import",
            params={"project_id": world.pid},
            content=json.dumps({"videos": [row]}),  # allow_nan: writes `Infinity`
            headers={"content-type": "application/json"},
        )


async def test_huge_integers_in_rows(client, counts, world):
    content = json.dumps({"videos": [video_row(61, narration_wpm=10**400)]})
    await expect(
        client,
        counts,
        422,
        None,
        "POST",
        f"{ADMIN}/videos/import",
        params={"project_id": world.pid},
        content=content,
        headers={"content-type": "application/json"},
    )
    # Past Python's 4300-digit limit the JSON parser itself refuses the number.
    huge = json.dumps({"snapshots": [GOOD_METRIC]}).replace(
        '"views": 1000', '"views": 1' + "0" * 5000
    )
    body = await expect(
        client,
        counts,
        422,
        "body",
        "POST",
        f"{ADMIN}/metrics",
        params={"project_id": world.pid},
        content=huge,
        headers={"content-type": "application/json"},
    )
    assert "not valid JSON" in body["detail"]
    deep = '{"snapshots": ' + "[" * 100_000 + "]" * 100_000 + "}"
    await expect(
        client,
        counts,
        422,
        "body",
        "POST",
        f"{ADMIN}/metrics",
        params={"project_id": world.pid},
        content=deep,
        headers={"content-type": "application/json"},
    )


BAD_PUBLISH = [
    ({}, "external_id"),
    ({"external_id": ""}, "external_id"),
    ({"external_id": "   "}, "external_id"),
    ({"external_id": "a\x01b"}, "external_id"),
    ({"external_id": "x" * 201}, "external_id"),
    ({"external_id": 5}, "external_id"),
    ({"external_id": "v0"}, "external_id"),  # an imported video's id
    ({"external_id": "ok", "published_at": "soon"}, "published_at"),
    ({"external_id": "ok", "published_at": "9999-12-31T23:59:59-05:00"}, "published_at"),
    ({"external_id": "ok", "published_at": 5}, "published_at"),
    ({"external_id": "ok", "status": "published"}, "status"),
]


async def test_bad_publish(client, counts, world):
    for body, field in BAD_PUBLISH:
        status = 409 if body == {"external_id": "v0"} else 422
        await expect(
            client,
            counts,
            status,
            field,
            "POST",
            f"{ADMIN}/video-jobs/{world.job}/publish",
            json=body,
        )
