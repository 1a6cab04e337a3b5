"""Database faults during a write answer 503 with the JSON error, never a 500, and leave
nothing half-written (issue #30, finding 6): the API's connection is killed with
`pg_terminate_backend` while it COPYs an import into its staging table."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from api.app import create_app
from learning_loop.db.models import VideoJob
from learning_loop.settings import Settings
from learning_loop_tests.api.conftest import ADMIN, TOKEN, FakeRuns
from learning_loop_tests.factories import video_row

pytestmark = pytest.mark.anyio


def _killer(url: str, stop: threading.Event, killed: list[int]) -> None:
    """Terminate every backend of the database that is running a COPY, until stopped."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        while not stop.is_set():
            pids = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND state = 'active' AND query ILIKE 'COPY%'"
                )
            ).all()
            killed.extend(pid for ok, pid in pids if ok)
            time.sleep(0.002)
    engine.dispose()


async def test_a_connection_killed_mid_copy_is_a_503_and_writes_nothing(fresh_pg_url, tmp_path):
    from learning_loop.db.engine import Database

    db = Database.from_url(fresh_pg_url)
    settings = Settings(
        LEARNING_LOOP_DATABASE_URL=fresh_pg_url,
        LEARNING_LOOP_HOME=str(tmp_path / "home"),
        LEARNING_LOOP_ADMIN_TOKEN=TOKEN,
    )
    app = create_app(settings, runs=FakeRuns(db, settings))
    rows = [
        video_row(i, external_id=f"k{i}", published_at="2026-10-01T12:00:00Z")
        for i in range(30_000)
    ]
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=headers, timeout=60
        ) as client:
            pid = (await client.post(f"{ADMIN}/projects", json={"name": "faults"})).json()["id"]
            statuses = []
            for _ in range(5):
                stop, killed = threading.Event(), []
                killer = threading.Thread(target=_killer, args=(fresh_pg_url, stop, killed))
                killer.start()
                try:
                    answer = await client.post(
                        f"{ADMIN}/videos/import", params={"project_id": pid}, json={"videos": rows}
                    )
                finally:
                    stop.set()
                    killer.join()
                statuses.append(answer.status_code)
                assert answer.status_code in (200, 503), answer.text[:300]
                if answer.status_code == 503:
                    assert answer.json()["field"] == "database"
                    break
            assert 503 in statuses, f"no COPY was killed in {len(statuses)} tries"
            with db.read() as session:
                assert session.scalar(select(func.count()).select_from(VideoJob)) == 0
            # The next request is served: the lost connection was not handed out again.
            again = await client.post(
                f"{ADMIN}/videos/import", params={"project_id": pid}, json={"videos": rows[:10]}
            )
            assert again.status_code == 200, again.text[:300]
    finally:
        app.state.database.dispose()
        db.dispose()


def test_a_cli_import_whose_connection_is_killed_is_one_line(
    fresh_pg_url, tmp_path, monkeypatch, capsys
):
    """The same fault under `learn import-videos`: one `error:` line, a non-zero exit,
    nothing written; the same command then succeeds."""
    import json

    from learning_loop.cli import common, main
    from learning_loop.db.engine import Database

    monkeypatch.setenv("LEARNING_LOOP_DATABASE_URL", fresh_pg_url)
    monkeypatch.setenv("LEARNING_LOOP_HOME", str(tmp_path / "home"))
    common.reset()
    path = tmp_path / "videos.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(video_row(i, external_id=f"c{i}", published_at="2026-10-01T12:00:00Z"))
            for i in range(120_000)
        )
        + "\n"
    )
    try:
        assert main(["projects", "create", "--name", "cli-faults"]) == 0
        pid = capsys.readouterr().out.strip()
        stop, killed = threading.Event(), []
        killer = threading.Thread(target=_killer, args=(fresh_pg_url, stop, killed))
        killer.start()
        try:
            code = main(["learn", "import-videos", "--project", pid, "--file", str(path)])
        finally:
            stop.set()
            killer.join()
        err = capsys.readouterr().err
        assert killed, "no COPY was killed"
        assert code != 0 and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: database")
        db = Database.from_url(fresh_pg_url)
        with db.read() as session:
            assert session.scalar(select(func.count()).select_from(VideoJob)) == 0
        db.dispose()
        common.reset()
        assert main(["learn", "import-videos", "--project", pid, "--file", str(path)]) == 0
    finally:
        common.reset()


async def test_a_database_that_refuses_connections_is_a_503_everywhere(tmp_path):
    """Nothing listens at the database's address: every admin route answers 503 with the
    JSON error (reads, writes, and a project token's lookup), /health says so, never a 500."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg2://loop:pw-not-shown@127.0.0.1:{port}/loop"
    settings = Settings(
        LEARNING_LOOP_DATABASE_URL=url,
        LEARNING_LOOP_HOME=str(tmp_path / "home"),
        LEARNING_LOOP_ADMIN_TOKEN=TOKEN,
    )
    app = create_app(settings, runs=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as client:
        health = await client.get("/health")
        assert health.status_code == 503 and health.json()["database"] == "unreachable"
        admin = {"Authorization": f"Bearer {TOKEN}"}
        project = {"Authorization": "Bearer llp_" + "a" * 43}
        for method, path, headers, body in (
            ("GET", "/projects", admin, None),
            ("POST", "/projects", admin, {"name": "x"}),
            ("GET", "/projects", project, None),
        ):
            answer = await client.request(method, f"{ADMIN}{path}", headers=headers, json=body)
            assert answer.status_code == 503, (method, path, answer.text[:200])
            assert answer.json()["field"] == "database"
            assert "pw-not-shown" not in answer.text
    app.state.database.dispose()
