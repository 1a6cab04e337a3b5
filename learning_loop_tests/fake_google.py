"""A local stand-in for the Google services the YouTube metrics collector talks to.

It speaks the part of Google's wire formats the collector uses: the OAuth token endpoint
(refreshing an access token), the YouTube Data API's `channels.list` (`mine=true`) and
`videos.list` (`part=statistics`), and the YouTube Analytics API's `reports.query` with the
`video` dimension. Answers, errors included, have Google's shapes: counts of the Data API are
strings, Analytics values are numbers, videos that are deleted or private are left out of the
items, a report with no rows has no "rows" key.

Each endpoint can be scripted per test (`faults`): quota errors, other error statuses, a 401,
a slow answer or a dropped connection. Every request is recorded (`requests`), and the requests
served at once are counted on the server's side (`max_in_flight`).
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SCOPES = (
    "https://www.googleapis.com/auth/youtube.readonly "
    "https://www.googleapis.com/auth/yt-analytics.readonly"
)
ENDPOINTS = {
    "/token": ("token", "POST"),
    "/youtube/v3/channels": ("channels", "GET"),
    "/youtube/v3/videos": ("videos", "GET"),
    "/youtubeanalytics/v2/reports": ("reports", "GET"),
}
ANALYTICS_METRICS = ("views", "averageViewDuration", "likes", "comments")
MAX_VIDEO_IDS = 50

_QUOTA_MESSAGE = (
    'The request cannot be completed because you have exceeded your <a href="/youtube/v3/'
    'getting-started#quota">quota</a>.'
)
_AUTH_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential."
)
# Google's status names and the usual message and reason for an error status.
_STATUS: dict[int, tuple[str, str, str]] = {
    400: ("INVALID_ARGUMENT", "Bad Request", "badRequest"),
    401: ("UNAUTHENTICATED", _AUTH_MESSAGE, "authError"),
    403: ("PERMISSION_DENIED", "The caller does not have permission", "forbidden"),
    404: ("NOT_FOUND", "Requested entity was not found.", "notFound"),
    409: ("ABORTED", "The operation was aborted.", "aborted"),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted.", "rateLimitExceeded"),
    500: ("INTERNAL", "Internal error encountered.", "backendError"),
    501: ("UNIMPLEMENTED", "Operation is not implemented.", "notImplemented"),
    502: ("UNAVAILABLE", "The service is currently unavailable.", "backendError"),
    503: ("UNAVAILABLE", "The service is currently unavailable.", "backendError"),
    504: ("DEADLINE_EXCEEDED", "The request timed out.", "backendError"),
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class FakeVideo:
    """A video as Google knows it. `average_view_duration` None: Analytics has no row for it yet.
    `available` False: deleted or private, left out of `videos.list` items and of reports."""

    views: int = 0
    likes: int = 0
    comments: int = 0
    average_view_duration: int | None = None
    available: bool = True


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it. `query` holds one value per name (the last one),
    `headers` are keyed by lower-cased name, `form` holds the token endpoint's fields."""

    endpoint: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]
    body: bytes


def google_error(
    code: int,
    message: str,
    reason: str,
    domain: str = "global",
    status: str | None = None,
    **where: str,
) -> dict[str, Any]:
    """A JSON error body in Google's shape; `where` adds `location` and `locationType`."""
    detail = {"message": message, "domain": domain, "reason": reason, **where}
    error: dict[str, Any] = {"code": code, "message": message, "errors": [detail]}
    if status is not None:
        error["status"] = status
    return {"error": error}


def quota_error() -> dict[str, Any]:
    """The 403 body Google answers when the project's daily quota is spent."""
    return google_error(403, _QUOTA_MESSAGE, "quotaExceeded", domain="youtube.quota")


def auth_error() -> dict[str, Any]:
    """The 401 body Google answers for a missing, unknown or expired access token."""
    return google_error(
        401,
        _AUTH_MESSAGE,
        "authError",
        status="UNAUTHENTICATED",
        location="Authorization",
        locationType="header",
    )


def status_error(code: int) -> dict[str, Any]:
    """A Google-style error body for an arbitrary status."""
    if code == 401:
        return auth_error()
    name, message, reason = _STATUS.get(code, ("UNKNOWN", "Unknown error.", "unknown"))
    return google_error(code, message, reason, status=name)


def _bad_request(message: str, reason: str = "badRequest", **extra: Any) -> dict[str, Any]:
    return google_error(400, message, reason, status="INVALID_ARGUMENT", **extra)


@dataclass
class FakeGoogle:
    """Google's token endpoint, YouTube Data API and YouTube Analytics API, scripted per test.

    `faults` maps an endpoint name ("token", "channels", "videos", "reports") to actions
    consumed one per request to it, first in first out; once its list is empty the endpoint
    answers normally. Actions: ("quota",) answers 403 quotaExceeded; ("status", code) answers
    that status with a Google-style error body (("status", code, body) with that body);
    ("unauthorized",) answers 401 as for a bad access token; ("hang", seconds) waits that long
    and then answers normally; ("drop",) closes the connection without answering.
    `delay_s` holds every answer that long first.
    """

    url: str = ""
    client_id: str = "client-1.apps.googleusercontent.com"
    client_secret: str = "client-secret-1"
    refresh_token: str = "refresh-token-1"
    api_key: str | None = None
    revoked: bool = False
    token_lifetime_s: int = 3600
    channel_id: str = "UC_fake_channel"
    channel_title: str = "Fake channel"
    videos: dict[str, FakeVideo] = field(default_factory=dict)
    delay_s: float = 0.0
    faults: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> monotonic expiry
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def data_url(self) -> str:
        return f"{self.url}/youtube/v3"

    @property
    def analytics_url(self) -> str:
        return f"{self.url}/youtubeanalytics/v2"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    def calls(self, endpoint: str) -> list[Recorded]:
        """The requests made to one endpoint, in order."""
        with self.lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    def env(self) -> dict[str, str]:
        """The settings that point the collector at this fake."""
        return {
            "LEARNING_LOOP_YOUTUBE_DATA_URL": self.data_url,
            "LEARNING_LOOP_YOUTUBE_ANALYTICS_URL": self.analytics_url,
            "LEARNING_LOOP_GOOGLE_TOKEN_URL": self.token_url,
        }

    def credential(self) -> dict[str, str]:
        """The authorized-user credential Google's tools write for this client and grant."""
        return {
            "type": "authorized_user",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }

    def expire_tokens(self) -> None:
        """Every access token issued so far stops being valid, as if it had expired."""
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = float("-inf")

    def issue_token(self) -> str:
        """A new access token, valid for `token_lifetime_s`."""
        token = f"ya29.{secrets.token_urlsafe(48)}"
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_lifetime_s
        return token

    def token_valid(self, token: str) -> bool:
        with self.lock:
            expiry = self.tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

    def next_fault(self, endpoint: str) -> tuple[Any, ...] | None:
        with self.lock:
            script = self.faults.get(endpoint)
            return script.pop(0) if script else None

    def wait(self, seconds: float) -> None:
        """Sleeps, cut short when the server stops."""
        self.stopping.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def do_PUT(self) -> None:  # noqa: N802
        self._serve()

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        fake = self.server.fake
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or "0"))
        headers = {name.lower(): value for name, value in self.headers.items()}
        form: dict[str, str] = {}
        if split.path == "/token":
            form = self._fields(body, headers.get("content-type", ""))
        endpoint, method = ENDPOINTS.get(split.path, ("unknown", self.command))
        record = Recorded(endpoint, self.command, split.path, query, headers, form, body)
        with fake.lock:
            fake.requests.append(record)
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            if fake.delay_s:
                fake.wait(fake.delay_s)
            if endpoint == "unknown":
                self._send(404, status_error(404))
            elif method != self.command:
                self._send(405, google_error(405, "Method not allowed.", "methodNotAllowed"))
            else:
                self._answer(fake, record)
        finally:
            with fake.lock:
                fake.in_flight -= 1

    @staticmethod
    def _fields(body: bytes, content_type: str) -> dict[str, str]:
        text = body.decode("utf-8", "replace")
        if content_type.startswith("application/json"):  # Google accepts JSON there too
            try:
                data = json.loads(text)
            except ValueError:
                return {}
            return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return dict(parse_qsl(text, keep_blank_values=True))

    def _answer(self, fake: FakeGoogle, record: Recorded) -> None:
        fault = fake.next_fault(record.endpoint)
        if fault is not None:
            kind = fault[0]
            if kind == "quota":
                self._send(403, quota_error())
                return
            if kind == "status":
                self._send(fault[1], fault[2] if len(fault) > 2 else status_error(fault[1]))
                return
            if kind == "unauthorized":
                self._send(401, auth_error())
                return
            if kind == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if kind == "hang":
                fake.wait(float(fault[1]))
            else:
                raise ValueError(f"unknown fault action {fault!r}")
        status, payload = {
            "token": self._token,
            "channels": self._channels,
            "videos": self._videos,
            "reports": self._reports,
        }[record.endpoint](fake, record)
        self._send(status, payload)

    @staticmethod
    def _token(fake: FakeGoogle, record: Recorded) -> tuple[int, dict[str, Any]]:
        form = record.form
        if form.get("client_id") != fake.client_id or form.get("client_secret") != (
            fake.client_secret
        ):
            return 401, {
                "error": "invalid_client",
                "error_description": "The OAuth client was not found.",
            }
        grant_type = form.get("grant_type")
        if grant_type is None:
            return 400, {
                "error": "invalid_request",
                "error_description": "Missing required parameter: grant_type",
            }
        if grant_type != "refresh_token":
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": f"Invalid grant_type: {grant_type}",
            }
        if "refresh_token" not in form:
            return 400, {
                "error": "invalid_request",
                "error_description": "Missing required parameter: refresh_token",
            }
        if form["refresh_token"] != fake.refresh_token or fake.revoked:
            return 400, {
                "error": "invalid_grant",
                "error_description": "Token has been expired or revoked.",
            }
        return 200, {
            "access_token": fake.issue_token(),
            "expires_in": fake.token_lifetime_s,
            "scope": SCOPES,
            "token_type": "Bearer",
        }

    @staticmethod
    def _bearer(fake: FakeGoogle, record: Recorded) -> bool:
        scheme, _, token = record.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and fake.token_valid(token.strip())

    @staticmethod
    def _parts(record: Recorded) -> tuple[set[str] | None, dict[str, Any] | None]:
        if not record.query.get("part"):
            message = "Required parameter: part"
            return None, google_error(
                400, message, "required", location="part", locationType="parameter"
            )
        return {p.strip() for p in record.query["part"].split(",")}, None

    def _channels(self, fake: FakeGoogle, record: Recorded) -> tuple[int, dict[str, Any]]:
        if not self._bearer(fake, record):
            return 401, auth_error()
        parts, error = self._parts(record)
        if error is not None or parts is None:
            return 400, error or {}
        if record.query.get("mine") != "true":
            message = "No filter selected. Expected one of: mine (the fake knows no other)."
            return 400, google_error(
                400,
                message,
                "missingRequiredParameter",
                domain="youtube.parameter",
                location="parameters.",
                locationType="other",
            )
        item: dict[str, Any] = {"kind": "youtube#channel", "etag": "x", "id": fake.channel_id}
        if "snippet" in parts:
            item["snippet"] = {"title": fake.channel_title}
        return 200, {
            "kind": "youtube#channelListResponse",
            "etag": "x",
            "pageInfo": {"totalResults": 1, "resultsPerPage": 5},
            "items": [item],
        }

    def _videos(self, fake: FakeGoogle, record: Recorded) -> tuple[int, dict[str, Any]]:
        query = record.query
        if "authorization" in record.headers:
            if not self._bearer(fake, record):
                return 401, auth_error()
        else:
            key = record.headers.get("x-goog-api-key", query.get("key"))
            if key is None:
                message = "The request is missing a valid API key."
                return 403, google_error(403, message, "forbidden", status="PERMISSION_DENIED")
            if fake.api_key is None or key != fake.api_key:
                return 400, _bad_request("API key not valid. Please pass a valid API key.")
        parts, error = self._parts(record)
        if error is not None or parts is None:
            return 400, error or {}
        if "statistics" not in parts:
            return 400, _bad_request("The fake answers part=statistics only.")
        if "id" not in query:
            message = "No filter selected. Expected one of: id."
            return 400, google_error(
                400, message, "missingRequiredParameter", domain="youtube.parameter"
            )
        ids = [i.strip() for i in query["id"].split(",") if i.strip()]
        if len(ids) > MAX_VIDEO_IDS:
            message = "The request specifies an invalid filter parameter."
            return 400, google_error(400, message, "invalidFilters", domain="youtube.parameter")
        with fake.lock:
            known = [(i, fake.videos.get(i)) for i in ids]
        items = [
            {
                "kind": "youtube#video",
                "etag": "x",
                "id": video_id,
                "statistics": {
                    "viewCount": str(video.views),
                    "likeCount": str(video.likes),
                    "favoriteCount": "0",
                    "commentCount": str(video.comments),
                },
            }
            for video_id, video in known
            if video is not None and video.available
        ]
        return 200, {
            "kind": "youtube#videoListResponse",
            "etag": "x",
            "items": items,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
        }

    def _reports(self, fake: FakeGoogle, record: Recorded) -> tuple[int, dict[str, Any]]:
        if not self._bearer(fake, record):
            return 401, auth_error()
        query = record.query
        problem = _report_problem(query)
        if problem is not None:
            return 400, _bad_request(problem)
        metrics = query["metrics"].split(",")
        ids = [i.strip() for i in query["filters"].removeprefix("video==").split(",")]
        headers: list[dict[str, str]] = [
            {"name": "video", "columnType": "DIMENSION", "dataType": "STRING"}
        ]
        headers += [{"name": m, "columnType": "METRIC", "dataType": "INTEGER"} for m in metrics]
        rows: list[list[Any]] = []
        with fake.lock:
            for video_id in ids:
                video = fake.videos.get(video_id)
                if video is None or not video.available or video.average_view_duration is None:
                    continue
                values = {
                    "views": video.views,
                    "averageViewDuration": video.average_view_duration,
                    "likes": video.likes,
                    "comments": video.comments,
                }
                rows.append([video_id, *(values[m] for m in metrics)])
        table: dict[str, Any] = {"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers}
        if rows:
            table["rows"] = rows
        return 200, table

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _report_problem(query: dict[str, str]) -> str | None:
    """Why Analytics would refuse this report query, or None."""
    if query.get("ids") != "channel==MINE":
        return f"Unknown identifier ({query.get('ids', '')}) given in field parameters.ids."
    for name in ("startDate", "endDate"):
        value = query.get(name)
        if value is None:
            return f"Required value for parameter {name} is missing."
        if not _DATE.match(value):
            return f"Invalid value '{value}'. Values must match the pattern YYYY-MM-DD."
        try:
            date.fromisoformat(value)
        except ValueError:
            return f"Invalid value '{value}'. Values must be a valid date."
    if query["startDate"] > query["endDate"]:
        return "The query's end date must not be earlier than its start date."
    metrics = query.get("metrics", "")
    if not metrics:
        return "Required value for parameter metrics is missing."
    for metric in metrics.split(","):
        if metric not in ANALYTICS_METRICS:
            return f"Unknown identifier ({metric}) given in field parameters.metrics."
    if query.get("dimensions") != "video":
        return "The query is not supported. The fake answers dimensions=video only."
    filters = query.get("filters", "")
    if not filters.startswith("video==") or ";" in filters:
        return "The query is not supported. The fake answers filters=video==ID,... only."
    if not any(i.strip() for i in filters.removeprefix("video==").split(",")):
        return "Invalid value for filters: no video given."
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler that is still waiting must not hold the shutdown
    request_queue_size = 128
    fake: FakeGoogle

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (its timeout fired) is no error of the fake's; others are."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serve_fake_google(**settings: Any) -> Iterator[FakeGoogle]:
    """A fake Google on a free local port, for the block's duration; `settings` are
    `FakeGoogle` fields (e.g. `videos`, `api_key`, `faults`)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeGoogle(**settings)
    server.fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.fake.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
