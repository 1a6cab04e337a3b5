"""Plain ASGI middleware that answers from the headers alone, before a body is read.

Order, outermost first: ErrorShield (no 500 ever carries or logs internals), AdminGuard (401
before anything else under the admin prefix), BodyLimit (413).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.utils import ClientDisconnected

from api.deps import READS, DatabaseHolder, authenticate
from api.errors import DATABASE_UNAVAILABLE, UNAVAILABLE_DETAIL

log = logging.getLogger("learning_loop.api")


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode("utf-8")
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode("ascii")),
    ]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


# What a request meets when its client has gone: starlette's while reading the body, uvicorn's
# (an OSError) while sending the answer.
_DISCONNECTED: tuple[type[BaseException], ...] = (ClientDisconnect, ClientDisconnected)


class ErrorShield:
    """Turns an unexpected exception into a bare 500 and logs its type only.

    Starlette's own ServerErrorMiddleware would re-raise it, and the server would then log a
    traceback whose text may quote a connection string or a row of data.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except _DISCONNECTED:
            # The client went away (issue #30): nothing to answer, nothing went wrong here.
            log.info("client disconnected during %s %s", scope["method"], scope["path"])
        except Exception as exc:
            log.error(
                "internal error (%s) on %s %s", type(exc).__name__, scope["method"], scope["path"]
            )
            if not started:
                await send_json(send, 500, {"detail": "internal server error", "field": None})


class AdminGuard:
    """401 for any request under the admin prefix without a valid token, known route or not,
    before FastAPI reads (and would complain about) its body; 403 for a read-only token's
    write. The request's principal (the admin, or one project's token: contract §13) is left
    in `scope["state"]` for the routes."""

    def __init__(self, app: ASGIApp, prefix: str, token: str, holder: DatabaseHolder) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.token = token
        self.holder = holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == self.prefix or path.startswith(self.prefix + "/"):
                header = next(
                    (v for k, v in scope["headers"] if k == b"authorization"), b""
                ).decode("latin-1")
                try:
                    principal, failure = await authenticate(header, self.token, self.holder)
                except DATABASE_UNAVAILABLE as exc:  # a project token's lookup needs it
                    log.warning("database unavailable (%s) on a token's lookup", type(exc).__name__)
                    await send_json(send, 503, {"detail": UNAVAILABLE_DETAIL, "field": "database"})
                    return
                if failure is not None:
                    await send_json(
                        send,
                        401,
                        {"detail": failure.detail, "field": "Authorization"},
                        {"WWW-Authenticate": failure.www_authenticate},
                    )
                    return
                if principal.read_only and scope["method"] not in READS:
                    await send_json(
                        send,
                        403,
                        {"detail": "this token is read-only", "field": "Authorization"},
                    )
                    return
                scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for a body over `max_bytes`: at once from Content-Length, or while reading a body
    sent without one (chunked), which is buffered up to the limit and then replayed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                size = -1
            if size < 0:
                await send_json(
                    send, 400, {"detail": "invalid Content-Length", "field": "Content-Length"}
                )
                return
            if size > self.max_bytes:
                await self._too_large(send)
                return
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; let the app see the disconnect
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await send_json(
            send,
            413,
            {"detail": f"the request body is larger than {self.max_bytes} bytes", "field": "body"},
        )
