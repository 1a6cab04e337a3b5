"""`shorts-engine demo` (a simulated channel through the real loop) and `shorts-engine sample`."""

from __future__ import annotations

import time
import uuid
from typing import Annotated

import typer

from learning_loop.cli.common import database, launcher, settings
from learning_loop.cli.output import print_table
from learning_loop.cli.recipes import print_experiments, print_recipes


def _leaderboard(pid: uuid.UUID, limit: int = 10) -> None:
    from learning_loop.services.recipes import list_recipes

    recipes = [r for r in list_recipes(database(), pid) if r.avg_reward_score is not None]
    print_recipes("Recipe leaderboard", recipes[:limit])


def demo(
    days: Annotated[int, typer.Option("--days", help="Simulated days, 1..365.")] = 30,
    per_day: Annotated[int, typer.Option("--per-day", help="Videos planned per day.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated audience.")] = 7,
) -> None:
    """Run the whole loop on a simulated channel: plan, publish, measure, learn, every day."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from learning_loop.services.experiments import list_experiments
    from learning_loop.services.report import project_report
    from learning_loop.walkthroughs.demo import DemoDay, run_demo  # numpy-heavy: load on use

    started = time.monotonic()
    typer.echo(
        f"Simulating {days} days x {per_day} videos on a fresh project "
        f"(seed {seed}); every step is a real Dagster run."
    )
    with Progress(
        TextColumn("[bold]day {task.completed}/{task.total}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    ) as progress:
        task = progress.add_task("", total=days)

        def advance(day: DemoDay) -> None:
            progress.update(
                task,
                advance=1,
                description=f"{day.day}: {day.exploit} exploit + {day.explore} explore, "
                f"true reward {day.mean_true_reward:.3f}",
            )

        result = run_demo(
            launcher(), database(), days=days, per_day=per_day, seed=seed, on_day=advance
        )
    pid = result.project_id
    _leaderboard(pid)
    print_experiments(list_experiments(database(), pid))
    nxt = result.next_batch
    if nxt is not None:
        print_table(
            "Next recommendations",
            ["type", "recipe_hash", "reason"],
            [(r.type, r.recipe_hash[:12], r.reason) for r in nxt.recommendations],
        )
    week = min(7, days)
    first = [q for d, q in result.chosen_quality if d < week]
    last = [q for d, q in result.chosen_quality if d >= days - week]
    best = result.best_expected_reward
    typer.echo(
        f"True quality of the chosen recipes (expected reward, best possible {best:.3f}):\n"
        f"  first {week} days: {sum(first) / len(first):.3f} (regret "
        f"{best - sum(first) / len(first):.3f} per video)\n"
        f"  last {week} days:  {sum(last) / len(last):.3f} (regret "
        f"{best - sum(last) / len(last):.3f} per video)"
    )
    report = settings().home.resolve() / "report.html"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(project_report(database(), pid), encoding="utf-8")
    typer.echo(
        f"Done in {time.monotonic() - started:.0f} s: project {result.project_name} ({pid}), "
        f"{result.runs} Dagster runs.\n"
        f"Where to look next:\n"
        f"  report    {report}\n"
        f"  Dagster   make dev, then http://127.0.0.1:3000 (runs, asset lineage, checks)\n"
        f"  API       shorts-engine api serve --dev, then http://127.0.0.1:8000/docs\n"
        f"  CLI       shorts-engine learn experiments --project {pid}"
    )


def sample() -> None:
    """The onboarding flow on the sample channel shipped in the repo (real files, no simulator)."""
    from learning_loop.walkthroughs.sample import run_sample

    result = run_sample(database())
    pid = result.project_id
    typer.echo(f"1. created project {result.project_name} ({pid})")
    typer.echo(f"2. imported {result.imported.imported} existing videos from samples/videos.csv")
    back = result.backfilled
    typer.echo(f"3. backfilled {back.videos_backfilled} videos into {back.recipes_created} recipes")
    typer.echo(f"4. ingested {result.ingested.ingested} metric snapshots from samples/metrics.csv")
    stats = result.stats
    typer.echo(
        f"5. update-stats as of {stats.as_of}: {stats.rewards.videos_rewarded} rewards, "
        f"{stats.recipe_stats.rewarded_recipes} recipes scored"
    )
    _leaderboard(pid)
    print_table(
        "Next batch (preview: 70% exploit, 30% explore)",
        ["type", "recipe_hash", "reason"],
        [(r.type, r.recipe_hash[:12], r.reason) for r in result.next_batch.recommendations],
    )
    typer.echo(f"Look further: shorts-engine learn videos --project {pid}")
