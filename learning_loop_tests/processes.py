"""Real processes for end-to-end tests: the CLI, `dagster dev`, the daemon, a Celery worker,
Redis, the API server; each started in its own session and stopped with everything it spawned."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def default_signals() -> None:
    # A background child inherits SIGINT as ignored; Dagster maps SIGTERM onto SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a new user: no Learning Loop or Dagster variable, the venv on PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LEARNING_LOOP_", "DAGSTER_")) and k != "PYTEST_CURRENT_TEST"
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def session_members(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    pids.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                pass
    return pids


@dataclass
class Background:
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self, tail: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]

    def alive(self) -> bool:
        return self.proc.poll() is None


@contextmanager
def background(
    args: Sequence[str | Path], *, env: dict[str, str], cwd: Path, log: Path
) -> Iterator[Background]:
    """Start `args` in a new session; on exit stop the whole session (SIGTERM, then SIGKILL)."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(a) for a in args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=default_signals,
        )
        try:
            yield Background(proc, log)
        finally:
            stop_session(proc)


def stop_session(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    sid = proc.pid
    if proc.poll() is None:
        os.killpg(sid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(sid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 10
    while session_members(sid) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in session_members(sid):  # a straggler that ignored SIGTERM
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(every)


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
        return True
    except OSError:
        return False


def shorts_engine(
    *args: str | Path, env: dict[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """One real `shorts-engine` invocation."""
    return subprocess.run(
        [str(BIN / "shorts-engine"), *[str(a) for a in args]],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def graphql(port: int, query: str) -> dict:
    """One query to the Dagster UI's GraphQL endpoint; fails on a GraphQL error."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return dict(body["data"])
