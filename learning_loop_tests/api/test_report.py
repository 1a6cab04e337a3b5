"""`GET /report`: the project's HTML report, behind the admin token."""

from __future__ import annotations

import uuid

import pytest

from learning_loop_tests.api.conftest import ADMIN

pytestmark = pytest.mark.anyio


async def test_report_is_served_as_html(client, anon, world):
    response = await client.get(f"{ADMIN}/report", params={"project_id": world.pid})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.count('<svg class="chart"') == 10
    assert "Recipe leaderboard" in response.text
    denied = await anon.get(f"{ADMIN}/report", params={"project_id": world.pid})
    assert denied.status_code == 401 and "WWW-Authenticate" in denied.headers


async def test_report_bad_project(client):
    missing = await client.get(f"{ADMIN}/report", params={"project_id": str(uuid.uuid4())})
    assert missing.status_code == 404 and "no project" in missing.json()["detail"]
    malformed = await client.get(f"{ADMIN}/report", params={"project_id": "nope"})
    assert malformed.status_code == 422 and "project_id" in malformed.json()["detail"]
