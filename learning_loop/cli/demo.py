"""`shorts-engine demo`: the whole onboarding flow on the sample channel shipped in the repo."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from learning_loop.cli.common import database
from learning_loop.cli.output import print_table
from learning_loop.services import planning
from learning_loop.services.metrics import METRIC_COLUMNS, ingest_metrics
from learning_loop.services.projects import create_project
from learning_loop.services.recipes import list_recipes
from learning_loop.services.rows import read_rows
from learning_loop.services.stats import update_stats
from learning_loop.services.videos import VIDEO_COLUMNS, backfill_recipes, import_videos

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_AS_OF = dt.date(2026, 10, 30)


def demo() -> None:
    """Create a project from the sample channel, learn from it, print the leaderboard."""
    db = database()
    name = f"sample-channel-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S-%f}"
    project = create_project(db, name)
    pid = str(project.id)
    typer.echo(f"1. created project {name} ({pid})")
    imported = import_videos(db, pid, read_rows(SAMPLES / "videos.csv", VIDEO_COLUMNS))
    typer.echo(f"2. imported {imported.imported} existing videos from samples/videos.csv")
    back = backfill_recipes(db, pid)
    typer.echo(f"3. backfilled {back.videos_backfilled} videos into {back.recipes_created} recipes")
    snaps = ingest_metrics(db, pid, read_rows(SAMPLES / "metrics.csv", METRIC_COLUMNS))
    typer.echo(f"4. ingested {snaps.ingested} metric snapshots from samples/metrics.csv")
    result = update_stats(db, pid, SAMPLE_AS_OF, 30)
    typer.echo(
        f"5. update-stats as of {SAMPLE_AS_OF}: {result.rewards.videos_rewarded} rewards, "
        f"{result.recipe_stats.rewarded_recipes} recipes scored"
    )
    recipes = list_recipes(db, pid)
    print_table(
        "Recipe leaderboard",
        [
            "#",
            "recipe_hash",
            "preset",
            "hook",
            "scenes",
            "wpm",
            "captions",
            "ending",
            "videos",
            "avg reward",
            "best",
        ],
        [
            (
                i,
                r.recipe_hash[:12],
                r.preset,
                r.hook_type,
                r.scene_count,
                r.narration_wpm_bucket,
                r.caption_density_bucket,
                r.ending_type,
                r.rewarded_videos,
                r.avg_reward_score,
                r.best_reward_score,
            )
            for i, r in enumerate(recipes, start=1)
        ],
    )
    preview = planning.preview(db, pid, 5, None, seed=1)
    print_table(
        "Next batch (preview: 70% exploit, 30% explore)",
        ["type", "recipe_hash", "reason"],
        [(r.type, r.recipe_hash[:12], r.reason) for r in preview.recommendations],
    )
    typer.echo(f"Look further: shorts-engine learn videos --project {pid}")
