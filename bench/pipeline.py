"""The daily stats run at scale, against a bare SQL floor, on SQLite and PostgreSQL.

    python -m bench.pipeline                      # 1,000 x 150 and 10,000 x 150, both databases
    python -m bench.pipeline --quick              # 50 x 150 on both databases (CI)
    python -m bench.pipeline --sizes 1000 --databases postgresql

For each size and database: generate a synthetic deployment (projects, recipes, 150 published
videos per project in the window, two metric snapshots per video, a running experiment per
project), then measure for one evaluation date

- the floor: one hand-written SQL statement computing the same mid-rank percentiles and rewards
  with window functions and inserting them in key order into a scratch table;
- the project's own daily run through its services, phase by phase (rewards, recipe stats,
  experiment evaluation), then the same run again (a re-run of the date);
- the same run through Dagster (the `update_recipe_stats` and `evaluate_experiments` jobs,
  in process, on an ephemeral instance);

and verify that the project's rewards equal the floor's, row for row. Peak RSS is the process's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import peak_rss_mb, record
from bench.deployment import (
    AS_OF,
    VIDEOS_PER_PROJECT,
    deployment_frames,
    drop_database,
    fresh_database,
    load,
)
from learning_loop.db.engine import Database, make_engine, upgrade
from learning_loop.services.experiments import evaluate_experiments
from learning_loop.services.recipes import compute_recipe_stats
from learning_loop.services.rewards import compute_rewards_for_date

GOAL_REWARD_RATIO = 1.5
GOAL_TOTAL_S = 40.0
GOAL_RSS_MB = 1500.0

FLOOR_PG = """
INSERT INTO floor_rewards (video_id, reward_date, project_id, engagement, pct_avg_view_duration,
                           pct_views_6h, pct_engagement, reward, window_size)
SELECT video_id, CAST(:d AS date), project_id, eng, p1, p2, p3, (w1 * p1 + w2 * p2) + w3 * p3, n
FROM (
  SELECT video_id, project_id, eng, w1, w2, w3, count(*) OVER p AS n,
    CAST(rank() OVER a + count(*) OVER a - 1 AS float8) / CAST(2 * count(*) OVER p AS float8) AS p1,
    CAST(rank() OVER b + count(*) OVER b - 1 AS float8) / CAST(2 * count(*) OVER p AS float8) AS p2,
    CAST(rank() OVER c + count(*) OVER c - 1 AS float8) / CAST(2 * count(*) OVER p AS float8) AS p3
  FROM (
    SELECT v.project_id, v.id AS video_id, s.avg_view_duration_s AS avd, s.views_6h AS v6,
      CASE WHEN s.views = 0 THEN 0.0
           ELSE CAST(s.likes + s.comments AS float8) / CAST(s.views AS float8) END AS eng,
      pr.weight_avg_view_duration AS w1, pr.weight_views_6h AS w2, pr.weight_engagement AS w3
    FROM video_jobs v
    JOIN projects pr ON pr.id = v.project_id
    JOIN (SELECT DISTINCT ON (video_id) video_id, views, views_6h, avg_view_duration_s, likes,
                 comments
          FROM metric_snapshots WHERE captured_at < :end
          ORDER BY video_id, captured_at DESC) s ON s.video_id = v.id
    WHERE v.published_at >= :start AND v.published_at < :end
  ) w
  WINDOW p AS (PARTITION BY project_id), a AS (PARTITION BY project_id ORDER BY avd),
         b AS (PARTITION BY project_id ORDER BY v6), c AS (PARTITION BY project_id ORDER BY eng)
) x
ORDER BY video_id
"""

FLOOR_SQLITE = """
INSERT INTO floor_rewards (video_id, reward_date, project_id, engagement, pct_avg_view_duration,
                           pct_views_6h, pct_engagement, reward, window_size)
SELECT video_id, :d, project_id, eng, p1, p2, p3, (w1 * p1 + w2 * p2) + w3 * p3, n
FROM (
  SELECT video_id, project_id, eng, w1, w2, w3, count(*) OVER p AS n,
    CAST(rank() OVER a + count(*) OVER a - 1 AS REAL) / CAST(2 * count(*) OVER p AS REAL) AS p1,
    CAST(rank() OVER b + count(*) OVER b - 1 AS REAL) / CAST(2 * count(*) OVER p AS REAL) AS p2,
    CAST(rank() OVER c + count(*) OVER c - 1 AS REAL) / CAST(2 * count(*) OVER p AS REAL) AS p3
  FROM (
    SELECT v.project_id, v.id AS video_id, s.avg_view_duration_s AS avd, s.views_6h AS v6,
      CASE WHEN s.views = 0 THEN 0.0
           ELSE CAST(s.likes + s.comments AS REAL) / CAST(s.views AS REAL) END AS eng,
      pr.weight_avg_view_duration AS w1, pr.weight_views_6h AS w2, pr.weight_engagement AS w3
    FROM video_jobs v
    JOIN projects pr ON pr.id = v.project_id
    JOIN (SELECT m.video_id, m.views, m.views_6h, m.avg_view_duration_s, m.likes, m.comments
          FROM metric_snapshots m
          JOIN (SELECT video_id, max(captured_at) AS c FROM metric_snapshots
                WHERE captured_at < :end GROUP BY video_id) l
            ON l.video_id = m.video_id AND l.c = m.captured_at) s ON s.video_id = v.id
    WHERE v.published_at >= :start AND v.published_at < :end
  ) w
  WINDOW p AS (PARTITION BY project_id), a AS (PARTITION BY project_id ORDER BY avd),
         b AS (PARTITION BY project_id ORDER BY v6), c AS (PARTITION BY project_id ORDER BY eng)
) x
ORDER BY video_id
"""


# ---------------------------------------------------------------------------------------------
# Measurements


def floor(db: Database) -> float:
    start = dt.datetime.combine(AS_OF - dt.timedelta(days=29), dt.time())
    end = dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time())
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("DROP TABLE IF EXISTS floor_rewards"))
            conn.execute(text("CREATE TABLE floor_rewards (LIKE video_rewards INCLUDING ALL)"))
        else:
            conn.execute(text("DROP TABLE IF EXISTS floor_rewards"))
            conn.execute(text("CREATE TABLE floor_rewards AS SELECT * FROM video_rewards WHERE 0"))
            conn.execute(
                text("CREATE UNIQUE INDEX floor_pk ON floor_rewards (video_id, reward_date)")
            )
    sql = FLOOR_PG if db.dialect == "postgresql" else FLOOR_SQLITE
    d = AS_OF if db.dialect == "postgresql" else AS_OF.isoformat()
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text(sql), {"d": d, "start": start, "end": end})
    return time.perf_counter() - t0


def mismatches(db: Database) -> int:
    cols = (
        "video_id, project_id, engagement, pct_avg_view_duration, pct_views_6h, "
        "pct_engagement, reward, window_size"
    )
    sql = (
        f"SELECT count(*) FROM (SELECT {cols} FROM video_rewards WHERE reward_date = :d "
        f"EXCEPT SELECT {cols} FROM floor_rewards) a"
    )
    back = (
        f"SELECT count(*) FROM (SELECT {cols} FROM floor_rewards "
        f"EXCEPT SELECT {cols} FROM video_rewards WHERE reward_date = :d) b"
    )
    d = AS_OF if db.dialect == "postgresql" else AS_OF.isoformat()
    with db.engine.connect() as conn:
        return int(conn.execute(text(sql), {"d": d}).scalar_one()) + int(
            conn.execute(text(back), {"d": d}).scalar_one()
        )


def daily_run(db: Database) -> dict[str, float]:
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    compute_rewards_for_date(db, AS_OF)
    phases["rewards"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    compute_recipe_stats(db, AS_OF, 30)
    phases["recipe_stats"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    evaluate_experiments(db, AS_OF)
    phases["experiments"] = time.perf_counter() - t0
    phases["total"] = sum(phases.values())
    return phases


def dagster_run(url: str) -> dict[str, float]:
    from dagster import DagsterInstance

    from learning_loop.defs import defs
    from learning_loop.defs.resources import LearningLoopDatabase

    resources = {"learning_loop_db": LearningLoopDatabase(database_url=url)}
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    phases = {}
    with DagsterInstance.ephemeral() as instance:
        for job in ("update_recipe_stats", "evaluate_experiments"):
            t0 = time.perf_counter()
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance,
                partition_key=AS_OF.isoformat(),
                resources=resources,
                run_config=quiet,
            )
            assert result.success, job
            phases[job] = time.perf_counter() - t0
    phases["total"] = sum(phases.values())
    return phases


def _generate(url: str, projects: int) -> None:
    load(url, deployment_frames(projects))


def measure(kind: str, projects: int, workdir: Path) -> dict[str, Any]:
    name = f"ll_bench_{kind}_{projects}"
    url = fresh_database(kind, workdir, name)
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        t0 = time.perf_counter()
        # Generated in a child process, so that the peak RSS below is the daily run's own.
        child = mp.get_context("spawn").Process(target=_generate, args=(url, projects))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"generating the deployment failed ({child.exitcode})")
        generate_s = time.perf_counter() - t0
        db = Database.from_url(url)
        floor_s = floor(db)
        first = daily_run(db)
        rerun = daily_run(db)
        wrong = mismatches(db)
        through_dagster = dagster_run(url)
        db.dispose()
        return {
            "database": kind,
            "projects": projects,
            "videos": projects * VIDEOS_PER_PROJECT,
            "generate_s": generate_s,
            "floor_s": floor_s,
            "first": first,
            "rerun": rerun,
            "dagster": through_dagster,
            "mismatches": wrong,
            "reward_ratio": first["rewards"] / floor_s,
            "peak_rss_mb": peak_rss_mb(),
        }
    finally:
        drop_database(kind, url)


def report(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| database | videos | floor s | rewards s (ratio) | recipe stats s | experiments s | "
        "daily run s | re-run s | via Dagster s | rewards = floor | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['database']} | {r['videos']:,} | {r['floor_s']:.2f} | "
            f"{r['first']['rewards']:.2f} ({r['reward_ratio']:.2f}x) | "
            f"{r['first']['recipe_stats']:.2f} | {r['first']['experiments']:.2f} | "
            f"{r['first']['total']:.2f} | {r['rerun']['total']:.2f} | "
            f"{r['dagster']['total']:.2f} | {'yes' if r['mismatches'] == 0 else 'NO'} | "
            f"{r['peak_rss_mb']:.0f} |"
        )
    goals = []
    for r in rows:
        ok = r["reward_ratio"] <= GOAL_REWARD_RATIO
        goals.append(
            f"- reward step within {GOAL_REWARD_RATIO}x of the floor, {r['database']} "
            f"{r['videos']:,}: {r['reward_ratio']:.2f}x, {'met' if ok else 'NOT met'}"
        )
        if r["database"] == "postgresql" and r["videos"] >= 1_500_000:
            ok = r["first"]["total"] < GOAL_TOTAL_S
            goals.append(
                f"- daily run at 1.5M on PostgreSQL under {GOAL_TOTAL_S:.0f} s: "
                f"{r['first']['total']:.1f} s, {'met' if ok else 'NOT met'}"
            )
            ok = r["peak_rss_mb"] < GOAL_RSS_MB
            goals.append(
                f"- peak RSS under {GOAL_RSS_MB:.0f} MB: {r['peak_rss_mb']:.0f} MB, "
                f"{'met' if ok else 'NOT met'}"
            )
    return "\n".join(lines) + "\n\n" + "\n".join(goals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 projects only (CI)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--databases", nargs="*", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    sizes = [50] if args.quick else args.sizes
    workdir = Path(tempfile.mkdtemp(prefix="ll_bench_"))
    rows = []
    try:
        for projects in sizes:
            for kind in args.databases:
                row = measure(kind, projects, workdir)
                rows.append(row)
                print(json.dumps(row, default=str), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text_report = report(rows)
    print(text_report)
    if not args.quick:
        record("Pipeline at scale (bench.pipeline)", text_report)


if __name__ == "__main__":
    main()
