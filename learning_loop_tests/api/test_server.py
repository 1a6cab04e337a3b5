"""`shorts-engine api serve`: a real uvicorn on loopback, and its refusal to start unguarded."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
from typer.testing import CliRunner

from learning_loop.cli.api_cmd import app as api_cli
from learning_loop_tests.api.conftest import ADMIN, TOKEN

SERVE = "from learning_loop.cli.api_cmd import app; app()"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`api serve` in a subprocess; stdout and stderr go to files that the test reads after."""

    def __init__(self, tmp_path: Path, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out_path, self.err_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("LEARNING_LOOP_", "DAGSTER"))
        }
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SERVE, "serve", "--port", str(self.port), *args],
                env=base | env | {"PYTHONUNBUFFERED": "1"},
                cwd=ROOT,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.logs()
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not answer /health: {self.logs()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def logs(self) -> tuple[str, str]:
        return self.out_path.read_text(), self.err_path.read_text()


def test_serve_refuses_to_start_without_a_token(tmp_path, monkeypatch):
    monkeypatch.delenv("LEARNING_LOOP_ADMIN_TOKEN", raising=False)
    monkeypatch.setenv("LEARNING_LOOP_HOME", str(tmp_path))
    result = CliRunner().invoke(api_cli, ["serve"])
    assert result.exit_code == 1
    assert result.stderr == "error: set LEARNING_LOOP_ADMIN_TOKEN or start with --dev\n"
    assert result.stdout == ""
    monkeypatch.setenv("LEARNING_LOOP_ADMIN_TOKEN", "   ")
    assert CliRunner().invoke(api_cli, ["serve"]).exit_code == 1


def test_real_server_on_loopback(tmp_path, database_url):
    server = Server(
        tmp_path,
        {
            "LEARNING_LOOP_ADMIN_TOKEN": TOKEN,
            "LEARNING_LOOP_DATABASE_URL": database_url,
            "LEARNING_LOOP_HOME": str(tmp_path / "home"),
        },
    )
    try:
        server.wait_ready()
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=server.url, timeout=10) as c:
            assert c.get("/health").json() == {"status": "ok", "database": "ok"}
            created = c.post(f"{ADMIN}/projects", json={"name": "live"}, headers=auth)
            assert created.status_code == 201, created.text
            pid = created.json()["id"]
            preview = c.get(
                f"{ADMIN}/recommendations", params={"project_id": pid, "n": 3}, headers=auth
            )
            assert preview.status_code == 200 and len(preview.json()["recommendations"]) == 3
            assert c.get(f"{ADMIN}/projects").status_code == 401
            wrong = c.get(f"{ADMIN}/projects", headers={"Authorization": "Bearer guess-" + TOKEN})
            assert wrong.status_code == 401 and "WWW-Authenticate" in wrong.headers
            bad = c.get(
                f"{ADMIN}/recommendations", params={"project_id": pid, "n": 0}, headers=auth
            )
            assert bad.status_code == 422 and bad.json()["field"] == "n"
            big = c.post(
                f"{ADMIN}/projects",
                content=b"x" * (11 << 20),
                headers=auth | {"content-type": "application/json"},
            )
            assert big.status_code == 413
            assert "server" not in {k.lower() for k in created.headers}
    finally:
        server.stop()
    out, err = server.logs()
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert server.proc.returncode in (0, -signal.SIGTERM), (out, err)
    assert "Application shutdown complete" in err
    logs = out + err  # uvicorn: access lines on stdout, the rest on stderr
    assert "Uvicorn running on" in logs and "GET /api/v1/admin/recommendations" in logs
    assert "admin API ready on the" in logs  # our logger shares uvicorn's handler
    for secret in (TOKEN, database_url, "guess-"):
        assert secret not in logs


def test_dev_flag_prints_a_generated_token_once(tmp_path):
    # Two workers: both must know the generated token.
    server = Server(
        tmp_path, {"LEARNING_LOOP_HOME": str(tmp_path / "home")}, "--dev", "--workers", "2"
    )
    try:
        server.wait_ready()
        out, _ = server.logs()
        match = re.search(r"development admin token \(this server only\): (\S+)", out)
        assert match, out
        token = match.group(1)
        assert len(token) >= 40
        with httpx.Client(base_url=server.url, timeout=10) as c:
            for _ in range(10):  # new connections, spread over the workers
                ok = c.get(
                    f"{ADMIN}/projects",
                    headers={"Authorization": f"Bearer {token}", "Connection": "close"},
                )
                assert ok.status_code == 200
            assert c.get(f"{ADMIN}/projects").status_code == 401
    finally:
        server.stop()
    out, err = server.logs()
    assert out.count(token) == 1 and token not in err


def _raw(port: int, data: bytes, wait: float = 5.0) -> bytes:
    """Send `data` and read what the server answers before it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)  # the server may refuse before reading it all
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
    return b"".join(chunks)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_the_request_head_is_bounded_in_size_and_time(tmp_path):
    """Issue #30, finding 4: an oversized head is a 431, too many headers a 431, a head sent
    too slowly (slowloris) a 408; the server's memory stays flat under oversized heads."""
    server = Server(
        tmp_path,
        {
            "LEARNING_LOOP_ADMIN_TOKEN": TOKEN,
            "LEARNING_LOOP_HOME": str(tmp_path / "home"),
            # Long enough for a loaded machine to read a head; short enough to wait for.
            "LEARNING_LOOP_API_HEAD_TIMEOUT_S": "4",
        },
    )
    try:
        server.wait_ready()
        before = _rss_kb(server.proc.pid)
        huge = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (20 << 20) + b"\r\n\r\n"
        for _ in range(4):
            answer = _raw(server.port, huge)
            assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
        many = b"GET /health HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200))
        assert _raw(server.port, many + b"\r\n").startswith(b"HTTP/1.1 431")
        assert _rss_kb(server.proc.pid) - before < 50_000  # under 50 MB after 80 MB sent
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the end
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        # Told by the server's own reason, not timed here (no clock in a test's assertion).
        assert b"the request head took longer than 4 s" in answer
        # A well-formed request is still served.
        assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
    finally:
        server.stop()


def test_a_burst_of_first_requests_on_a_fresh_server_is_served(tmp_path, database_url):
    """Issue #30, finding 6: a 500 (`AttributeError`) once answered `GET /video-jobs` at the
    start of a load run. What races at start-up (the first bounded read opening the reads'
    database and its thread limiter, the first project-token lookups, the ORM's first use in
    several threads at once) is met here by 48 requests sent together to a server that has
    served nothing yet, three fresh starts in a row, with read threads on both databases."""
    from learning_loop.db.engine import Database
    from learning_loop.services.projects import create_project
    from learning_loop.services.tokens import create_token

    db = Database.from_url(database_url)
    try:
        pid = str(create_project(db, "burst").id)
        token = create_token(db, uuid.UUID(pid)).token
    finally:
        db.dispose()
    calls = [
        (f"{ADMIN}/video-jobs", {"project_id": pid}, TOKEN),
        (f"{ADMIN}/video-jobs", {"project_id": pid}, token),
        (f"{ADMIN}/projects", {}, token),
        (f"{ADMIN}/recommendations", {"project_id": pid, "n": 2}, TOKEN),
    ] * 12
    for start in range(3):
        (tmp_path / str(start)).mkdir()
        server = Server(
            tmp_path / str(start),
            {
                "LEARNING_LOOP_ADMIN_TOKEN": TOKEN,
                "LEARNING_LOOP_DATABASE_URL": database_url,
                "LEARNING_LOOP_HOME": str(tmp_path / "home"),
                "LEARNING_LOOP_API_READ_THREADS": "4",
            },
        )
        try:
            server.wait_ready()
            answers = _together(server.url, calls)
        finally:
            server.stop()
        assert [a for a in answers if a[0] != 200] == [], server.logs()[1][-6000:]
        assert "Traceback" not in server.logs()[1]


def _together(url: str, calls: list[tuple[str, dict[str, str], str]]) -> list[tuple[int, str]]:
    """Each call (path, query, bearer token) sent from its own thread, all at once."""
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(len(calls))

    def call(path: str, params: dict[str, str], bearer: str) -> tuple[int, str]:
        with httpx.Client(base_url=url, timeout=30) as c:
            barrier.wait()
            answer = c.get(path, params=params, headers={"Authorization": f"Bearer {bearer}"})
            return answer.status_code, answer.text[:300]

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda a: call(*a), calls))
