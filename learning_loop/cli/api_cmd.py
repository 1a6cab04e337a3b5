"""`shorts-engine api serve`: the admin REST API on uvicorn."""

from __future__ import annotations

import copy
import os
from typing import Annotated, Any

import typer

from learning_loop.cli.output import error_line

app = typer.Typer(help="The admin REST API.", no_args_is_help=True)


@app.callback()
def api() -> None:
    """The admin REST API."""  # a group even on its own, so `serve` stays a subcommand


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="Development only: without LEARNING_LOOP_ADMIN_TOKEN, generate a token "
            "and print it once.",
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Worker processes (one per core).")
    ] = 1,
) -> None:
    """Serve the admin API; every route under /api/v1/admin needs the bearer token."""
    import secrets

    import uvicorn

    from api.app import create_app
    from api.server import BoundedHttpToolsProtocol
    from learning_loop.settings import load_settings

    settings = load_settings()
    if not (settings.admin_token or "").strip():
        if not dev:
            error_line("set LEARNING_LOOP_ADMIN_TOKEN or start with --dev")
            raise typer.Exit(code=1)
        token = secrets.token_urlsafe(32)
        settings = settings.model_copy(update={"admin_token": token})
        # Printed once, on stdout, and never logged.
        typer.echo(f"development admin token (this server only): {token}")
        # Worker processes build their app from the environment they inherit.
        os.environ["LEARNING_LOOP_ADMIN_TOKEN"] = token
    target: Any = create_app(settings)  # also fails here, once, on a bad configuration
    if workers > 1:
        target = "api.app:create_app"  # uvicorn imports it in each worker
    uvicorn.run(
        target,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        log_config=log_config(),
        server_header=False,
        proxy_headers=False,
        http=BoundedHttpToolsProtocol,  # the request head bounded in size and time
        timeout_keep_alive=5,
    )


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the API's own logger on the same handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["learning_loop"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    return config
