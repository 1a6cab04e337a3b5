"""What the routes depend on: the settings, the database, and the admin bearer token."""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from learning_loop.db.engine import Database, read_time_limit
from learning_loop.services.context import open_database
from learning_loop.services.runs import RunLauncher
from learning_loop.settings import Settings

ADMIN_PREFIX = "/api/v1/admin"
REALM = "learning-loop-admin"
MAX_LIMIT = 1000
MAX_OFFSET = 10**9
READ_LIMIT_MS = 2000  # a bounded read takes milliseconds
T = TypeVar("T")
P = ParamSpec("P")


class DatabaseHolder:
    """Opens the product database on first use, so the server can start (and `/health` can say
    so) while the database is down; a failed open is retried by the next request."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._db: Database | None = None
        self._lock = threading.Lock()

    @property
    def opened(self) -> Database | None:
        return self._db

    def get(self) -> Database:
        db = self._db
        if db is None:
            with self._lock:
                if self._db is None:
                    self._db = open_database(self._settings)
                db = self._db
        return db

    def dispose(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.dispose()
                self._db = None


class Reads:
    """Where the bounded reads (a page, a preview, a project's settings) run: on the event
    loop itself, one after the other, each cancelled past `limit_ms` on PostgreSQL.

    A bounded read is about a millisecond of Python and a few index probes. Handed to a worker
    thread, it cost twice the CPU (the interpreter lock passed back and forth between the loop
    and the thread) and, in FastAPI's pool of 40 threads, a burst of reads contended for that
    lock and gave a long latency tail (docs/decisions.md, "Admin reads"). Writes, imports and
    runs stay in the thread pool: they may take seconds.
    """

    def __init__(self, limit_ms: int = READ_LIMIT_MS) -> None:
        self.limit_ms = limit_ms

    async def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        with read_time_limit(self.limit_ms):
            return fn(*args, **kwargs)


# The dependencies are coroutines: FastAPI would run a plain function in its thread pool, a
# thread hop per dependency per request, for work that never waits.


async def get_reads(request: Request) -> Reads:
    reads: Reads = request.app.state.reads
    return reads


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> Database:
    holder: DatabaseHolder = request.app.state.database
    db = holder.opened
    if db is None:
        # Opened once; opening it (at startup, or again after it was down) may wait on the
        # network, so not on the event loop.
        db = await run_in_threadpool(holder.get)
    return db


async def get_runs(request: Request) -> RunLauncher:
    """The deployment's Dagster runs (its instance is opened on first use)."""
    runs: RunLauncher = request.app.state.runs
    return runs


SettingsDep = Annotated[Settings, Depends(get_settings)]
ReadsDep = Annotated[Reads, Depends(get_reads)]
RunsDep = Annotated[RunLauncher, Depends(get_runs)]
# The template's `SessionDep`: here the services open their own unit of work from a Database.
DatabaseDep = Annotated[Database, Depends(get_db)]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True)
class AuthFailure:
    detail: str
    www_authenticate: str


def check_bearer(authorization: str | None, expected: str) -> AuthFailure | None:
    """None when the header carries the admin token; otherwise why not (RFC 6750 wording)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return AuthFailure(
            "missing bearer token: send `Authorization: Bearer <LEARNING_LOOP_ADMIN_TOKEN>`",
            f'Bearer realm="{REALM}"',
        )
    # Constant time: compare_digest on equal-length digests, so not even the token's length
    # shows (it also refuses non-ASCII str, and a header may carry any latin-1 character).
    if not secrets.compare_digest(_digest(token), _digest(expected)):
        return AuthFailure("invalid bearer token", f'Bearer realm="{REALM}", error="invalid_token"')
    return None


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminToken",
    description="`Authorization: Bearer <LEARNING_LOOP_ADMIN_TOKEN>`",
)


async def require_admin(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Every admin route's guard; `_credentials` only puts the scheme into the OpenAPI schema.

    The app's AdminGuard middleware has already answered 401 before the body was read; this
    check stands on its own so a route stays closed wherever its router is mounted.
    """
    failure = check_bearer(request.headers.get("authorization"), request.app.state.admin_token)
    if failure is not None:
        raise HTTPException(
            status_code=401,
            detail=failure.detail,
            headers={"WWW-Authenticate": failure.www_authenticate},
        )


AdminDep = Depends(require_admin)


ProjectIdQuery = Annotated[uuid.UUID, Query(description="The project's id (UUID)")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip")]
