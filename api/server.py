"""The API's HTTP protocol: uvicorn's (httptools), with the request head bounded (issue #30).

uvicorn caps neither the size of a request's head nor the time a client may take to send it:
a client could send headers without end, or a byte a minute (slowloris), holding memory and a
connection. This protocol answers, and closes the connection:

- `431` when the request line and headers pass `MAX_HEAD_BYTES`, or their count `MAX_HEADERS`;
- `408` when the head is not complete `head_timeout_s` after the connection opened, or after
  the previous response on a kept-alive connection (`LEARNING_LOOP_API_HEAD_TIMEOUT_S`).

Bodies are bounded by the app (`api.middleware`); idle kept-alive connections by uvicorn's
`timeout_keep_alive`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
HEAD_TIMEOUT_S = 10.0

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request that is refused."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    head_timeout_s = HEAD_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._head_count = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refusal: tuple[int, str] | None = None

    # -- the head's clock ----------------------------------------------------------------------

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timeout)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self._refuse(408, f"the request head took longer than {self.head_timeout_s:g} s")

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request's head, on a kept-alive connection

    # -- the head's size -----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._head_count = 0
        self._arm()

    def _count(self, size: int, header: bool = False) -> None:
        self._head_bytes += size
        self._head_count += header
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refusal = (431, f"the request head is larger than {MAX_HEAD_BYTES} bytes")
            raise _Refused
        if self._head_count > MAX_HEADERS:
            self._refusal = (431, f"the request has more than {MAX_HEADERS} headers")
            raise _Refused

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value), header=True)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return
        with contextlib.suppress(_Refused):  # httptools wraps it; kept for other parsers
            super().data_received(data)
        if self._refusal is not None and not self.transport.is_closing():
            self._refuse(*self._refusal)

    def send_400_response(self, msg: str) -> None:
        # A callback's refusal reaches uvicorn as a parser error: answer the refusal instead.
        if self._refusal is not None:
            self._refuse(*self._refusal)
            return
        super().send_400_response(msg)

    def _refuse(self, status: int, message: str) -> None:
        self._disarm()
        body = ('{"detail": "' + message + '", "field": "headers"}').encode()
        head = [
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status]),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
