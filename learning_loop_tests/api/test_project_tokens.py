"""Tokens scoped to one project (issue #30, finding 8; contract §13), on every admin route,
with the three kinds of token: the admin token opens everything; a project's token opens its
project alone (another project's objects are a 404, lists hold its project, it cannot create
projects); a read-only token reads and cannot write (403)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from learning_loop.services.tokens import create_token, list_tokens, revoke_token
from learning_loop_tests.api.conftest import ADMIN, TOKEN
from learning_loop_tests.factories import T0, metric_row, video_row

pytestmark = pytest.mark.anyio


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    # What the project's own read-write token gets (the admin gets the same).
    ok: tuple[int, ...] = (200,)
    # What another project's token gets, and the field its 404 names.
    foreign: int = 404
    foreign_field: str | None = "project_id"

    @property
    def writes(self) -> bool:
        return self.method not in ("GET", "HEAD")


def calls(w) -> list[Call]:
    p = {"project_id": w.pid}
    day = (T0 + dt.timedelta(days=6)).date().isoformat()
    snapshot = metric_row("v0", T0 + dt.timedelta(days=9))
    return [
        Call("GET", "/recommendations", {**p, "n": "2"}),
        Call("GET", "/recipes", p),
        Call("GET", "/insights", p),
        Call("GET", "/experiments", p),
        Call("GET", "/stats", p),
        Call("GET", "/video-jobs", p),
        Call("GET", f"/projects/{w.pid}"),
        Call("GET", f"/plan-requests/{w.request}", foreign_field="request_id"),
        Call("GET", "/report", p),
        Call("GET", "/metrics", p),
        Call("GET", "/projects", foreign=200, foreign_field=None),
        Call("GET", "/runs", foreign=200, foreign_field=None),
        Call("POST", "/backfill-recipes", p),
        Call("POST", "/update-stats", {**p, "as_of": day}, ok=(202,)),
        Call("POST", "/evaluate-experiments", {**p, "as_of": day}, ok=(202,)),
        Call("PATCH", f"/projects/{w.pid}", json={"top_k": 2}),
        Call("POST", "/videos/import", p, json={"videos": [video_row(40, published_at=day)]}),
        Call("POST", "/metrics", p, json={"snapshots": [snapshot]}),
        Call("POST", "/plan-requests", json={"project_id": w.pid, "n": 1}, ok=(202,)),
        Call("POST", f"/video-jobs/{w.job}/replan", ok=(202, 409), foreign_field="job_id"),
        Call(
            "POST", f"/video-jobs/{w.job}/publish", json={"external_id": "p1"},
            foreign_field="job_id",
        ),
        Call("PUT", f"/projects/{w.pid}/youtube", json={"credentials": {}}, ok=(422,)),
        Call("DELETE", f"/projects/{w.pid}/youtube", ok=(404,)),  # not connected
        Call("POST", "/collect-metrics", p, ok=(422,)),  # not connected
        Call("POST", "/projects", json={"name": "made by a token"}, ok=(201,), foreign=403,
             foreign_field="Authorization"),
    ]  # fmt: skip


async def _send(client, call: Call, token: str):
    return await client.request(
        call.method,
        f"{ADMIN}{call.path}",
        params=call.params,
        json=call.json,
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_every_route_with_the_three_kinds_of_token(client, db, world):
    own = create_token(db, uuid.UUID(world.pid), name="pipeline").token
    reader = create_token(db, uuid.UUID(world.pid), read_only=True).token
    foreign = create_token(db, uuid.UUID(world.other)).token
    routes = calls(world)
    # Every admin route is covered, /runs/{run_id} below.
    assert len(routes) + 1 == 26
    for call in routes:
        # Another project's token: as if the project (or object) did not exist; no write.
        answer = await _send(client, call, foreign)
        assert answer.status_code == call.foreign, (call.method, call.path, answer.text[:200])
        if call.foreign == 404:
            assert answer.json()["field"] == call.foreign_field, (call.path, answer.text[:200])
        # A read-only token of the project: reads as the admin does, never writes.
        answer = await _send(client, call, reader)
        if call.writes:
            assert answer.status_code == 403, (call.method, call.path)
            assert answer.json()["detail"] == "this token is read-only"
        else:
            assert answer.status_code in call.ok, (call.method, call.path, answer.text[:200])
        # The project's own token: what the admin gets (a project token creates nothing).
        answer = await _send(client, call, own)
        if call.path == "/projects" and call.method == "POST":
            assert answer.status_code == 403
        else:
            assert answer.status_code in call.ok, (call.method, call.path, answer.text[:200])
        if call.path == f"/projects/{world.pid}/youtube" and call.method == "DELETE":
            assert "not connected" in answer.json()["detail"]
        # The admin token.
        answer = await _send(client, call, TOKEN)
        assert answer.status_code in call.ok, (call.method, call.path, answer.text[:200])
    listed = (await _send(client, Call("GET", "/projects"), own)).json()["items"]
    assert [p["id"] for p in listed] == [world.pid]
    other_list = (await _send(client, Call("GET", "/projects"), foreign)).json()["items"]
    assert [p["id"] for p in other_list] == [world.other]
    run = await _send(client, Call("GET", "/runs/00000000-0000-0000-0000-000000000001"), own)
    assert run.status_code == 404 and run.json()["field"] == "run_id"


async def test_a_revoked_or_unknown_token_opens_nothing(client, db, world):
    made = create_token(db, uuid.UUID(world.pid))
    assert (
        await _send(client, Call("GET", "/stats", {"project_id": world.pid}), made.token)
    ).status_code == 200
    revoke_token(db, made.id)
    for token in (made.token, made.token + "x", "llp_" + "a" * 43):
        answer = await _send(client, Call("GET", "/stats", {"project_id": world.pid}), token)
        assert answer.status_code == 401 and answer.json()["detail"] == "invalid bearer token"
    stored = list_tokens(db, uuid.UUID(world.pid))
    assert [t.revoked_at is not None for t in stored] == [True]
    assert all(made.token not in t.model_dump_json() for t in stored)
