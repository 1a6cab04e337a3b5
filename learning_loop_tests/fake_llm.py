"""A local stand-in for an OpenAI-compatible chat-completions server, scripted per test.

Used by the planner's tests, the `video_plans` tests and `bench.video_plans`. It counts the
requests it is serving at once (`max_in_flight`), measured here, on the server's side.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from learning_loop.domain.recipe import Recipe
from learning_loop.planner.template import build_template_plan


@dataclass
class FakeLLM:
    """Answers each POST with the next scripted action; the last action repeats.

    Actions: ("content", text) answers 200 with that message content; ("status", code, body,
    headers) answers that status (body and headers optional); ("hang",) never answers (until
    the test ends); ("plan",) answers a valid plan for the recipe and idea the request asks
    about; ("invalid",) a plan with no scenes. `delay_s` holds every answer that long first.
    """

    url: str = ""
    script: list[tuple[Any, ...]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay_s: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0

    def next_action(self) -> tuple[Any, ...]:
        with self.lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


_RECIPE = re.compile(
    r"^Recipe: preset (?P<preset>\S+), hook (?P<hook>\S+), (?P<scenes>\d+) scenes, "
    r"(?P<wpm>\S+) narration pace, (?P<density>\S+) caption density, (?P<ending>\S+) ending\.$",
    re.M,
)
_IDEA = re.compile(r"^Idea: (?P<idea>.*)$", re.M)
_TARGET = re.compile(r"The durations add up to (?P<target>[0-9.]+) s")


def valid_plan_content(body: dict[str, Any]) -> str:
    """The answer a good model gives: a plan that follows the asked recipe (the template's)."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    r = _RECIPE.search(user)
    idea = _IDEA.search(user)
    target = _TARGET.search(user)
    assert r and idea and target, "the request does not ask for a plan"
    recipe = Recipe(r["preset"], r["hook"], int(r["scenes"]), r["wpm"], r["density"], r["ending"])
    plan = build_template_plan(idea["idea"], recipe, float(target["target"]))
    return json.dumps({"scenes": [s.model_dump(mode="json") for s in plan.scenes]})


def requested_idea(request: dict[str, Any]) -> str:
    """The idea a recorded request asked a plan for."""
    user = next(m["content"] for m in request["body"]["messages"] if m["role"] == "user")
    found = _IDEA.search(user)
    assert found is not None
    return found["idea"]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        fake = self.server.fake
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        with fake.lock:
            fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            self._answer(fake, body)
        finally:
            with fake.lock:
                fake.in_flight -= 1

    def _answer(self, fake: FakeLLM, body: dict[str, Any]) -> None:
        action = fake.next_action()
        if fake.delay_s:
            time.sleep(fake.delay_s)
        if action[0] == "hang":
            fake.release.wait(10)
            return
        if action[0] == "status":
            body_sent = action[2] if len(action) > 2 else {"error": "boom"}
            self._send(action[1], body_sent, action[3] if len(action) > 3 else {})
            return
        if action[0] == "plan":
            content = valid_plan_content(body)
        elif action[0] == "invalid":
            content = json.dumps({"scenes": []})
        else:
            content = action[1]
        message = {"role": "assistant", "content": content}
        self._send(200, {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many plans at once must not be refused at connect
    fake: FakeLLM


@contextmanager
def fake_llm_server() -> Iterator[FakeLLM]:
    """A fake server on a free local port, for the block's duration."""
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


def closed_port_url() -> str:
    """The URL of a local port nothing listens on: an endpoint that is down."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@contextmanager
def fake_llm_settings(monkeypatch: Any, **settings: str) -> Iterator[FakeLLM]:
    """A fake server answering valid plans, with the LEARNING_LOOP_LLM_* settings pointing at
    it, no backoff and no proxy; `settings` add or override variables, named without their
    `LEARNING_LOOP_` prefix (e.g. `LLM_MAX_RETRIES="0"`)."""
    for var in PROXY_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    with fake_llm_server() as fake:
        fake.script = [("plan",)]
        wanted = {"LLM_BASE_URL": fake.url, "LLM_MODEL": "fake-model", "LLM_BACKOFF_S": "0"}
        for name, value in (wanted | settings).items():
            monkeypatch.setenv(f"LEARNING_LOOP_{name}", value)
        yield fake
