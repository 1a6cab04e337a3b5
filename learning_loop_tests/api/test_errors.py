"""Failures that are not the caller's: no internals in the answer or the log."""

from __future__ import annotations

import logging
import threading
import uuid

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.app import create_app
from api.deps import get_db, get_reads
from learning_loop.db.engine import READS_APPLICATION_NAME
from learning_loop.services.projects import create_project
from learning_loop.settings import Settings
from learning_loop_tests.api.conftest import ADMIN, TOKEN

pytestmark = pytest.mark.anyio

SECRET = "postgresql://admin:hunter2@db.internal/prod"


async def test_an_unexpected_error_is_a_bare_500_logged_by_type(app, client, caplog):
    def broken():
        raise RuntimeError(f"could not connect to {SECRET} with {TOKEN}")

    app.dependency_overrides[get_db] = app.dependency_overrides[get_reads] = broken
    with caplog.at_level(logging.DEBUG):
        response = await client.get(f"{ADMIN}/projects")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error", "field": None}
    assert "RuntimeError" in caplog.text and "/api/v1/admin/projects" in caplog.text
    for leak in (SECRET, "hunter2", TOKEN):
        assert leak not in caplog.text and leak not in response.text


async def test_database_errors_are_503_without_their_message(app, client, caplog):
    from sqlalchemy.exc import OperationalError

    def down():
        raise OperationalError("SELECT 1", {}, Exception(f"connection to {SECRET} refused"))

    app.dependency_overrides[get_db] = app.dependency_overrides[get_reads] = down
    with caplog.at_level(logging.DEBUG):
        response = await client.get(f"{ADMIN}/recipes", params={"project_id": str(uuid.uuid4())})
    assert response.status_code == 503 and response.json()["field"] == "database"
    assert "hunter2" not in caplog.text and "hunter2" not in response.text


@pytest.mark.postgres_only  # a SQLite database brings its own schema up to date
async def test_health_says_when_the_schema_is_not_ready(backend, database_url, tmp_path):
    name = f"ll_api_empty_{uuid.uuid4().hex[:10]}"
    server = create_engine(
        make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
        app = create_app(
            Settings(
                LEARNING_LOOP_DATABASE_URL=url,
                LEARNING_LOOP_HOME=str(tmp_path),
                LEARNING_LOOP_ADMIN_TOKEN=TOKEN,
            )
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as c:
            health = await c.get("/health")
            assert health.status_code == 503
            assert health.json() == {"status": "unavailable", "database": "schema_not_ready"}
            answer = await c.get(f"{ADMIN}/projects", headers={"Authorization": f"Bearer {TOKEN}"})
            assert answer.status_code == 503 and "db upgrade" in answer.json()["detail"]
        app.state.database.dispose()
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.mark.postgres_only  # SQLite readers never wait for a lock
async def test_a_read_held_up_by_a_lock_gives_up_at_its_time_limit(app, client, db, database_url):
    """Reads run on the event loop: one that waits on the database is cancelled at the limit
    (503) instead of holding the worker, and the next read answers as usual."""
    pid = create_project(db, "locked").id
    app.state.database.read_limit_ms = 300
    locked, done = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        # Held for 8 s at most: without the limit the read would wait it out and answer 200.
        other = create_engine(database_url)
        try:
            with other.connect() as conn:
                conn.execute(text("LOCK TABLE recipes IN ACCESS EXCLUSIVE MODE"))
                locked.set()
                done.wait(8)
                conn.rollback()
        finally:
            other.dispose()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert locked.wait(10)
        response = await client.get(f"{ADMIN}/recipes", params={"project_id": str(pid)})
    finally:
        done.set()
        holder.join()
    assert response.status_code == 503, response.text
    assert response.json()["field"] == "database"
    again = await client.get(f"{ADMIN}/recipes", params={"project_id": str(pid)})
    assert again.status_code == 200 and again.json()["items"] == []


@pytest.mark.postgres_only  # the reads' own pool is PostgreSQL's
async def test_a_read_on_a_connection_the_server_dropped_is_answered_on_a_fresh_one(
    app, client, db, database_url
):
    """The reads' pool lends connections without a ping: when the server has closed them (a
    restart, an idle timeout), the read fails once, the pool throws them away and the read is
    made again, so the caller sees a plain answer."""
    pid = create_project(db, "dropped").id
    params = {"project_id": str(pid)}
    assert (await client.get(f"{ADMIN}/recipes", params=params)).status_code == 200
    admin = create_engine(database_url)
    try:
        with admin.connect() as conn:
            dropped = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = :name"
                ),
                {"name": READS_APPLICATION_NAME},
            ).scalar_one()
    finally:
        admin.dispose()
    assert dropped >= 1  # the pooled read connection was there, and is gone now
    again = await client.get(f"{ADMIN}/recipes", params=params)
    assert again.status_code == 200, again.text
    assert again.json()["items"] == []


@pytest.mark.postgres_only
async def test_the_reads_connections_cannot_write(app, client, db):
    from sqlalchemy.exc import InternalError

    assert (await client.get(f"{ADMIN}/projects")).status_code == 200
    reads = app.state.database.reads_opened
    assert reads is not None and reads.db is not app.state.database.opened
    with (
        pytest.raises(InternalError, match="read-only transaction"),
        reads.db.read() as session,
    ):
        session.execute(text("CREATE TABLE written_by_a_read (id int)"))


async def test_a_client_that_disconnects_is_not_an_internal_error(app, world, caplog):
    """Issue #30, finding 6: a client gone before its body arrived is logged at INFO, not as
    an internal error, and nothing is answered."""
    import logging

    from learning_loop_tests.api.conftest import ADMIN, TOKEN

    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{ADMIN}/metrics",
        "raw_path": f"{ADMIN}/metrics".encode(),
        "query_string": f"project_id={world.pid}".encode(),
        "root_path": "",
        "headers": [
            (b"host", b"t"),
            (b"authorization", f"Bearer {TOKEN}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", b"100"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    with caplog.at_level(logging.INFO):
        await app(scope, receive, send)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("client disconnected" in r.getMessage() for r in caplog.records)
    assert not any(m.get("status") == 500 for m in sent)
