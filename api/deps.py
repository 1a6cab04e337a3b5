"""What the routes depend on: the settings, the database, and the admin bearer token."""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Concatenate, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from learning_loop.db.engine import Database, make_engine
from learning_loop.services.context import open_database
from learning_loop.services.runs import RunLauncher
from learning_loop.services.tokens import ADMIN, TOKEN_PREFIX, Principal, principal_of
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
    so) while the database is down; a failed open is retried by the next request.

    It holds two: the database every route may use, and the one of the bounded reads
    (`reads`), whose PostgreSQL statements are cancelled past `read_limit_ms`: a read holds the
    event loop or one of few threads (`Reads`), so one held up by the database must give up
    soon.
    """

    def __init__(self, settings: Settings, read_limit_ms: int = READ_LIMIT_MS) -> None:
        self._settings = settings
        self.read_limit_ms = read_limit_ms
        self._db: Database | None = None
        self._reads: Reads | None = None
        self._lock = threading.Lock()

    @property
    def opened(self) -> Database | None:
        return self._db

    @property
    def reads_opened(self) -> Reads | None:
        return self._reads

    def get(self) -> Database:
        db = self._db
        if db is None:
            with self._lock:
                if self._db is None:
                    self._db = open_database(self._settings)
                db = self._db
        return db

    def reads(self) -> Reads:
        reads = self._reads
        if reads is None:
            db = self.get()  # the schema is checked once, there
            url = db.engine.url.render_as_string(hide_password=False)
            threads = self._settings.api_read_threads
            with self._lock:
                if self._reads is None:
                    if db.dialect == "postgresql":
                        limited = Database(
                            make_engine(url, time_limit_ms=self.read_limit_ms, reads_only=True)
                        )
                        self._reads = Reads(limited, 2 if threads is None else threads)
                    else:  # SQLite readers never wait for a lock
                        self._reads = Reads(db, 0 if threads is None else threads)
                reads = self._reads
        return reads

    def dispose(self) -> None:
        with self._lock:
            if self._reads is not None and self._reads.db is not self._db:
                self._reads.db.dispose()
            if self._db is not None:
                self._db.dispose()
            self._db = self._reads = None


# The dependencies are coroutines: FastAPI would run a plain function in its thread pool, a
# thread hop per dependency per request, for work that never waits.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


class Reads:
    """How a bounded read (a page, a preview, a project's settings) runs: `await reads(fn,
    *args)` calls `fn(db, *args)` with the bounded reads' database.

    `threads` 0 (the default on SQLite): on the event loop itself, one read after the other. A
    bounded read is about a millisecond of Python and a few index probes; handed to a worker
    thread it cost twice the CPU (the interpreter lock went back and forth between the loop
    and the thread), and in FastAPI's pool of 40 threads a burst of reads contended for that
    lock and gave a long latency tail. `threads` N: in at most N worker threads at a time, the
    other reads waiting their turn; on PostgreSQL (default 2) a read mostly waits for the
    server, and two threads let one wait while the other computes (docs/decisions.md,
    "Admin reads"). Writes, imports and runs stay in FastAPI's pool: they may take seconds.
    """

    def __init__(self, db: Database, threads: int) -> None:
        self.db = db
        self.threads = threads
        self._limiter: anyio.CapacityLimiter | None = None

    async def __call__(
        self, fn: Callable[Concatenate[Database, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        call = partial(_once_more_if_dropped, partial(fn, self.db, *args, **kwargs))
        if self.threads == 0:
            return call()
        if self._limiter is None:  # made on the event loop, on first use
            self._limiter = anyio.CapacityLimiter(self.threads)
        return await anyio.to_thread.run_sync(call, limiter=self._limiter)


def _once_more_if_dropped(call: Callable[[], T]) -> T:
    """`call()`, and once more if the server had dropped the connection it was given: the
    reads' pool does not ping a connection before lending it (`make_engine(reads_only=True)`),
    and the failed one has been thrown away (with every older one) by then."""
    try:
        return call()
    except DBAPIError as e:
        if not e.connection_invalidated:
            raise
    return call()


async def _opened(current: T | None, open_: Callable[[], T]) -> T:
    """What the holder has opened, else opened now: opening (at start-up, or again after the
    database was down) may wait on the network, so it runs off the event loop."""
    return current if current is not None else await run_in_threadpool(open_)


async def get_reads(request: Request) -> Reads:
    holder: DatabaseHolder = request.app.state.database
    return await _opened(holder.reads_opened, holder.reads)


async def get_db(request: Request) -> Database:
    holder: DatabaseHolder = request.app.state.database
    return await _opened(holder.opened, holder.get)


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
    token = bearer_token(authorization)
    if token is None:
        return MISSING
    # Constant time: compare_digest on equal-length digests, so not even the token's length
    # shows (it also refuses non-ASCII str, and a header may carry any latin-1 character).
    if not secrets.compare_digest(_digest(token), _digest(expected)):
        return INVALID
    return None


MISSING = AuthFailure(
    "missing bearer token: send `Authorization: Bearer <token>` (the admin token, "
    "LEARNING_LOOP_ADMIN_TOKEN, or a project's token)",
    f'Bearer realm="{REALM}"',
)
INVALID = AuthFailure("invalid bearer token", f'Bearer realm="{REALM}", error="invalid_token"')
# The methods a read-only token may use.
READS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def authenticate(
    authorization: str | None, admin_token: str, holder: DatabaseHolder | None
) -> tuple[Principal, AuthFailure | None]:
    """Who the header's token acts for: the admin, or the project of a project token (looked
    up by its digest, off the event loop); else why it is refused."""
    failure = check_bearer(authorization, admin_token)
    if failure is None:
        return ADMIN, None
    token = bearer_token(authorization)
    if token is None or not token.startswith(TOKEN_PREFIX) or holder is None:
        return ADMIN, failure
    db = await _opened(holder.opened, holder.get)
    principal = await run_in_threadpool(principal_of, db, token)
    if principal is None:
        return ADMIN, INVALID
    return principal, None


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminToken",
    description="`Authorization: Bearer <token>`: the admin token (LEARNING_LOOP_ADMIN_TOKEN) "
    "opens every project; a project token (`shorts-engine tokens create`) opens one.",
)


async def require_admin(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Every admin route's guard; `_credentials` only puts the scheme into the OpenAPI schema.

    The app's AdminGuard middleware has already answered 401 (and 403 to a read-only token's
    write) before the body was read, and left the request's principal; this check stands on
    its own so a route stays closed wherever its router is mounted.
    """
    if isinstance(getattr(request.state, "principal", None), Principal):
        return
    principal, failure = await authenticate(
        request.headers.get("authorization"),
        request.app.state.admin_token,
        getattr(request.app.state, "database", None),
    )
    if failure is None and principal.read_only and request.method not in READS:
        raise HTTPException(status_code=403, detail="this token is read-only")
    if failure is not None:
        raise HTTPException(
            status_code=401,
            detail=failure.detail,
            headers={"WWW-Authenticate": failure.www_authenticate},
        )
    request.state.principal = principal


AdminDep = Depends(require_admin)


async def get_principal(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def _scoped_project(
    request: Request,
    project_id: Annotated[uuid.UUID, Query(description="The project's id (UUID)")],
) -> uuid.UUID:
    """The `project_id` query parameter, once the request's token reaches that project."""
    principal: Principal = request.state.principal
    return principal.check_project(project_id)


async def _scoped_project_path(request: Request, project_id: uuid.UUID) -> uuid.UUID:
    """The `{project_id}` of a path, once the request's token reaches that project."""
    principal: Principal = request.state.principal
    return principal.check_project(project_id)


ProjectPath = Annotated[uuid.UUID, Depends(_scoped_project_path)]
ProjectIdQuery = Annotated[uuid.UUID, Depends(_scoped_project)]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip")]
