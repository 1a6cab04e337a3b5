"""Planning latency: a batch of 50 for a project with 5,000 videos and 500 recipes, and one
video plan from the template planner.

    python -m bench.planning            # SQLite and PostgreSQL, 20 batches each
    python -m bench.planning --quick    # 500 videos, 50 recipes (CI)

The project is built through the services (import, backfill, metrics, update-stats), so the
planner reads what production would. Each timed call is `plan_and_write(n=50, 50 topics)` in
process: read the state, sample, write the batch and its jobs (with their video plans) in one
transaction. Dagster's start is not included. The template planner writes every planned
job's video plan; its own time is measured alone, per plan (goal: under 5 ms).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import record
from bench.pipeline import drop_database, fresh_database
from learning_loop.db.engine import Database, make_engine, upgrade
from learning_loop.domain.recipe import DEFAULT_PRESETS, RECIPE_FIELDS, Recipe, field_values
from learning_loop.planner.template import build_template_plan
from learning_loop.services.ingest import backfill_recipes, import_videos, ingest_metrics
from learning_loop.services.planning import plan_and_write, preview
from learning_loop.services.projects import create_project
from learning_loop.services.stats import update_stats

GOAL_S = 0.3
TEMPLATE_GOAL_MS = 5.0
RAW = {"slow": 100, "medium": 140, "fast": 180}
DENSITY = {"sparse": 0.2, "medium": 0.45, "dense": 0.8}


def build(db: Database, videos: int, recipes: int) -> uuid.UUID:
    rng = random.Random(3)
    values = [field_values(f, DEFAULT_PRESETS) for f in RECIPE_FIELDS]
    chosen: set[Recipe] = set()
    while len(chosen) < recipes:
        chosen.add(Recipe(*(rng.choice(v) for v in values)))
    pool = sorted(chosen, key=lambda r: r.recipe_hash)
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    rows, snaps = [], []
    for i in range(videos):
        r = pool[i % len(pool)]
        published = start + dt.timedelta(minutes=8 * i)
        rows.append(
            (
                i + 1,
                {
                    "external_id": f"v{i}",
                    "topic": f"Old topic {i}",
                    "published_at": published.isoformat(),
                    "preset": r.preset,
                    "hook_type": r.hook_type,
                    "scene_count": r.scene_count,
                    "narration_wpm": RAW[r.narration_wpm_bucket],
                    "caption_density": DENSITY[r.caption_density_bucket],
                    "ending_type": r.ending_type,
                },
            )
        )
        views = int(rng.lognormvariate(8, 0.9))
        snaps.append(
            (
                i + 1,
                {
                    "external_id": f"v{i}",
                    "captured_at": (published + dt.timedelta(hours=7)).isoformat(),
                    "views": views,
                    "views_6h": views // 3,
                    "avg_view_duration_s": rng.uniform(5, 40),
                    "likes": views // 25,
                    "comments": views // 250,
                },
            )
        )
    pid = create_project(db, "latency").id
    import_videos(db, pid, rows)
    backfill_recipes(db, pid)
    ingest_metrics(db, pid, snaps)
    update_stats(db, pid, dt.date(2026, 10, 30), 30)
    return pid


def measure(kind: str, videos: int, recipes: int, batches: int, workdir: Path) -> dict[str, float]:
    url = fresh_database(kind, workdir, f"ll_bench_planning_{kind}")
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        db = Database.from_url(url)
        pid = build(db, videos, recipes)
        preview(db, pid, 50, [f"warm {i}" for i in range(50)], seed=0)  # warm the pool
        writes, previews = [], []
        for b in range(batches):
            topics = [f"Batch {b} topic {i}" for i in range(50)]
            t0 = time.perf_counter()
            preview(db, pid, 50, topics, seed=b)
            previews.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            out = plan_and_write(db, pid, 50, topics, seed=b)
            writes.append(time.perf_counter() - t0)
            assert out.batch.jobs_created == 50
        db.dispose()
        return {
            "write_median": statistics.median(writes),
            "write_max": max(writes),
            "preview_median": statistics.median(previews),
        }
    finally:
        drop_database(kind, url)


def template_plan_ms(runs: int) -> tuple[float, float]:
    """Median and 99th percentile milliseconds of one template plan (10 scenes, the longest)."""
    recipe = Recipe("VIBRANT_MOTION_GRAPHICS", "contrast", 10, "fast", "dense", "loop")
    idea = "Why octopuses have three hearts and blue blood"
    build_template_plan(idea, recipe)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        build_template_plan(idea, recipe)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--databases", nargs="*", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    videos, recipes, batches = (500, 50, 3) if args.quick else (5000, 500, 20)
    workdir = Path(tempfile.mkdtemp(prefix="ll_bench_"))
    lines = [
        f"Project with {videos:,} videos and {recipes} recipes; batch of 50 with 50 new topics; "
        f"{batches} batches per database.",
        "",
        "| database | plan + write, median s | max s | preview (no write), median s | goal |",
        "|---|---|---|---|---|",
    ]
    try:
        for kind in args.databases:
            r = measure(kind, videos, recipes, batches, workdir)
            ok = "met" if r["write_median"] < GOAL_S else "NOT met"
            lines.append(
                f"| {kind} | {r['write_median']:.3f} | {r['write_max']:.3f} | "
                f"{r['preview_median']:.3f} | < {GOAL_S} s: {ok} |"
            )
            print(lines[-1], flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    median, p99 = template_plan_ms(200 if args.quick else 2000)
    ok = "met" if median < TEMPLATE_GOAL_MS else "NOT met"
    lines += [
        "",
        f"Template planner, one 10-scene video plan: median {median:.2f} ms, p99 {p99:.2f} ms "
        f"(goal: median < {TEMPLATE_GOAL_MS:g} ms: {ok}).",
    ]
    print(lines[-1], flush=True)
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        record("Planning latency (bench.planning)", text)


if __name__ == "__main__":
    main()
