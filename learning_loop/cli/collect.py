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
    run_errors,
    run_job,
    settings,
    with_metadata,
)
from learning_loop.cli.output import Shown, fmt, print_table, show
from learning_loop.cli.services import collector, runs
from learning_loop.errors import InvalidInput
from learning_loop.services.run_metadata import CollectKey as Key
from learning_loop.services.run_metadata import count, listed

if TYPE_CHECKING:
    from learning_loop.services.collector import SnapshotView
    from learning_loop.services.runs import RunInfo
    from learning_loop.services.views import ConnectionView

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
    show(json_, view, [f"project {project} {connection_text(view)}"])


def disconnect_youtube(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Forget the project's YouTube credential; its videos are no longer polled."""
    collector.disconnect_youtube(database(), project)
    document = {"project_id": str(project), "connected": False}
    show(json_, document, [f"project {project} disconnected from YouTube"])


def collect_metrics(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Run one pass of the metrics collector for the project now (a collect_metrics run), and
    wait for it."""
    db = database()
    spec = runs.collect_metrics_spec(db, project)

    def shown(info: RunInfo) -> Shown:
        meta = info.metadata or {}
        if str(spec.project_id) in listed(meta, Key.BROKEN_CONNECTIONS):
            view = collector.show_connection(db, spec.project_id)
            raise InvalidInput(
                collector.broken_line(spec.project_id, view.problem if view else None),
                "credentials",
            )
        line = (
            f"run {info.run_id} {info.status}: {count(meta, Key.VIDEOS_POLLED)} video(s) polled "
            f"of {count(meta, Key.VIDEOS_DUE)} due, {count(meta, Key.SNAPSHOTS_WRITTEN)} "
            f"snapshot(s) written, {count(meta, Key.QUOTA_UNITS)} quota unit(s), "
            f"{count(meta, Key.MARKS_MISSED)} mark(s) missed, {count(meta, Key.VIDEOS_GONE)} "
            f"video(s) gone, {count(meta, Key.VIDEOS_DEFERRED)} deferred"
        )
        return Shown(with_metadata(info), [line, *run_errors(meta, Key.ERRORS)])

    run_job(spec, json_, shown)


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
    show(json_, rows, lambda: _print_snapshots(rows))


def _print_snapshots(rows: list[SnapshotView]) -> None:
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
