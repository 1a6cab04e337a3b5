"""The metrics collector's commands (contract §12): `projects connect-youtube`,
`projects disconnect-youtube`, `learn collect-metrics` and `learn metrics`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from learning_loop.cli.common import (
    JsonOpt,
    ProjectOpt,
    check_limit,
    database,
    echo_run_errors,
    launcher,
    run_failed,
    settings,
)
from learning_loop.cli.output import fmt, print_json, print_table
from learning_loop.errors import InvalidInput
from learning_loop.lazy import lazy_module

if TYPE_CHECKING:
    from learning_loop.services import collector, runs
    from learning_loop.services.views import ConnectionView
else:
    collector = lazy_module("learning_loop.services.collector")
    runs = lazy_module("learning_loop.services.runs")

CredentialsOpt = Annotated[
    Path,
    typer.Option(
        "--credentials-file",
        help='An OAuth "authorized user" credential as Google\'s tools write it (JSON with '
        "type, client_id, client_secret, refresh_token).",
    ),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", help="A YouTube Data API key, for the public statistics."),
]


def _credential_file(path: Path) -> Any:
    """The credential file's JSON; one line naming the problem otherwise (never its text)."""
    if not path.is_file():
        raise InvalidInput(f"credentials file not found: {path.name}", "credentials_file")
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise InvalidInput(
            f"credentials file {path.name} is not JSON{where}", "credentials_file"
        ) from None


def connection_text(view: ConnectionView | None) -> str:
    """One line about a project's connection, for `projects show` and `learn stats`."""
    if view is None:
        return "not connected"
    where = f"YouTube channel {view.channel_title} ({view.channel_id})"
    if view.status == "broken":
        return f"BROKEN: {where}: {view.problem}; connect it again"
    return (
        f"connected to {where}; {view.videos_polling} video(s) polling, {view.videos_done} "
        f"done, {view.videos_gone} gone"
    )


def connect_youtube(
    project: ProjectOpt,
    credentials_file: CredentialsOpt,
    api_key: ApiKeyOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Connect the project to its YouTube channel: the credential is checked once, then kept
    encrypted; nothing shows it again."""
    credential = _credential_file(credentials_file)
    view = collector.connect_youtube(database(), settings(), project, credential, api_key)
    if json_:
        print_json(view)
    else:
        typer.echo(f"project {project} {connection_text(view)}")


def disconnect_youtube(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Forget the project's YouTube credential; its videos are no longer polled."""
    collector.disconnect_youtube(database(), project)
    if json_:
        print_json({"project_id": str(project), "connected": False})
    else:
        typer.echo(f"project {project} disconnected from YouTube")


def collect_metrics(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Run one pass of the metrics collector for the project now (a collect_metrics run), and
    wait for it."""
    db = database()
    spec = runs.collect_metrics_spec(db, project)
    info = launcher().run(spec)
    run_failed(info)
    meta = info.metadata or {}
    if str(spec.project_id) in str(meta.get("broken_connections", "")):
        view = collector.show_connection(db, spec.project_id)
        raise InvalidInput(
            collector.broken_line(spec.project_id, view.problem if view else None),
            "credentials",
        )
    if json_:
        print_json({**info.model_dump(mode="json", exclude={"metadata"}), **meta})
        return
    typer.echo(
        f"run {info.run_id} {info.status}: {meta.get('videos_polled', 0)} video(s) polled of "
        f"{meta.get('videos_due', 0)} due, {meta.get('snapshots_written', 0)} snapshot(s) "
        f"written, {meta.get('quota_units', 0)} quota unit(s), "
        f"{meta.get('marks_missed', 0)} mark(s) missed, {meta.get('videos_gone', 0)} video(s) "
        f"gone, {meta.get('videos_deferred', 0)} deferred"
    )
    echo_run_errors(meta)


def _views_6h(value: int | None, basis: str | None) -> str:
    if value is None:
        return "waiting"
    return f"{value} (interpolated)" if basis == "interpolated" else str(value)


def metrics(
    project: ProjectOpt,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="Only this video's snapshots.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Snapshots shown, 1..1000.")] = 100,
    json_: JsonOpt = False,
) -> None:
    """List the project's metric snapshots, newest first, with where each came from."""
    rows = collector.list_snapshots(database(), project, external_id, check_limit(limit))
    if json_:
        print_json(rows)
        return
    print_table(
        "Metric snapshots (newest first)",
        ["external_id", "captured_at (UTC)", "views", "views_6h", "avg_view_s", "likes",
         "comments", "source"],
        [
            (
                r.external_id,
                r.captured_at.strftime("%Y-%m-%d %H:%M"),
                r.views,
                _views_6h(r.views_6h, r.views_6h_basis),
                "waiting" if r.avg_view_duration_s is None else fmt(r.avg_view_duration_s),
                r.likes,
                r.comments,
                r.source,
            )
            for r in rows
        ],
    )  # fmt: skip
