"""`shorts-engine learn`: the loop's data commands.

This module holds the group (every command, in the order `--help` lists them) and the
commands that import and list the project's data; `runs` holds the commands that start
Dagster runs, `batches` the next batch's, `recipes` the tables of what the loop learnt,
`collect` the metrics collector's and `plan_video` the one-video planner.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from learning_loop.cli import batches, collect, recipes, runs
from learning_loop.cli.common import (
    FileOpt,
    JobOpt,
    JsonOpt,
    ProjectOpt,
    database,
    parse_timestamp,
    row_file,
)
from learning_loop.cli.output import print_fields, print_table, show
from learning_loop.cli.plan_video import plan_video
from learning_loop.cli.progress import import_progress
from learning_loop.cli.progress import wanted as progress_wanted
from learning_loop.cli.recipes import short_hash
from learning_loop.cli.services import ingest as ingest_service
from learning_loop.cli.services import refs, stats, video_jobs
from learning_loop.domain.formatting import interval_text
from learning_loop.domain.refs import short_id
from learning_loop.domain.statuses import JobStatus, PlanStatus

if TYPE_CHECKING:
    from learning_loop.services.views import VideoView

R = TypeVar("R")


def _import_file(
    project: uuid.UUID,
    file: Path,
    json_: bool,
    columns: Iterable[str],
    doing: str,
    load: Callable[..., R],
) -> R:
    """Load a CSV or JSONL file with `load` (an import of `ingest`), showing its progress."""
    source = row_file(file, columns)
    with import_progress(f"{doing} {file.name}", progress_wanted(json_)) as progress:
        return load(database(), project, source, what=file.name, progress=progress)


def import_videos(project: ProjectOpt, file: FileOpt, json_: JsonOpt = False) -> None:
    """Import existing (manual) videos from a CSV or JSONL file; all rows or none."""
    columns, load = ingest_service.VIDEO_COLUMNS, ingest_service.import_videos
    result = _import_file(project, file, json_, columns, "importing", load)
    line = f"imported {result.imported} video(s), {result.unchanged} already present"
    show(json_, result, [line])


def backfill(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Extract recipes from videos that have none."""
    result = ingest_service.backfill_recipes(database(), project)
    line = f"backfilled {result.videos_backfilled} video(s), {result.recipes_created} new recipe(s)"
    show(json_, result, [line])


def ingest(project: ProjectOpt, file: FileOpt, json_: JsonOpt = False) -> None:
    """Ingest metric snapshots from a CSV or JSONL file; all rows or none."""
    columns, load = ingest_service.METRIC_COLUMNS, ingest_service.ingest_metrics
    result = _import_file(project, file, json_, columns, "ingesting", load)
    line = f"ingested {result.ingested} snapshot(s), {result.unchanged} already present"
    show(json_, result, [line])


def publish(
    project: ProjectOpt,
    job: JobOpt,
    external_id: Annotated[str, typer.Option("--external-id", help="The platform's video id.")],
    published_at: Annotated[
        dt.datetime | None,
        typer.Option(
            "--published-at",
            parser=parse_timestamp,
            metavar="ISO-8601",
            help="ISO 8601; without an offset it is UTC (default: now).",
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Mark a planned job published."""
    db = database()
    job_id = refs.resolve_job(db, job, project)
    video = video_jobs.publish_job(db, project, job_id, external_id, published_at)
    line = f"published {video.id} as {video.external_id} at {video.published_at}"
    show(json_, video, [line])


def report(
    project: ProjectOpt,
    out: Annotated[
        Path | None, typer.Option("--out", help="The HTML file to write (default report.html).")
    ] = None,
) -> None:
    """Write the project's report, one self-contained HTML page (what `GET /report` serves)."""
    from learning_loop.services.report import project_report

    page = project_report(database(), project)
    target = out or Path("report.html")
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as exc:
        from learning_loop.errors import InvalidInput

        raise InvalidInput(f"cannot write {target}: {exc.strerror}", "out") from None
    typer.echo(f"wrote {target} ({len(page.encode()) // 1024} KiB); open it in a browser")


VIDEO_COLUMNS = (
    "id",
    "external_id",
    "topic",
    "recipe",
    "mode",
    "status",
    "plan",
    "published",
    "reward",
    "pct_avd",
    "pct_v6h",
    "pct_eng",
    "as of",
)


def list_videos(
    project: ProjectOpt,
    status: Annotated[JobStatus | None, typer.Option("--status", help="Only this status.")] = None,
    plan_status: Annotated[
        PlanStatus | None,
        typer.Option("--plan-status", help="Only jobs whose video plan is in this state."),
    ] = None,
    plans: Annotated[
        bool, typer.Option("--plans", help="With --json: each job's stored video plan too.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Videos with recipe, mode, status, plan state, current reward and its percentiles."""
    rows = video_jobs.list_videos(
        database(), project, status=status, plan_status=plan_status, with_plans=plans
    )
    show(json_, rows, lambda: print_table("Videos", VIDEO_COLUMNS, [_video_cells(v) for v in rows]))


def _video_cells(v: VideoView) -> tuple[object, ...]:
    return (
        short_id(v.id),
        v.external_id,
        v.topic,
        short_hash(v.recipe_hash),
        v.generation_mode,
        v.status,
        _plan_state(v.plan_status, v.plan_error),
        v.published_at.strftime("%Y-%m-%d %H:%M") if v.published_at else None,
        v.reward,
        v.pct_avg_view_duration,
        v.pct_views_6h,
        v.pct_engagement,
        v.reward_date,
    )


def _plan_state(status: str | None, error: str | None) -> str | None:
    if status is None:
        return None
    return f"{status}: {error[:60]}" if error else str(status)


def project_stats(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Aggregate statistics of the project."""
    result = stats.project_stats(database(), project)

    def text() -> None:
        data = result.model_dump(mode="json")
        best = result.best_recipe
        data.pop("best_recipe")
        data["best_recipe"] = (
            f"{best.recipe_hash[:12]}: estimate "
            f"{interval_text(best.estimate, best.estimate_low, best.estimate_high)}, "
            f"{best.planned_videos} planned, {best.published_videos} published, "
            f"{best.evidence_videos} rewarded video(s)"
            if best
            else None
        )
        data["connection"] = collect.connection_text(result.connection)
        print_fields("Learning loop statistics", data)

    show(json_, result, text)


app = typer.Typer(help="Rewards, recipes, experiments and batches.", no_args_is_help=True)
for name, command in (
    ("plan-video", plan_video),
    ("collect-metrics", collect.collect_metrics),
    ("metrics", collect.metrics),
    ("import-videos", import_videos),
    ("backfill", backfill),
    ("ingest-metrics", ingest),
    ("publish", publish),
    ("update-stats", runs.update_stats),
    ("evaluate-experiments", runs.evaluate),
    ("run-status", runs.run_status),
    ("report", report),
    ("runs", runs.recent_runs),
    ("videos", list_videos),
    ("video-plans", runs.make_video_plans),
    ("replan", runs.replan),
    ("recipes", recipes.recipes),
    ("insights", recipes.insights),
    ("experiments", recipes.experiments),
    ("stats", project_stats),
    ("recommend", batches.recommend),
    ("plan-next", batches.plan_next),
):
    app.command(name)(command)
