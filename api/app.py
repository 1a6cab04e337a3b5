"""The admin API's application factory: `create_app(settings)`.

Nothing is read at import: `create_app()` loads the settings from the environment when called
(`uvicorn --factory api.app:create_app` works), and the database is opened on first use and
disposed at shutdown. The server refuses to start without an admin token.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api.deps import ADMIN_PREFIX, DatabaseHolder
from api.docs import install_docs
from api.errors import install_error_handlers
from api.middleware import AdminGuard, BodyLimit, ErrorShield
from api.routes import admin_router
from api.routes.health import router as health_router
from api.server import BoundedHttpToolsProtocol
from learning_loop.launch import DagsterRuns
from learning_loop.services.runs import RunLauncher
from learning_loop.settings import Settings, load_settings

log = logging.getLogger("learning_loop.api")

MAX_BODY_BYTES = 10 * 1024 * 1024
MIN_TOKEN_LENGTH = 16


class MissingAdminToken(RuntimeError):
    """The API was asked to start without LEARNING_LOOP_ADMIN_TOKEN."""


def create_app(
    settings: Settings | None = None,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    runs: RunLauncher | None = None,
) -> FastAPI:
    """The API over the settings' database; runs go to the settings' Dagster instance unless
    another launcher is given."""
    settings = settings if settings is not None else load_settings()
    dagster_runs = DagsterRuns(settings) if runs is None else None
    token = (settings.admin_token or "").strip()
    if not token:
        raise MissingAdminToken(
            "set LEARNING_LOOP_ADMIN_TOKEN (or start `shorts-engine api serve --dev`)"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        log.warning("the admin token is shorter than %d characters", MIN_TOKEN_LENGTH)
    holder = DatabaseHolder(settings)
    # The server's protocol (api.server) reads its bound from here, in every worker process.
    BoundedHttpToolsProtocol.head_timeout_s = settings.api_head_timeout_s

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            db = await run_in_threadpool(holder.get)
            log.info("admin API ready on the %s database", db.dialect)
        except Exception as exc:  # reported by /health; each request tries again
            log.warning("database not available at startup (%s)", type(exc).__name__)
        # What start-up made lives as long as the process: out of the collector's sight, a
        # full collection walks only what requests made (shorter pauses under load).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            holder.dispose()
            if dagster_runs is not None:
                await run_in_threadpool(dagster_runs.close)

    app = FastAPI(
        title="Learning Loop admin API",
        version="1",
        summary="Recipes, experiments, plans and metrics of Learning Loop projects.",
        description=(
            f"Every route under `{ADMIN_PREFIX}` needs `Authorization: Bearer "
            '<LEARNING_LOOP_ADMIN_TOKEN>`. Errors answer `{"detail": ..., "field": ...}`. '
            "Lists answer a page: `items`, `limit`, `offset`, `next_offset` (null on the last)."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    app.state.settings = settings
    app.state.admin_token = token
    app.state.database = holder
    app.state.runs = runs if runs is not None else dagster_runs
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(admin_router())
    # Added last = outermost: the shield wraps the guard, which answers before the body limit.
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(AdminGuard, prefix=ADMIN_PREFIX, token=token, holder=holder)
    app.add_middleware(ErrorShield)
    return app
