"""The daily stats run at scale, against a bare SQL floor, on SQLite and PostgreSQL.

    python -m bench.pipeline                      # 1,000 x 150 and 10,000 x 150, both databases
    python -m bench.pipeline --quick              # 50 x 150 on both databases (CI)
    python -m bench.pipeline --sizes 1000 --databases postgresql

For each size and database: generate a synthetic deployment (projects, recipes, 150 published
videos per project in the window, two metric snapshots per video, a running experiment per
project), then measure for one evaluation date

- each step of the project's daily run through its services (rewards, recipe stats with each
  project's own window, experiment evaluation), and right before it, on the same state, the
  step's floor: a hand-written statement doing the same work (rewards: the mid-rank
  percentiles with window functions, inserted in key order into a scratch table; recipe
  stats: the day's aggregate into a scratch table and the recipes' update from it; experiments:
  one SELECT of the arms' rewards, then the same completion rule and Welch test);
- the same run again (a re-run of the date);
- the same run through Dagster (the `update_recipe_stats` and `evaluate_experiments` jobs,
  in process, on an ephemeral instance);

and verify that the project's rewards and recipe stats equal the floors', row for row. Peak RSS
is the process's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
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

GOAL_STEP_RATIO = 1.5
GOAL_TOTAL_S = 20.0
GOAL_RSS_MB = 1024.0

FLOOR_PG = """
INSERT INTO floor_rewards (video_id, reward_date, project_id, recipe_id, engagement,
                           pct_avg_view_duration, pct_views_6h, pct_engagement, reward, window_size)
SELECT video_id, CAST(:d AS date), project_id, recipe_id, eng, p1, p2, p3,
       (w1 * p1 + w2 * p2) + w3 * p3, n
FROM (
  SELECT video_id, project_id, recipe_id, eng, w1, w2, w3, count(*) OVER p AS n,
    CAST(rank() OVER a + count(*) OVER a - 1 AS float8) / CAST(2 * count(*) OVER p AS float8) AS p1,
    CAST(rank() OVER b + count(*) OVER b - 1 AS float8) / CAST(2 * count(*) OVER p AS float8) AS p2,
    CAST(rank() OVER c + count(*) OVER c - 1 AS float8) / CAST(2 * count(*) OVER p AS float8) AS p3
  FROM (
    SELECT v.project_id, v.id AS video_id, v.recipe_id, s.avg_view_duration_s AS avd,
      s.views_6h AS v6,
      CASE WHEN s.views = 0 THEN 0.0
           ELSE CAST(s.likes + s.comments AS float8) / CAST(s.views AS float8) END AS eng,
      pr.weight_avg_view_duration AS w1, pr.weight_views_6h AS w2, pr.weight_engagement AS w3
    FROM video_jobs v
    JOIN projects pr ON pr.id = v.project_id
    JOIN (SELECT DISTINCT ON (video_id) video_id, views, views_6h, avg_view_duration_s, likes,
                 comments
          FROM metric_snapshots WHERE captured_at >= :start AND captured_at < :end
          ORDER BY video_id, captured_at DESC) s ON s.video_id = v.id
    WHERE v.published_at >= :start AND v.published_at < :end
  ) w
  WINDOW p AS (PARTITION BY project_id), a AS (PARTITION BY project_id ORDER BY avd),
         b AS (PARTITION BY project_id ORDER BY v6), c AS (PARTITION BY project_id ORDER BY eng)
) x
ORDER BY video_id
"""

FLOOR_SQLITE = """
INSERT INTO floor_rewards (video_id, reward_date, project_id, recipe_id, engagement,
                           pct_avg_view_duration, pct_views_6h, pct_engagement, reward, window_size)
SELECT video_id, :d, project_id, recipe_id, eng, p1, p2, p3, (w1 * p1 + w2 * p2) + w3 * p3, n
FROM (
  SELECT video_id, project_id, recipe_id, eng, w1, w2, w3, count(*) OVER p AS n,
    CAST(rank() OVER a + count(*) OVER a - 1 AS REAL) / CAST(2 * count(*) OVER p AS REAL) AS p1,
    CAST(rank() OVER b + count(*) OVER b - 1 AS REAL) / CAST(2 * count(*) OVER p AS REAL) AS p2,
    CAST(rank() OVER c + count(*) OVER c - 1 AS REAL) / CAST(2 * count(*) OVER p AS REAL) AS p3
  FROM (
    SELECT v.project_id, v.id AS video_id, v.recipe_id, s.avg_view_duration_s AS avd,
      s.views_6h AS v6,
      CASE WHEN s.views = 0 THEN 0.0
           ELSE CAST(s.likes + s.comments AS REAL) / CAST(s.views AS REAL) END AS eng,
      pr.weight_avg_view_duration AS w1, pr.weight_views_6h AS w2, pr.weight_engagement AS w3
    FROM video_jobs v
    JOIN projects pr ON pr.id = v.project_id
    JOIN (SELECT m.video_id, m.views, m.views_6h, m.avg_view_duration_s, m.likes, m.comments
          FROM metric_snapshots m
          JOIN (SELECT video_id, max(captured_at) AS c FROM metric_snapshots
                WHERE captured_at >= :start AND captured_at < :end GROUP BY video_id) l
            ON l.video_id = m.video_id AND l.c = m.captured_at) s ON s.video_id = v.id
    WHERE v.published_at >= :start AND v.published_at < :end
  ) w
  WINDOW p AS (PARTITION BY project_id), a AS (PARTITION BY project_id ORDER BY avd),
         b AS (PARTITION BY project_id ORDER BY v6), c AS (PARTITION BY project_id ORDER BY eng)
) x
ORDER BY video_id
"""


STATS_FLOOR = """
INSERT INTO floor_recipe_stats (recipe_id, stats_date, project_id, window_days, times_used,
                                avg_reward_score, best_reward_score, rewarded_videos)
SELECT r.id, :d, r.project_id, p.window_days, r.times_used, s.a, s.b, coalesce(s.n, 0)
FROM recipes r
JOIN projects p ON p.id = r.project_id
LEFT JOIN (SELECT recipe_id, avg(reward) AS a, max(reward) AS b, count(*) AS n
           FROM video_rewards WHERE reward_date = :d AND recipe_id IS NOT NULL
           GROUP BY recipe_id) s ON s.recipe_id = r.id
"""

STATS_FLOOR_UPDATE = """
UPDATE floor_recipes SET times_used = f.times_used, avg_reward_score = f.avg_reward_score,
  best_reward_score = f.best_reward_score, rewarded_videos = f.rewarded_videos,
  stats_as_of = f.stats_date
FROM floor_recipe_stats f WHERE f.recipe_id = floor_recipes.id
"""

EXPERIMENTS_FLOOR = """
SELECT a.experiment_id, a.arm, d.reward FROM (
  SELECT e.id AS experiment_id, v.id AS video_id, 'variant' AS arm
  FROM experiments e JOIN video_jobs v ON v.experiment_id = e.id
  WHERE e.status = 'running' AND e.started_at < :end
  UNION ALL
  SELECT e.id, v.id, 'baseline'
  FROM experiments e JOIN video_jobs v
    ON v.project_id = e.project_id AND v.recipe_id = e.baseline_recipe_id
   AND v.generation_mode = 'exploit' AND v.published_at >= e.started_at AND v.published_at < :end
  WHERE e.status = 'running' AND e.started_at < :end
) a JOIN video_rewards d ON d.video_id = a.video_id AND d.reward_date = :d
"""

EXPERIMENTS_FLOOR_SETTINGS = """
SELECT e.id, e.started_at, p.min_samples, p.max_days, p.alpha
FROM experiments e JOIN projects p ON p.id = e.project_id
WHERE e.status = 'running' AND e.started_at < :end
"""


# ---------------------------------------------------------------------------------------------
# Measurements


def _params(db: Database) -> dict[str, Any]:
    start = dt.datetime.combine(AS_OF - dt.timedelta(days=29), dt.time())
    end = dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time())
    d = AS_OF if db.dialect == "postgresql" else AS_OF.isoformat()
    return {"d": d, "start": start, "end": end}


def _scratch(db: Database, name: str, like: str, key: str, rows: bool = False) -> None:
    """An empty (or, with `rows`, full) copy of `like` with its indexes (SQLite: a unique
    index on `key` for an empty copy, the table's own indexes for a full one)."""
    with db.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
        if db.dialect == "postgresql":
            conn.execute(text(f"CREATE TABLE {name} (LIKE {like} INCLUDING ALL)"))
            if rows:
                conn.execute(text(f"INSERT INTO {name} SELECT * FROM {like}"))
                conn.execute(text(f"ANALYZE {name}"))
            return
        where = "" if rows else " WHERE 1 = 0"
        conn.execute(text(f"CREATE TABLE {name} AS SELECT * FROM {like}{where}"))
        conn.execute(text(f"CREATE UNIQUE INDEX {name}_key ON {name} ({key})"))
        if rows:
            indexes = conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
                     "AND sql IS NOT NULL"),
                {"t": like},
            ).all()  # fmt: skip
            for index, sql in indexes:
                conn.execute(
                    text(
                        sql.replace(f'"{index}"', f'"{name}_{index}"')
                        .replace(index, f"{name}_{index}")
                        .replace(f" ON {like} ", f" ON {name} ")
                        .replace(f' ON "{like}" ', f" ON {name} ")
                    )
                )


def floor(db: Database) -> float:
    """The reward step's floor: one hand-written INSERT ... SELECT into a scratch table."""
    _scratch(db, "floor_rewards", "video_rewards", "video_id, reward_date")
    sql = FLOOR_PG if db.dialect == "postgresql" else FLOOR_SQLITE
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text(sql), _params(db))
    return time.perf_counter() - t0


def stats_floor(db: Database) -> float:
    """The recipe-stats step's floor: the day's aggregate into a scratch copy of the daily
    stats, and the recipes' update from it into a scratch copy of `recipes`."""
    _scratch(db, "floor_recipe_stats", "recipe_daily_stats", "recipe_id, stats_date")
    _scratch(db, "floor_recipes", "recipes", "id", rows=True)
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text(STATS_FLOOR), _params(db))
        conn.execute(text(STATS_FLOOR_UPDATE))
    return time.perf_counter() - t0


def stats_mismatches(db: Database) -> int:
    """Recipes whose stats of the date differ between the product and the floor."""
    cols = "recipe_id, times_used, avg_reward_score, best_reward_score, rewarded_videos"
    with db.engine.connect() as conn:
        ours = {
            r[0]: r[1:]
            for r in conn.execute(
                text(f"SELECT {cols} FROM recipe_daily_stats WHERE stats_date = :d"), _params(db)
            )
        }
        floor_rows = {
            r[0]: r[1:] for r in conn.execute(text(f"SELECT {cols} FROM floor_recipe_stats"))
        }
    wrong = set(ours) ^ set(floor_rows)
    for key in set(ours) & set(floor_rows):
        a, b = ours[key], floor_rows[key]
        if (
            a[0] != b[0]
            or a[3] != b[3]
            or any(
                (x is None) != (y is None) or (x is not None and abs(x - y) > 1e-12)
                for x, y in zip(a[1:3], b[1:3], strict=True)
            )
        ):
            wrong.add(key)
    return len(wrong)


EXPERIMENTS_FLOOR_WRITE = """
UPDATE floor_experiments SET status = 'completed', completed_at = :now, decided_as_of = :d,
  baseline_avg_reward = :bm, variant_avg_reward = :vm, baseline_n = :bn, variant_n = :vn,
  difference = :diff, ci_low = :lo, ci_high = :hi, p_value = :p, winner = :w, reason = :r
WHERE id = :id
"""


def experiments_floor(db: Database) -> tuple[float, int]:
    """The experiments step's floor: one SELECT of the running experiments' arm rewards of the
    day, the same completion rule and Welch test per experiment, and one batched UPDATE of the
    verdicts into a scratch copy of `experiments`. Returns the seconds and the verdicts."""
    from collections import defaultdict

    from learning_loop.domain.experiments import should_complete, welch_verdict

    _scratch(db, "floor_experiments", "experiments", "id", rows=True)
    params = _params(db)
    end = dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time())
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    t0 = time.perf_counter()
    arms: dict[Any, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    with db.engine.begin() as conn:
        for experiment_id, arm, reward in conn.execute(text(EXPERIMENTS_FLOOR), params):
            arms[experiment_id][arm == "variant"].append(float(reward))
        verdicts = []
        for experiment_id, started_at, min_samples, max_days, alpha in conn.execute(
            text(EXPERIMENTS_FLOOR_SETTINGS), params
        ):
            baseline, variant = arms.get(experiment_id, ([], []))
            started = (
                started_at
                if isinstance(started_at, dt.datetime)
                else dt.datetime.fromisoformat(str(started_at))
            )
            if not should_complete(
                len(baseline), len(variant), min_samples, started, end, max_days
            ):
                continue
            v = welch_verdict(baseline, variant, alpha)
            verdicts.append(
                {
                    "id": experiment_id, "now": now, "d": params["d"], "bm": v.baseline_mean,
                    "vm": v.variant_mean, "bn": v.baseline_n, "vn": v.variant_n,
                    "diff": v.difference, "lo": v.ci_low, "hi": v.ci_high, "p": v.p_value,
                    "w": v.winner, "r": v.reason,
                }
            )  # fmt: skip
        if verdicts:
            conn.execute(text(EXPERIMENTS_FLOOR_WRITE), verdicts)
    return time.perf_counter() - t0, len(verdicts)


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


def daily_run(db: Database, floors: dict[str, float] | None = None) -> dict[str, float]:
    """The daily services in order (each project's own window, as the nightly run). With
    `floors`, each step's floor is measured on the same state right before the step."""
    phases: dict[str, float] = {}
    if floors is not None:
        floors["rewards"] = floor(db)
    t0 = time.perf_counter()
    compute_rewards_for_date(db, AS_OF)
    phases["rewards"] = time.perf_counter() - t0
    if floors is not None:
        floors["recipe_stats"] = stats_floor(db)
    t0 = time.perf_counter()
    compute_recipe_stats(db, AS_OF, None)
    phases["recipe_stats"] = time.perf_counter() - t0
    if floors is not None:
        floors["experiments"], _ = experiments_floor(db)
    t0 = time.perf_counter()
    evaluate_experiments(db, AS_OF)
    phases["experiments"] = time.perf_counter() - t0
    phases["total"] = sum(phases.values())
    return phases


def dagster_run(url: str, day: dt.date = AS_OF) -> dict[str, float]:
    """The date's two daily jobs through Dagster, in process, on an ephemeral instance."""
    from dagster import DagsterInstance

    from learning_loop.defs import defs
    from learning_loop.defs.partitions import add_evaluation_date
    from learning_loop.defs.resources import LearningLoopDatabase

    resources = {"learning_loop_db": LearningLoopDatabase(database_url=url)}
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    phases = {}
    with DagsterInstance.ephemeral() as instance:
        add_evaluation_date(instance, day.isoformat())
        for job in ("update_recipe_stats", "evaluate_experiments"):
            t0 = time.perf_counter()
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance,
                partition_key=day.isoformat(),
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
        floors: dict[str, float] = {}
        first = daily_run(db, floors)
        wrong = mismatches(db) + stats_mismatches(db)
        rerun = daily_run(db)
        through_dagster = dagster_run(url)
        db.dispose()
        return {
            "database": kind,
            "projects": projects,
            "videos": projects * VIDEOS_PER_PROJECT,
            "generate_s": generate_s,
            "floors": floors,
            "first": first,
            "rerun": rerun,
            "dagster": through_dagster,
            "mismatches": wrong,
            "ratios": {step: first[step] / floors[step] for step in floors},
            "peak_rss_mb": peak_rss_mb(),
        }
    finally:
        drop_database(kind, url)


STEPS = ("rewards", "recipe_stats", "experiments")


def report(rows: list[dict[str, Any]]) -> str:
    lines = [
        "Each step against its floor (a hand-written statement doing the same work, measured "
        "right before the step on the same state), seconds and ratio.",
        "",
        "| database | videos | rewards (floor) | recipe stats (floor) | experiments (floor) | "
        "daily run s | re-run s | via Dagster s | = floor | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        steps = " | ".join(
            f"{r['first'][k]:.2f} ({r['floors'][k]:.2f}, {r['ratios'][k]:.2f}x)" for k in STEPS
        )
        lines.append(
            f"| {r['database']} | {r['videos']:,} | {steps} | {r['first']['total']:.2f} | "
            f"{r['rerun']['total']:.2f} | {r['dagster']['total']:.2f} | "
            f"{'yes' if r['mismatches'] == 0 else 'NO'} | {r['peak_rss_mb']:.0f} |"
        )
    goals = []
    for r in rows:
        for k in STEPS:
            ok = r["ratios"][k] <= GOAL_STEP_RATIO
            goals.append(
                f"- {k} within {GOAL_STEP_RATIO}x of its floor, {r['database']} "
                f"{r['videos']:,}: {r['ratios'][k]:.2f}x, {'met' if ok else 'NOT met'}"
            )
        if r["database"] == "postgresql" and r["videos"] >= 1_500_000:
            ok = r["dagster"]["total"] <= GOAL_TOTAL_S
            goals.append(
                f"- whole daily run through Dagster at 1.5M on PostgreSQL <= {GOAL_TOTAL_S:.0f} s: "
                f"{r['dagster']['total']:.1f} s, {'met' if ok else 'NOT met'}"
            )
            ok = r["peak_rss_mb"] <= GOAL_RSS_MB
            goals.append(
                f"- peak RSS <= {GOAL_RSS_MB:.0f} MB: {r['peak_rss_mb']:.0f} MB, "
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
                # Each measurement in a process of its own: its peak RSS is its own.
                spawn = mp.get_context("spawn")
                with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as child:
                    row = child.submit(measure, kind, projects, workdir).result()
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
