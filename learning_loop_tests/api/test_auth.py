"""Every admin route needs the bearer token; `/health` and the schema do not."""

from __future__ import annotations

import uuid

import httpx
import pytest

from api.app import MissingAdminToken, create_app
from api.deps import check_bearer
from learning_loop.settings import Settings
from learning_loop_tests.api.conftest import ADMIN, TOKEN

pytestmark = pytest.mark.anyio


def admin_routes(app):
    """(method, path) of every admin operation in the schema, ids filled in at random."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith(ADMIN):
            for name in ("{job_id}", "{request_id}", "{project_id}"):
                path = path.replace(name, str(uuid.uuid4()))
            out += [(method.upper(), path) for method in operations]
    return out


def test_every_admin_route_is_behind_the_token(app):
    routes = admin_routes(app)
    # The 15 of contract §9, the report, the run status, PATCH project, a job's replan, the
    # insights, the collector's four (contract §12), the latest runs (§13) and the evaluation
    # run (issue #29).
    assert len(routes) == 26
    schema = app.openapi()
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            if path.startswith(ADMIN):
                assert operation["security"] == [{"AdminToken": []}], path
                assert "401" in operation["responses"]
            else:
                assert "security" not in operation


BAD_HEADERS = [
    ({}, "missing"),
    ({"Authorization": ""}, "missing"),
    ({"Authorization": "Bearer"}, "missing"),
    ({"Authorization": "Bearer "}, "missing"),
    ({"Authorization": f"Basic {TOKEN}"}, "missing"),
    ({"Authorization": TOKEN}, "missing"),
    ({"Authorization": "Bearer wrong-token"}, "invalid"),
    ({"Authorization": f"Bearer {TOKEN[:-1]}"}, "invalid"),
    ({"Authorization": f"Bearer {TOKEN}x"}, "invalid"),
    ({"Authorization": f"Bearer {TOKEN.upper()}"}, "invalid"),
    ({"Authorization": "Bearer t\u00e9st-\u00ff".encode("latin-1")}, "invalid"),  # not ASCII
]


async def test_missing_or_wrong_token_is_401_everywhere(app, counts):
    before = counts()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as anon:
        for headers, why in BAD_HEADERS:
            for method, path in admin_routes(app) + [("GET", f"{ADMIN}/no-such-route")]:
                # A broken body too: the token is checked before anything else.
                response = await anon.request(
                    method,
                    path,
                    headers=headers,
                    params={"project_id": str(uuid.uuid4())},
                    content=b'{"broken json',
                )
                where = (headers, method, path, response.text)
                assert response.status_code == 401, where
                challenge = response.headers["www-authenticate"]
                assert challenge.startswith("Bearer realm="), where
                assert ('error="invalid_token"' in challenge) == (why == "invalid"), where
                body = response.json()
                assert body["field"] == "Authorization" and why in body["detail"], where
                assert TOKEN not in response.text
    assert counts() == before


async def test_dependency_guards_a_route_on_its_own():
    # The routes' own dependency answers too, as in an app mounted without the middleware.
    from fastapi import FastAPI

    from api.errors import install_error_handlers
    from api.routes import admin_router

    bare = FastAPI()
    bare.state.admin_token = TOKEN
    install_error_handlers(bare)
    bare.include_router(admin_router())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=bare), base_url="http://testserver"
    ) as c:
        response = await c.get(f"{ADMIN}/projects", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid bearer token"
    assert response.headers["www-authenticate"].endswith('error="invalid_token"')


async def test_the_right_token_opens_and_health_is_open(client, anon):
    assert (await client.get(f"{ADMIN}/projects")).status_code == 200
    lower = await client.get(f"{ADMIN}/projects", headers={"Authorization": f"bearer {TOKEN}"})
    assert lower.status_code == 200
    health = await anon.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok"}
    assert (await anon.get("/openapi.json")).status_code == 200


def test_check_bearer_compares_in_constant_time(monkeypatch):
    # Patched where check_bearer looks it up: the module attribute.
    import secrets

    seen = []
    real = secrets.compare_digest
    monkeypatch.setattr(
        secrets, "compare_digest", lambda a, b: seen.append((len(a), len(b))) or real(a, b)
    )
    assert check_bearer(f"Bearer {TOKEN}", TOKEN) is None
    assert check_bearer("Bearer nope", TOKEN) is not None
    # Digests of equal length: the time taken tells nothing about the token, not even its length.
    assert seen == [(32, 32), (32, 32)]


@pytest.mark.parametrize("token", [None, "", "   "])
def test_no_token_no_app(tmp_path, token):
    settings = Settings(LEARNING_LOOP_HOME=str(tmp_path), LEARNING_LOOP_ADMIN_TOKEN=token)
    with pytest.raises(MissingAdminToken, match="LEARNING_LOOP_ADMIN_TOKEN"):
        create_app(settings)


async def test_health_reports_an_unreachable_database(tmp_path):
    settings = Settings(
        LEARNING_LOOP_HOME=str(tmp_path),
        LEARNING_LOOP_ADMIN_TOKEN=TOKEN,
        LEARNING_LOOP_DATABASE_URL="postgresql+psycopg2://nobody:s3cret-pw@127.0.0.1:1/none",
    )
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as c:
        health = await c.get("/health")
        assert health.status_code == 503
        assert health.json() == {"status": "unavailable", "database": "unreachable"}
        down = await c.get(f"{ADMIN}/projects", headers={"Authorization": f"Bearer {TOKEN}"})
        assert down.status_code == 503 and down.json()["field"] == "database"
        for response in (health, down):
            assert "s3cret-pw" not in response.text and "nobody" not in response.text
