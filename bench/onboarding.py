"""Onboarding a channel's history: import its videos, backfill their recipes, ingest their
metric snapshots, through the real CLI, beside a floor measured in the same run.

    python -m bench.onboarding                 # 1,000,000 videos, 2,000,000 snapshots, both DBs
    python -m bench.onboarding --quick         # 5,000 videos (CI; records nothing)
    python -m bench.onboarding --databases postgresql --videos 200000

Each step is one `shorts-engine learn ...` process (its start included), timed on the wall
clock, with its peak resident memory (the child's own, from wait4). The floor of an import is
the same file's rows loaded into a bare table of text columns with no index and no check
(PostgreSQL: COPY ... CSV; SQLite: one prepared INSERT over the rows csv.reader gives); the
backfill has no such floor. Goals (issue 17): on PostgreSQL the three steps under 60 s in all,
on SQLite under 120 s, each step's peak RSS under 1 GB. Then the seed's `learn update-stats
--days 30`, today, on that history (all of it older than the window); goals (issue 25): 99% of
the videos with metrics rewarded, every recipe with a rewarded video estimated.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from bench.common import record
from bench.deployment import drop_database, fresh_database
from learning_loop.db.engine import make_engine, upgrade
from learning_loop.domain.recipe import DEFAULT_PRESETS, ENDING_TYPES, HOOK_TYPES
from learning_loop.services.ingest import METRIC_COLUMNS, VIDEO_COLUMNS

GOAL_S = {"postgresql": 60.0, "sqlite": 120.0}
GOAL_RSS_MB = 1024.0
# The console script beside this interpreter (the one `make setup` installs).
CLI = [str(Path(sys.executable).with_name("shorts-engine"))]


def write_history(folder: Path, videos: int, snapshots_per_video: int, seed: int = 1) -> None:
    """videos.csv and metrics.csv of one channel: `videos` published 30 s apart from
    2024-01-01, each with `snapshots_per_video` snapshots a day apart."""
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    subjects = ("cats", "space", "history", "code", "oceans", "cities", "music", "food")
    with (
        (folder / "videos.csv").open("w", newline="") as fv,
        (folder / "metrics.csv").open("w", newline="") as fm,
    ):
        v, m = csv.writer(fv), csv.writer(fm)
        v.writerow(VIDEO_COLUMNS)
        m.writerow(METRIC_COLUMNS)
        for i in range(videos):
            published = start + dt.timedelta(seconds=30 * i)
            ext = f"yt_{i:08d}"
            v.writerow(
                (
                    ext,
                    f"Video {i} about {rng.choice(subjects)}",
                    f"{published:%Y-%m-%dT%H:%M:%SZ}",
                    rng.choice(DEFAULT_PRESETS),
                    rng.choice(HOOK_TYPES),
                    rng.randint(5, 10),
                    round(rng.uniform(90, 200), 1),
                    round(rng.uniform(0.1, 0.9), 3),
                    rng.choice(ENDING_TYPES),
                )
            )
            views = rng.randint(100, 100_000)
            first_6h = rng.randint(0, views)
            for k in range(snapshots_per_video):
                captured = published + dt.timedelta(hours=6 + 24 * k)
                m.writerow(
                    (
                        ext,
                        f"{captured:%Y-%m-%dT%H:%M:%SZ}",
                        views * (k + 1),
                        first_6h,
                        round(rng.uniform(5, 50), 2),
                        rng.randint(0, 5000),
                        rng.randint(0, 500),
                    )
                )


def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds, peak RSS (MB) and the JSON printed by one CLI process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"shorts-engine {' '.join(args)} failed: {err.strip() or out.strip()}")
    return seconds, usage.ru_maxrss / 1024, json.loads(out)


def floor_seconds(url: str, path: Path, table: str) -> float:
    """The file's rows into a bare table of text columns (no index, no check)."""
    with path.open(newline="") as f:
        header = next(csv.reader(f))
    cols = ", ".join(f"{c} text" for c in header)
    if make_url(url).get_backend_name() == "postgresql":
        engine = create_engine(url)
        try:
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                cur.execute(f"CREATE TABLE {table} ({cols})")
                t0 = time.perf_counter()
                with path.open() as f:
                    cur.copy_expert(f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)", f)
                raw.commit()
                seconds = time.perf_counter() - t0
                cur.execute(f"DROP TABLE {table}")
                raw.commit()
            finally:
                raw.close()
        finally:
            engine.dispose()
        return seconds
    conn = sqlite3.connect(make_url(url).database or "")
    try:
        conn.execute(f"CREATE TABLE {table} ({cols})")
        marks = ", ".join("?" * len(header))
        t0 = time.perf_counter()
        with path.open(newline="") as f:
            reader = csv.reader(f)
            next(reader)
            conn.executemany(f"INSERT INTO {table} VALUES ({marks})", reader)
        conn.commit()
        seconds = time.perf_counter() - t0
        conn.execute(f"DROP TABLE {table}")
        conn.commit()
    finally:
        conn.close()
    return seconds


def measure(kind: str, folder: Path, videos: int, snapshots: int) -> dict[str, Any]:
    url = fresh_database(kind, folder, "ll_bench_onboarding")
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        home = folder / f"home-{kind}"
        env = os.environ | {
            "LEARNING_LOOP_DATABASE_URL": url,
            "LEARNING_LOOP_HOME": str(home),
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        }
        _, _, created = run_cli(["projects", "create", "--name", "history", "--json"], env)
        pid = created["id"]
        steps: dict[str, dict[str, float]] = {}
        floors = {
            "import-videos": floor_seconds(url, folder / "videos.csv", "floor_videos"),
            "ingest-metrics": floor_seconds(url, folder / "metrics.csv", "floor_metrics"),
        }
        plan = [
            ("import-videos", ["--file", str(folder / "videos.csv")], "imported", videos),
            ("backfill", [], "videos_backfilled", videos),
            ("ingest-metrics", ["--file", str(folder / "metrics.csv")], "ingested", snapshots),
        ]
        for step, extra, key, expected in plan:
            seconds, rss, out = run_cli(["learn", step, "--project", pid, *extra, "--json"], env)
            if out[key] != expected:
                raise SystemExit(f"{step}: {key} is {out[key]}, expected {expected}")
            steps[step] = {"seconds": seconds, "rss_mb": rss, "rows": expected}
            print(
                f"{kind:10} {step:15} {seconds:7.1f} s  {expected / seconds:>9,.0f} rows/s  "
                f"peak RSS {rss:6.0f} MB"
                + (f"  (floor {floors[step]:.1f} s)" if step in floors else ""),
                flush=True,
            )
        # The seed's command, today: the whole history is older than its window.
        seconds, rss, out = run_cli(
            ["learn", "update-stats", "--project", pid, "--days", "30", "--json"], env
        )
        _, _, recipes = run_cli(["learn", "recipes", "--project", pid, "--json"], env)
        with_videos = [r for r in recipes if r["evidence_videos"] > 0]
        learnt = {
            "rewarded": out["history_rewarded"],
            "recipes": len(with_videos),
            "estimated": sum(r["estimate"] is not None for r in with_videos),
        }
        steps["update-stats"] = {"seconds": seconds, "rss_mb": rss, "rows": videos}
        print(
            f"{kind:10} {'update-stats':15} {seconds:7.1f} s  rewarded {learnt['rewarded']:,} "
            f"of {videos:,} videos with metrics; {learnt['estimated']} of {learnt['recipes']} "
            f"recipes with a rewarded video estimated; peak RSS {rss:6.0f} MB",
            flush=True,
        )
        return {"steps": steps, "floors": floors, "learnt": learnt}
    finally:
        drop_database(kind, url)


def report(results: dict[str, dict[str, Any]], videos: int, snapshots: int) -> str:
    lines = [
        f"One project: {videos:,} videos and {snapshots:,} metric snapshots from CSV. Each step "
        "is one `shorts-engine learn ... --json` process, its start included; the floor loads "
        "the same file into a bare table of text columns (PostgreSQL COPY; SQLite one prepared "
        "INSERT over csv.reader's rows).",
        "",
        "| database | step | s | rows/s | floor s | peak RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    verdicts = []
    for kind, r in results.items():
        total = 0.0
        worst_rss = 0.0
        learnt = r["learnt"]
        share = learnt["rewarded"] / videos
        verdicts.append(
            f"- {kind}: after the seed's `update-stats --days 30` today, {learnt['rewarded']:,} of "
            f"{videos:,} videos with metrics rewarded ({100 * share:.2f}%, goal >= 99%: "
            f"{'met' if share >= 0.99 else 'NOT met'}); {learnt['estimated']} of "
            f"{learnt['recipes']} recipes with a rewarded video have an estimate "
            f"({'met' if learnt['estimated'] == learnt['recipes'] else 'NOT met'}); the run "
            f"took {r['steps']['update-stats']['seconds']:.1f} s, peak RSS "
            f"{r['steps']['update-stats']['rss_mb']:.0f} MB"
        )
        for step, s in r["steps"].items():
            if step == "update-stats":
                continue
            floor = r["floors"].get(step)
            lines.append(
                f"| {kind} | {step} | {s['seconds']:.1f} | {s['rows'] / s['seconds']:,.0f} | "
                f"{'-' if floor is None else f'{floor:.1f}'} | {s['rss_mb']:.0f} |"
            )
            total += s["seconds"]
            worst_rss = max(worst_rss, s["rss_mb"])
        goal = GOAL_S[kind]
        verdicts.append(
            f"- {kind}: {total:.1f} s in all (goal < {goal:g} s: "
            f"{'met' if total < goal else 'NOT met'}); largest peak RSS {worst_rss:.0f} MB "
            f"(goal < {GOAL_RSS_MB:.0f} MB: {'met' if worst_rss < GOAL_RSS_MB else 'NOT met'})"
        )
    return "\n".join([*lines, "", *verdicts])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 videos; records nothing")
    parser.add_argument("--videos", type=int, default=None)
    parser.add_argument("--snapshots-per-video", type=int, default=2)
    parser.add_argument("--databases", nargs="*", default=["postgresql", "sqlite"])
    args = parser.parse_args(argv)
    videos = args.videos or (5_000 if args.quick else 1_000_000)
    snapshots = videos * args.snapshots_per_video
    folder = Path(tempfile.mkdtemp(prefix="ll_bench_onboarding_"))
    try:
        t0 = time.perf_counter()
        write_history(folder, videos, args.snapshots_per_video)
        print(
            f"history: {videos:,} videos, {snapshots:,} snapshots written in "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        results = {kind: measure(kind, folder, videos, snapshots) for kind in args.databases}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    body = report(results, videos, snapshots)
    print(body)
    if not args.quick and args.videos is None:
        record("Onboarding a history (bench.onboarding)", body)


if __name__ == "__main__":
    main()
