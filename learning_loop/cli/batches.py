"""`shorts-engine learn recommend` and `plan-next`: the project's next batch, previewed or
planned."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from learning_loop.cli.common import (
    CountOpt,
    JsonOpt,
    ProjectOpt,
    SeedOpt,
    TopicsFileOpt,
    database,
    launcher,
    read_lines,
    run_failed,
)
from learning_loop.cli.output import noted, print_table, show
from learning_loop.cli.recipes import RECIPE_COLUMNS, echo_skipped, recipe_cells, short_hash
from learning_loop.cli.services import planning, runs
from learning_loop.domain.refs import short_id
from learning_loop.domain.statuses import PlanStatus

if TYPE_CHECKING:
    from learning_loop.services.runs import RunInfo
    from learning_loop.services.views import PlanRequestView


def read_topics(path: Path | None) -> list[str] | None:
    return read_lines(path, "topics_file") if path is not None else None


def recommend(
    project: ProjectOpt,
    count: CountOpt = 5,
    topics_file: TopicsFileOpt = None,
    seed: SeedOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Preview the next batch's recommendations (writes nothing)."""
    result = planning.preview(database(), project, count, read_topics(topics_file), seed)

    def text() -> None:
        print_table(
            "Recommendations (preview)",
            ["type", "topic", "recipe_hash", *RECIPE_COLUMNS, "reason"],
            [
                (r.type, r.topic, short_hash(r.recipe_hash), *recipe_cells(r.recipe), r.reason)
                for r in result.recommendations
            ],
        )
        echo_skipped(result.skipped_topics, result.note)

    show(json_, result, text)


def plan_next(
    project: ProjectOpt,
    count: CountOpt = 5,
    topics_file: TopicsFileOpt = None,
    seed: SeedOpt = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Run plan_next_batch now and print the batch.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Request the next batch; the plan sensor runs it, or run it now with --wait."""
    topics = read_topics(topics_file)
    if not wait:
        from learning_loop.services.plan_requests import create_plan_request

        request = create_plan_request(database(), project, count, topics, seed, source="cli")
        note = launcher().daemon_note("the request stays pending")
        line = (
            f"plan request {request.id} is pending; the plan_requests_sensor starts its "
            "run (see it with the Dagster UI, or use --wait)"
        )
        show(json_, {**request.model_dump(mode="json"), "note": note}, [line, *noted(note)])
        return
    request, info = runs.run_plan_request(database(), launcher(), project, count, topics, seed)
    run_failed(info)
    document = {
        "request_id": str(request.id),
        "run_id": info.run_id,
        "batch": request.batch,
        "jobs": request.jobs,
        "skipped_topics": request.batch.skipped_topics if request.batch else [],
    }
    show(json_, document, lambda: _print_planned(request, info))


def _print_planned(request: PlanRequestView, info: RunInfo) -> None:
    """The batch a `plan-next --wait` run planned, and its jobs."""
    batch = request.batch
    assert batch is not None and request.jobs is not None
    typer.echo(
        f"run {info.run_id} {info.status}: batch {batch.id} with {batch.jobs_created} job(s), "
        f"{batch.exploit_count} exploit + {batch.explore_count} explore"
    )
    print_table(
        "Planned jobs",
        ["job id", "mode", "topic", "recipe_hash", *RECIPE_COLUMNS, "experiment", "plan"],
        [
            (
                short_id(j.id),
                j.generation_mode,
                j.topic,
                short_hash(j.recipe_hash),
                *recipe_cells(j.recipe),
                short_id(j.experiment_id),
                j.plan_status,
            )
            for j in request.jobs
            if j.recipe is not None
        ],
    )
    echo_skipped(batch.skipped_topics, batch.note)
    if any(j.plan_status == PlanStatus.PENDING for j in request.jobs):
        typer.echo(
            "the video plans are made next, by a video_plans run (the video_plans_after_batch "
            "sensor starts one; or `shorts-engine learn video-plans --project ID`)"
        )
