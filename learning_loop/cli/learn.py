"""`shorts-engine learn`: the loop's data commands."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from learning_loop.cli import collect
from learning_loop.cli.common import (
    AsOfOpt,
    CountOpt,
    FileOpt,
    JobOpt,
    JsonOpt,
    ProjectOpt,
    SeedOpt,
    TopicsFileOpt,
    check_limit,
    database,
    echo_run_errors,
    launcher,
    parse_timestamp,
    read_lines,
    row_file,
    run_failed,
)
from learning_loop.cli.output import print_fields, print_json, print_table
from learning_loop.cli.plan_video import plan_video
from learning_loop.cli.progress import import_progress
from learning_loop.cli.progress import wanted as progress_wanted
from learning_loop.domain.formatting import interval_text
from learning_loop.domain.refs import short_id
from learning_loop.domain.statuses import ExperimentStatus, JobStatus, PlanStatus
from learning_loop.lazy import lazy_module

if TYPE_CHECKING:
    from learning_loop.services import experiments as experiments_service
    from learning_loop.services import ingest as ingest_service
    from learning_loop.services import planning, refs, runs, stats, video_jobs, video_plans
    from learning_loop.services.runs import RunInfo
    from learning_loop.services.views import RecipeFields, RecipeView, SkippedTopicView
else:  # the services (SQLAlchemy, pydantic, ...) load when a command first uses them
    experiments_service = lazy_module("learning_loop.services.experiments")
    ingest_service = lazy_module("learning_loop.services.ingest")
    planning = lazy_module("learning_loop.services.planning")
    refs = lazy_module("learning_loop.services.refs")
    runs = lazy_module("learning_loop.services.runs")
    stats = lazy_module("learning_loop.services.stats")
    video_jobs = lazy_module("learning_loop.services.video_jobs")
    video_plans = lazy_module("learning_loop.services.video_plans")

app = typer.Typer(help="Rewards, recipes, experiments and batches.", no_args_is_help=True)
app.command("plan-video")(plan_video)
app.command("collect-metrics")(collect.collect_metrics)
app.command("metrics")(collect.metrics)

DaysOpt = Annotated[
    int | None,
    typer.Option(
        "--days",
        help="Days of the recipes' raw average (`window avg`); default: the project's window. "
        "Rewards always use the project's window, estimates the whole history.",
    ),
]
NoWaitOpt = Annotated[
    bool,
    typer.Option(
        "--no-wait",
        help="Submit the run to the Dagster instance and return; the daemon starts it.",
    ),
]


def _short(h: str | None) -> str | None:
    return h[:12] if h else h


@app.command("import-videos")
def import_videos(project: ProjectOpt, file: FileOpt, json_: JsonOpt = False) -> None:
    """Import existing (manual) videos from a CSV or JSONL file; all rows or none."""
    source = row_file(file, ingest_service.VIDEO_COLUMNS)
    with import_progress(f"importing {file.name}", progress_wanted(json_)) as progress:
        result = ingest_service.import_videos(
            database(), project, source, what=file.name, progress=progress
        )
    if json_:
        print_json(result)
    else:
        typer.echo(f"imported {result.imported} video(s), {result.unchanged} already present")


@app.command("backfill")
def backfill(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Extract recipes from videos that have none."""
    result = ingest_service.backfill_recipes(database(), project)
    if json_:
        print_json(result)
    else:
        typer.echo(
            f"backfilled {result.videos_backfilled} video(s), "
            f"{result.recipes_created} new recipe(s)"
        )


@app.command("ingest-metrics")
def ingest(project: ProjectOpt, file: FileOpt, json_: JsonOpt = False) -> None:
    """Ingest metric snapshots from a CSV or JSONL file; all rows or none."""
    source = row_file(file, ingest_service.METRIC_COLUMNS)
    with import_progress(f"ingesting {file.name}", progress_wanted(json_)) as progress:
        result = ingest_service.ingest_metrics(
            database(), project, source, what=file.name, progress=progress
        )
    if json_:
        print_json(result)
    else:
        typer.echo(f"ingested {result.ingested} snapshot(s), {result.unchanged} already present")


@app.command("publish")
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
    if json_:
        print_json(video)
    else:
        typer.echo(f"published {video.id} as {video.external_id} at {video.published_at}")


def _submitted(info: RunInfo, what: str, json_: bool) -> None:
    """Print a run that was queued in the instance rather than run here."""
    if json_:
        print_json(info)
        return
    typer.echo(f"run {info.run_id} {info.status}: {info.job_name} {what}")
    if info.note:
        typer.echo(f"note: {info.note}")


@app.command("update-stats")
def update_stats(
    project: ProjectOpt,
    days: DaysOpt = None,
    as_of: AsOfOpt = None,
    no_wait: NoWaitOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Run the daily stats job (rewards, then recipe stats) for a date, as a Dagster run."""
    spec = runs.update_stats_spec(database(), project, as_of, days)
    day = dt.date.fromisoformat(str(spec.partition_key))
    days = spec.days
    if no_wait:
        _submitted(launcher().submit(spec), f"as of {day}, window avg over {days} days", json_)
        return
    info = launcher().run(spec)
    run_failed(info)
    summary = stats.day_summary(database(), project, day)
    if json_:
        print_json(
            {**info.model_dump(mode="json"), **summary.model_dump(mode="json"), "days": days}
        )
    else:
        typer.echo(
            f"run {info.run_id} {info.status}: as of {day}, {summary.history_rewarded} "
            f"video(s) rewarded in all, {summary.videos_rewarded} of them published in the "
            f"project's {summary.window_days}-day window; {summary.estimated_recipes} of "
            f"{summary.recipes} recipe(s) estimated, {summary.rewarded_recipes} with a window "
            f"avg over {days} days"
        )
        for hint in summary.hints:
            typer.echo(f"hint: {hint}")


@app.command("evaluate-experiments")
def evaluate(
    project: ProjectOpt, as_of: AsOfOpt = None, no_wait: NoWaitOpt = False, json_: JsonOpt = False
) -> None:
    """Run the experiment evaluation for a date, as a Dagster run, and print the verdicts."""
    spec = runs.evaluate_experiments_spec(database(), project, as_of)
    day = dt.date.fromisoformat(str(spec.partition_key))
    if no_wait:
        _submitted(launcher().submit(spec), f"as of {day}", json_)
        return
    info = launcher().run(spec)
    run_failed(info)
    decided = [
        e
        for e in experiments_service.list_experiments(
            database(), project, ExperimentStatus.COMPLETED
        )
        if e.decided_as_of == day
    ]
    running = experiments_service.list_experiments(database(), project, ExperimentStatus.RUNNING)
    if json_:
        print_json(
            {
                **info.model_dump(mode="json"),
                "as_of": day.isoformat(),
                "decided": decided,
                "still_running": len(running),
            }
        )
        return
    typer.echo(
        f"run {info.run_id} {info.status}: as of {day}, {len(decided)} experiment(s) decided, "
        f"{len(running)} still running"
    )
    for e in decided:
        typer.echo(
            f"  {e.variable_tested}: {e.baseline_value} -> {e.variant_value}: {e.winner} "
            f"({e.reason})"
        )


@app.command("run-status")
def run_status(
    run_id: Annotated[uuid.UUID, typer.Option("--run", help="Dagster run id (UUID).")],
    json_: JsonOpt = False,
) -> None:
    """The status of a run in this deployment's Dagster instance."""
    info = launcher().status(str(run_id))
    if json_:
        print_json(info)
    else:
        typer.echo(f"run {info.run_id} {info.status}: {info.job_name}")
        if info.error:
            typer.echo(f"error: {info.error}")


@app.command("report")
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


@app.command("runs")
def recent_runs(
    reaped: Annotated[
        bool, typer.Option("--reaped", help="Only runs failed because their process died.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", help="Runs shown, 1..1000.")] = 20,
    json_: JsonOpt = False,
) -> None:
    """The latest runs of this deployment's Dagster instance, newest first."""
    runs_ = launcher().recent(check_limit(limit), reaped_only=reaped)
    if json_:
        print_json(runs_)
        return
    print_table(
        "Reaped runs" if reaped else "Runs (newest first)",
        ["run_id", "job", "status", "partition", "error"],
        [(r.run_id, r.job_name, r.status, r.partition_key, r.error) for r in runs_],
    )


@app.command("videos")
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
    if json_:
        print_json(rows)
        return
    print_table(
        "Videos",
        [
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
        ],
        [
            (
                short_id(v.id),
                v.external_id,
                v.topic,
                _short(v.recipe_hash),
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
            for v in rows
        ],
    )


def _plan_state(status: str | None, error: str | None) -> str | None:
    if status is None:
        return None
    return f"{status}: {error[:60]}" if error else str(status)


@app.command("video-plans")
def make_video_plans(
    project: ProjectOpt,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", help="Requests in flight, 1..64 (LEARNING_LOOP_PLAN_CONCURRENCY)."
        ),
    ] = None,
    no_wait: NoWaitOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Make the video plans of the project's jobs that have none yet (a video_plans run)."""
    if concurrency is not None and not 1 <= concurrency <= 64:
        from learning_loop.errors import InvalidInput

        raise InvalidInput(f"concurrency must be within 1..64, got {concurrency}", "concurrency")
    spec = runs.video_plans_spec(database(), project)
    if concurrency is not None:
        spec = dataclasses.replace(spec, concurrency=concurrency)
    if no_wait:
        _submitted(launcher().submit(spec), f"of project {project}", json_)
        return
    info = launcher().run(spec)
    run_failed(info)
    meta = info.metadata or {}
    if json_:
        print_json({**info.model_dump(mode="json", exclude={"metadata"}), **meta})
        return
    typer.echo(
        f"run {info.run_id} {info.status}: {meta.get('plans_made', 0)} plan(s) made, "
        f"{meta.get('plans_failed', 0)} failed, {meta.get('left_pending', 0)} left pending "
        f"(of {meta.get('jobs', 0)} job(s) without a plan); {meta.get('re_asked', 0)} re-asked"
    )
    echo_run_errors(meta)


@app.command("replan")
def replan(
    job: JobOpt,
    no_wait: NoWaitOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Ask for a fresh video plan of one queued job, and make it now (a video_plans run)."""
    db = database()
    job_id = refs.resolve_job(db, job)
    project = video_plans.request_replan(db, job_id)
    spec = runs.video_plans_spec(db, project, [job_id])
    if no_wait:
        _submitted(launcher().submit(spec), f"of job {job_id}", json_)
        return
    info = launcher().run(spec)
    run_failed(info)
    view = video_plans.job_plan_view(db, job_id)
    if json_:
        print_json({"run_id": info.run_id, "job": view})
        return
    typer.echo(f"run {info.run_id} {info.status}: job {view.id} plan {view.plan_status}")
    if view.plan_error:
        typer.echo(f"error: {view.plan_error}")


RECIPE_COLUMNS = ("preset", "hook", "scenes", "wpm", "captions", "ending")


def recipe_cells(r: RecipeFields) -> tuple[object, ...]:
    return (
        r.preset,
        r.hook_type,
        r.scene_count,
        r.narration_wpm_bucket,
        r.caption_density_bucket,
        r.ending_type,
    )


def echo_skipped(skipped: list[SkippedTopicView], note: str | None) -> None:
    for s in skipped:
        typer.echo(f"skipped topic {s.topic!r}: {s.reason}")
    if note:
        typer.echo(note)


def print_recipes(title: str, rows: list[RecipeView]) -> None:
    print_table(
        title,
        [
            "#",
            "recipe_hash",
            *RECIPE_COLUMNS,
            "estimate [95%]",
            "planned",
            "published",
            "rewarded",
            "window avg",
        ],
        [
            (
                i,
                _short(r.recipe_hash),
                *recipe_cells(r),
                interval_text(r.estimate, r.estimate_low, r.estimate_high),
                r.planned_videos,
                r.published_videos,
                r.evidence_videos,
                r.avg_reward_score,
            )
            for i, r in enumerate(rows, start=1)
        ],
    )


@app.command("recipes")
def recipes(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Recipes, best first by estimate (the model's expected reward over the whole history,
    with its 95% interval), its videos planned, published and rewarded, and the raw average
    of the window's videos."""
    from learning_loop.services.recipes import list_recipes

    rows = list_recipes(database(), project)
    if json_:
        print_json(rows)
        return
    print_recipes("Recipes (best first)", rows)
    if not rows or all(r.estimate is None for r in rows):
        for hint in stats.missing_steps_of(database(), project):
            typer.echo(f"hint: {hint}")


@app.command("insights")
def insights(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Which value of each recipe field works on this channel: each value's effect on the
    expected reward against the default recipe's value, with a 95% interval, the videos behind
    it and the chance it is the best, and one sentence per field."""
    from learning_loop.services.estimates import insights as project_insights

    view = project_insights(database(), project)
    if json_:
        print_json(view)
        return
    fading = (
        "evidence never fades"
        if view.half_life_days is None
        else f"evidence counts half every {view.half_life_days} days"
    )
    typer.echo(f"{view.videos} rewarded video(s) as of {view.as_of or '-'}; {fading}")
    for f in view.fields:
        typer.echo(f.summary)
    for f in view.fields:
        print_table(
            f"{f.field} (against {f.reference})",
            ["value", "effect", "95% interval", "videos", "P(best)"],
            [
                (
                    v.value,
                    f"{v.effect:+.3f}",
                    f"[{v.low:+.3f}, {v.high:+.3f}]",
                    v.videos,
                    f"{100 * v.p_best:.0f}%",
                )
                for v in f.values
            ],
        )


@app.command("experiments")
def experiments(
    project: ProjectOpt,
    status: Annotated[
        ExperimentStatus | None, typer.Option("--status", help="Only this status.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Experiments and their verdicts; a running one with where it stands (rewarded videos per
    arm, the difference with its always-valid interval, expected days to the verdict), a
    completed one with the minimum effect its test could detect (MDE). Both show the pooled,
    adjusted difference (every rewarded video, adjusted for the other fields) with its
    always-valid interval, and a completed one which evidence decided it."""
    from learning_loop.services.views import ExperimentView

    rows = experiments_service.list_experiments(database(), project, status)
    if json_:
        print_json(rows)
        return

    def shown(e: ExperimentView) -> tuple[object, ...]:
        now = e.standing
        n_arms: str | None
        days: str | None = None
        if now is not None:  # running: where it stands
            n_arms = f"{now.baseline_n}/{now.variant_n}"
            diff, low, high = now.difference, now.ci_low, now.ci_high
            if now.expected_days_to_decision is not None:
                days = f"~{now.expected_days_to_decision:.1f}"
        else:
            n_arms = f"{e.baseline_n}/{e.variant_n}" if e.baseline_n is not None else None
            diff, low, high = e.difference, e.ci_low, e.ci_high
        pooled = now if now is not None else e
        return (
            short_id(e.id),
            e.status,
            f"{e.variable_tested}: {e.baseline_value} → {e.variant_value}",
            e.variant_jobs,
            n_arms,
            _difference_text(diff, low, high),
            e.p_value,
            _difference_text(pooled.pooled_difference, pooled.pooled_ci_low, pooled.pooled_ci_high),
            _winner_text(e.winner, e.reason, pooled.allocation_p_value),
            e.decision_rule,
            e.mde,
            days,
        )

    print_table(
        "Experiments (running: always-valid 95% intervals; completed: the verdict's)",
        [
            "id",
            "status",
            "change",
            "jobs",
            "n base/var",
            "arms diff [interval]",
            "p",
            "pooled diff [interval]",
            "winner",
            "decided by",
            "MDE",
            "days to verdict",
        ],
        [shown(e) for e in rows],
    )


def _winner_text(winner: str | None, reason: str | None, allocation: float | None) -> str | None:
    """The winner, or why there is none: the allocation check holding the verdict back."""
    from learning_loop.domain.experiments import ALLOCATION_ALPHA, REASON_ALLOCATION

    if reason == REASON_ALLOCATION:
        return f"{winner} (allocation mismatch)"
    if winner is None and allocation is not None and allocation < ALLOCATION_ALPHA:
        return "waits: allocation mismatch"
    return winner


def _difference_text(value: float | None, low: float | None, high: float | None) -> str | None:
    """A difference with its interval (unbounded while the evidence is too thin)."""
    if value is None:
        return None
    if low is None or high is None:
        return f"{value:.3f} [unbounded]"
    return interval_text(value, low, high)


@app.command("stats")
def project_stats(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Aggregate statistics of the project."""
    result = stats.project_stats(database(), project)
    if json_:
        print_json(result)
    else:
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


def read_topics(path: Path | None) -> list[str] | None:
    return read_lines(path, "topics_file") if path is not None else None


@app.command("recommend")
def recommend(
    project: ProjectOpt,
    count: CountOpt = 5,
    topics_file: TopicsFileOpt = None,
    seed: SeedOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Preview the next batch's recommendations (writes nothing)."""
    result = planning.preview(database(), project, count, read_topics(topics_file), seed)
    if json_:
        print_json(result)
        return
    print_table(
        "Recommendations (preview)",
        ["type", "topic", "recipe_hash", *RECIPE_COLUMNS, "reason"],
        [
            (r.type, r.topic, _short(r.recipe_hash), *recipe_cells(r.recipe), r.reason)
            for r in result.recommendations
        ],
    )
    echo_skipped(result.skipped_topics, result.note)


@app.command("plan-next")
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
        if json_:
            print_json({**request.model_dump(mode="json"), "note": note})
        else:
            typer.echo(
                f"plan request {request.id} is pending; the plan_requests_sensor starts its "
                "run (see it with the Dagster UI, or use --wait)"
            )
            if note:
                typer.echo(f"note: {note}")
        return
    request, info = runs.run_plan_request(database(), launcher(), project, count, topics, seed)
    run_failed(info)
    if json_:
        print_json(
            {
                "request_id": str(request.id),
                "run_id": info.run_id,
                "batch": request.batch,
                "jobs": request.jobs,
                "skipped_topics": request.batch.skipped_topics if request.batch else [],
            }
        )
        return
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
                _short(j.recipe_hash),
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
