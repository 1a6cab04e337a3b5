"""Hostile JSON bodies are a 4xx with the JSON error, never a 500 (issue #30, finding 6)."""

from __future__ import annotations

import pytest

from learning_loop_tests.api.conftest import ADMIN

pytestmark = pytest.mark.anyio


async def test_deep_and_huge_json_bodies_are_refused(client, world, counts):
    before = counts()
    deep = '{"videos": [' + "[" * 5000 + "]" * 5000 + "]}"
    huge = '{"videos": [{"external_id": "x", "scene_count": ' + "7" * 5000 + "}]}"
    for body in (deep, huge):
        answer = await client.post(
            f"{ADMIN}/videos/import",
            params={"project_id": world.pid},
            content=body,
            headers={"content-type": "application/json"},
        )
        assert 400 <= answer.status_code < 500, answer.text[:300]
        assert "detail" in answer.json()
    assert counts() == before
