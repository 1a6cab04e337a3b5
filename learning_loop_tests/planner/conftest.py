"""A local stand-in for an OpenAI-compatible chat-completions server, scripted per test."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

# Kept out of every raised message; the fake server echoes it back to prove redaction works.
API_KEY = "sk-test-9f8e7d6c5b4a-secret"


@dataclass
class FakeLLM:
    """Answers each POST with the next scripted action; the last action repeats.

    Actions: ("content", text) answers 200 with that message content; ("status", code, body)
    answers that status; ("hang",) never answers (until the test ends).
    """

    url: str = ""
    script: list[tuple[Any, ...]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_action(self) -> tuple[Any, ...]:
        with self.lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        fake = self.server.fake
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        with fake.lock:
            fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        action = fake.next_action()
        if action[0] == "hang":
            fake.release.wait(10)
            return
        if action[0] == "status":
            self._send(action[1], action[2] if len(action) > 2 else {"error": "boom"})
            return
        message = {"role": "assistant", "content": action[1]}
        self._send(200, {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeLLM


@pytest.fixture
def llm_server() -> Iterator[FakeLLM]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeLLM(url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy from the machine's environment must not sit between the tests and 127.0.0.1.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
