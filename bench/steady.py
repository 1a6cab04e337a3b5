"""The daily run in steady state: a constant window evaluated for many consecutive dates.

    python -m bench.steady                         # 1,000 x 150, 30 dates, both databases
    python -m bench.steady --quick                 # 50 x 150, 16 dates, both databases (CI)
    python -m bench.steady --projects 1000 --dates 8 --databases postgresql --no-record

`--quick` prints and records nothing; otherwise the report replaces this benchmark's section of
bench/RESULTS.md (unless `--no-record`). The exit status is 1 only when a correctness check
fails, never for a missed goal.

For each database: load the synthetic deployment of `bench.deployment` for the first date
(projects, recipes, 150 videos per project published over the 30 days before it, snapshots at
+6 h and +72 h, a running experiment per project), its experiments' starts spread over the
28 days before it so that about as many reach their deadline every date, then for each of the
consecutive dates d_0, d_1, ... from `AS_OF`:

- (k >= 1) publish the day's cohort, untimed: per project 150 / 30 = 5 videos published during
  d_k (the project's recipes, the generator's generation modes, fresh external ids) and their
  two snapshots, bulk inserted (COPY on PostgreSQL). A +72 h snapshot captured after the date
  simply is not read yet. A project whose experiment completed starts a new one that day, and
  explore videos join the project's running experiment until it has 8, as the generator's do:
  every date evaluates as many experiments, of bounded arms. The 30-day window thus holds a
  constant ~150 videos per project;
- run the daily services in order, each timed: rewards, recipe stats over each project's own
  window, experiment evaluation;
- measure the database's size: `pg_database_size`, or the SQLite file plus its WAL after a
  `wal_checkpoint(TRUNCATE)`, and the size of each table. On PostgreSQL a plain VACUUM runs
  first (untimed, `--no-vacuum` skips it): a day passes between two daily runs, in which
  autovacuum makes the rows the run updated or deleted reusable; without it (or with
  autovacuum off, as on some bench servers) the dead rows would count as growth forever.

Reported per database: the median cost of each step and of the whole run over the first 3 and
the last 3 dates and their ratio (goal: last / first <= 1.1); the storage added per date over
the second half of the dates (the product keeps a bounded few days of full daily reward
history, which the first dates fill), in MB per date and in bytes per video published that day
(goal: <= 1,024 bytes), with the share of the videos and snapshots themselves; the row counts
of every `video_*reward*` table at the end; the process's peak RSS. A missed goal is reported,
never fatal.

Checked on the last date, and fatal when wrong (exit status 1): each project's rewarded videos
for the date equal its videos in the window with a snapshot before the date's end (counted here
from `video_jobs` and `metric_snapshots`), and every recipe with such videos has `stats_as_of`
equal to the date and that many `rewarded_videos`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Date, DateTime, bindparam, inspect, text

from bench.common import peak_rss_mb, record, timed
from bench.deployment import (
    AS_OF,
    GENERATION_MODES,
    GENERATION_WEIGHTS,
    VIDEOS_PER_PROJECT,
    _uuid_hex,
    deployment_frames,
    drop_database,
    fresh_database,
    insert_frames,
    load,
    snapshot_frame,
)
from bench.pipeline import dagster_run
from learning_loop.db.engine import Database, make_engine, upgrade
from learning_loop.services.experiments import evaluate_experiments
from learning_loop.services.recipes import compute_recipe_stats
from learning_loop.services.rewards import compute_rewards_for_date

SECTION = "Steady state (bench/steady.py)"
WINDOW_DAYS = 30
VIDEOS_PER_DAY = VIDEOS_PER_PROJECT // WINDOW_DAYS
EDGE_DATES = 3  # the first and last dates compared
STEPS = ("rewards", "recipe_stats", "experiments")
GOAL_COST_RATIO = 1.1
GOAL_BYTES_PER_VIDEO = 1024
INPUT_TABLES = ("video_jobs", "metric_snapshots")
COHORT_TABLES = ("experiments", "video_jobs", "metric_snapshots")
EXPERIMENT_VIDEOS = 8  # explore videos an experiment takes, as in the generator
STAGGER_DAYS = 28  # the projects' max_days: the loaded experiments' ages spread over it
QUICK_PROJECTS = 50
# Long enough that the second half comes after a week of daily reward history has filled.
QUICK_DATES = 16


@dataclass
class DateRow:
    """One evaluated date: its cohort, step costs, the database's size after it."""

    day: dt.date
    published: int
    steps: dict[str, float]
    size_bytes: int
    table_bytes: dict[str, int]
    rewarded: int
    retired: int
    experiments_evaluated: int
    experiments_completed: int


@dataclass
class Run:
    """All dates of one database, and what was found at the end."""

    database: str
    projects: int
    dates: list[DateRow] = field(default_factory=list)
    reward_rows: dict[str, int] = field(default_factory=dict)
    reward_dates_held: int | None = None
    problems: list[str] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    dagster_after_s: float | None = None  # one more date through Dagster's daily jobs


@dataclass
class Catalogue:
    """What cohorts are drawn from: each project's recipes, by id."""

    project_ids: list[uuid.UUID]
    recipes: dict[uuid.UUID, list[tuple[uuid.UUID, str]]]


# ---------------------------------------------------------------------------------------------
# The daily cohort


def _as_uuid(value: Any) -> uuid.UUID:
    """A UUID as either backend hands it back through raw SQL (SQLite: hex text)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _reading(db: Database) -> Connection:
    """A connection for reads: on SQLite a deferred BEGIN, so it takes no write lock."""
    return db.engine.connect().execution_options(sqlite_read_only=True)


def read_catalogue(db: Database) -> Catalogue:
    recipes: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
    with _reading(db) as conn:
        projects = sorted(
            _as_uuid(p) for p in conn.execute(text("SELECT id FROM projects")).scalars()
        )
        for pid, rid, h in conn.execute(text("SELECT project_id, id, recipe_hash FROM recipes")):
            recipes[_as_uuid(pid)].append((_as_uuid(rid), h))
    for rows in recipes.values():
        rows.sort()
    return Catalogue(projects, dict(recipes))


def _experiments(db: Database) -> tuple[dict[uuid.UUID, list[Any]], dict[uuid.UUID, Any]]:
    """Each project's running experiment as [id, videos linked], and its newest experiment's
    row (the template of the next one)."""
    running: dict[uuid.UUID, list[Any]] = {}
    newest: dict[uuid.UUID, Any] = {}
    sql = text(
        "SELECT e.id, e.project_id, e.status, e.baseline_recipe_id, e.variant_recipe_id, "
        "e.variable_tested, e.baseline_value, e.variant_value, "
        "(SELECT count(*) FROM video_jobs v WHERE v.experiment_id = e.id) AS linked "
        "FROM experiments e ORDER BY e.started_at, e.id"
    )
    with _reading(db) as conn:
        for row in conn.execute(sql):
            pid = _as_uuid(row.project_id)
            newest[pid] = row
            if row.status == "running":
                running[pid] = [_as_uuid(row.id), int(row.linked)]
    return running, newest


def cohort_frames(
    db: Database, catalogue: Catalogue, day: dt.date, k: int, seed: int
) -> dict[str, pd.DataFrame]:
    """The rows of the videos published during `day`, their snapshots, and the experiments
    started that day (one per project whose experiments have all completed)."""
    rng = np.random.default_rng([seed, k])
    day_start = dt.datetime.combine(day, dt.time())
    running, newest = _experiments(db)
    restarted = [p for p in catalogue.project_ids if p not in running and p in newest]
    new_ids = _uuid_hex(rng, len(restarted))
    running.update({p: [e, 0] for p, e in zip(restarted, new_ids, strict=True)})
    experiments = pd.DataFrame(
        {
            "id": new_ids,
            "project_id": restarted,
            "baseline_recipe_id": [_as_uuid(newest[p].baseline_recipe_id) for p in restarted],
            "variant_recipe_id": [_as_uuid(newest[p].variant_recipe_id) for p in restarted],
            "variable_tested": [newest[p].variable_tested for p in restarted],
            "baseline_value": [newest[p].baseline_value for p in restarted],
            "variant_value": [newest[p].variant_value for p in restarted],
            "status": "running",
            "started_at": pd.Series([day_start] * len(restarted), dtype="datetime64[us]"),
        }
    )
    projects = np.repeat(np.arange(len(catalogue.project_ids)), VIDEOS_PER_DAY)
    n = len(projects)
    video_ids = _uuid_hex(rng, n)
    project_of = [catalogue.project_ids[p] for p in projects]
    picked = [
        catalogue.recipes[pid][int(rng.integers(len(catalogue.recipes[pid])))] for pid in project_of
    ]
    published = pd.Timestamp(day_start) + pd.to_timedelta(rng.integers(0, 86400, n), "s")
    modes = rng.choice(np.array(GENERATION_MODES), n, p=list(GENERATION_WEIGHTS))
    linked: list[uuid.UUID | None] = []
    for pid, mode in zip(project_of, modes, strict=True):
        experiment = running.get(pid)
        if mode == "explore" and experiment is not None and experiment[1] < EXPERIMENT_VIDEOS:
            experiment[1] += 1
            linked.append(experiment[0])
        else:
            linked.append(None)
    videos = pd.DataFrame(
        {
            "id": video_ids,
            "project_id": project_of,
            "recipe_id": [r for r, _ in picked],
            "recipe_hash": [h for _, h in picked],
            "experiment_id": linked,
            "generation_mode": modes,
            "batch_id": None,
            "batch_position": None,
            "topic": None,
            "topic_hash": None,
            "status": "published",
            "external_id": [f"d{k:04d}-{i}" for i in range(n)],
            "published_at": published,
            "created_at": published,
        }
    )
    with _reading(db) as conn:
        first_id = int(conn.execute(text("SELECT max(id) FROM metric_snapshots")).scalar() or 0) + 1
    snapshots = snapshot_frame(rng, videos["project_id"], video_ids, published, first_id)
    return {"experiments": experiments, "video_jobs": videos, "metric_snapshots": snapshots}


def count_uses(db: Database, videos: pd.DataFrame) -> None:
    """Add the day's videos to their recipes' `times_used`, as the product's writes do."""
    used = videos.groupby("recipe_id").size()
    ids = [r.hex if db.dialect == "sqlite" else str(r) for r in used.index]
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE recipes SET times_used = times_used + :n WHERE id = :id"),
            [{"n": int(n), "id": i} for i, n in zip(ids, used.to_numpy(), strict=True)],
        )


# ---------------------------------------------------------------------------------------------
# Sizes and counts


def database_bytes(db: Database) -> int:
    if db.dialect == "postgresql":
        with _reading(db) as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            return int(size)
    path = Path(str(db.engine.url.database))
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA journal_mode")
        mode = cur.fetchone()
        if mode is not None and str(mode[0]).lower() == "wal":
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = cur.fetchone()
            if busy is not None and busy[0]:
                print("warning: the WAL checkpoint was blocked; its size is counted", flush=True)
        cur.close()
    finally:
        raw.close()
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def vacuum(db: Database) -> None:
    """PostgreSQL: what autovacuum does between two daily runs (dead rows become reusable)."""
    if db.dialect != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM"))


def table_bytes(db: Database) -> dict[str, int]:
    """Each table's bytes with its indexes (a partitioned table's with its partitions)."""
    if db.dialect == "postgresql":
        sql = (
            "SELECT c.relname, CASE WHEN c.relkind = 'p' THEN (SELECT "
            "coalesce(sum(pg_total_relation_size(t.relid)), 0) FROM pg_partition_tree(c.oid) t) "
            "ELSE pg_total_relation_size(c.oid) END FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "AND NOT c.relispartition"
        )
    else:
        sql = (
            "SELECT m.tbl_name, sum(d.pgsize) FROM dbstat d "
            "JOIN sqlite_master m ON m.name = d.name GROUP BY m.tbl_name"
        )
    try:
        with _reading(db) as conn:
            return {name: int(size) for name, size in conn.execute(text(sql))}
    except Exception:  # SQLite built without the dbstat table: no breakdown
        return {}


def _columns(db: Database, table: str) -> set[str]:
    """The table's column names (none if there is no such table)."""
    inspector = inspect(db.engine)
    if not inspector.has_table(table):
        return set()
    return {c["name"] for c in inspector.get_columns(table)}


def reward_tables(db: Database) -> list[str]:
    """The tables named `video_*reward*`, as the inspector lists them, without partitions."""
    names = [
        n for n in inspect(db.engine).get_table_names() if fnmatch.fnmatch(n, "video_*reward*")
    ]
    if db.dialect == "postgresql":
        with _reading(db) as conn:
            partitions = set(
                conn.execute(text("SELECT relname FROM pg_class WHERE relispartition")).scalars()
            )
        names = [n for n in names if n not in partitions]
    return sorted(names)


def reward_row_counts(db: Database) -> tuple[dict[str, int], int | None]:
    """Rows of each `video_*reward*` table, and the dates `video_rewards` holds."""
    counts: dict[str, int] = {}
    held = None
    names = reward_tables(db)
    dated = "reward_date" in _columns(db, "video_rewards")
    with _reading(db) as conn:
        for name in names:
            counts[name] = int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
        if dated:
            held = int(
                conn.execute(
                    text("SELECT count(DISTINCT reward_date) FROM video_rewards")
                ).scalar_one()
            )
    return counts, held


# ---------------------------------------------------------------------------------------------
# Correctness


def check_last_date(db: Database, day: dt.date, service_counts: dict[str, int]) -> list[str]:
    """What disagrees, on `day`, between the rows written and the window (empty: all agree)."""
    start = dt.datetime.combine(day - dt.timedelta(days=WINDOW_DAYS - 1), dt.time())
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    measured = (
        "FROM video_jobs v WHERE v.published_at >= :start AND v.published_at < :end "
        "AND EXISTS (SELECT 1 FROM metric_snapshots s WHERE s.video_id = v.id "
        "AND s.captured_at < :end)"
    )
    params = [bindparam("start", type_=DateTime()), bindparam("end", type_=DateTime())]
    per_project = text(f"SELECT v.project_id, count(*) {measured} GROUP BY v.project_id")
    per_recipe = text(
        f"SELECT v.recipe_id, count(*) {measured} AND v.recipe_id IS NOT NULL GROUP BY v.recipe_id"
    )
    rewarded = text(
        "SELECT project_id, count(*) FROM video_rewards WHERE reward_date = :d GROUP BY project_id"
    ).bindparams(bindparam("d", type_=Date()))
    values = {"start": start, "end": end}
    per_date = {"project_id", "reward_date"} <= _columns(db, "video_rewards")
    with _reading(db) as conn:
        projects = [_as_uuid(p) for p in conn.execute(text("SELECT id FROM projects")).scalars()]
        expected = {
            _as_uuid(p): int(n)
            for p, n in conn.execute(per_project.bindparams(*params), values).tuples()
        }
        written = (
            {_as_uuid(p): int(n) for p, n in conn.execute(rewarded, {"d": day}).tuples()}
            if per_date
            else None
        )
        by_recipe = {
            _as_uuid(r): int(n)
            for r, n in conn.execute(per_recipe.bindparams(*params), values).tuples()
        }
        recipes = {
            _as_uuid(r): (str(a)[:10] if a is not None else None, int(n))
            for r, a, n in conn.execute(
                text("SELECT id, stats_as_of, rewarded_videos FROM recipes")
            ).tuples()
        }
    reported = {_as_uuid(p): n for p, n in service_counts.items()}
    problems = []
    for name, got in (("video_rewards rows", written), ("the service's count", reported)):
        if got is None:
            continue  # a layout without per-date rows in video_rewards: the service's count
        wrong = [p for p in projects if got.get(p, 0) != expected.get(p, 0)]
        if wrong:
            p = wrong[0]
            problems.append(
                f"{len(wrong)} projects' {name} for {day} differ from their measured window "
                f"videos (e.g. {p}: {got.get(p, 0)} != {expected.get(p, 0)})"
            )
    stale = [r for r in by_recipe if recipes.get(r, (None, 0))[0] != day.isoformat()]
    if stale:
        r = stale[0]
        problems.append(
            f"{len(stale)} recipes with rewarded videos have stats_as_of != {day} "
            f"(e.g. {r}: {recipes.get(r, (None, 0))[0]})"
        )
    miscounted = [r for r, n in by_recipe.items() if recipes.get(r, (None, 0))[1] != n]
    if miscounted:
        r = miscounted[0]
        problems.append(
            f"{len(miscounted)} recipes' rewarded_videos differ from their measured window "
            f"videos (e.g. {r}: {recipes.get(r, (None, 0))[1]} != {by_recipe[r]})"
        )
    return problems


# ---------------------------------------------------------------------------------------------
# The run


def _generate(url: str, projects: int, seed: int) -> None:
    """Load the generator's deployment, its experiments' starts spread over `STAGGER_DAYS`."""
    frames = deployment_frames(projects)
    rng = np.random.default_rng(seed)
    start = dt.datetime.combine(AS_OF, dt.time())
    ages = pd.to_timedelta(rng.integers(0, STAGGER_DAYS * 86400, projects), "s")
    frames["experiments"]["started_at"] = start - ages
    load(url, frames)


def evaluate_date(
    db: Database, day: dt.date, published: int, *, vacuum_after: bool
) -> tuple[DateRow, dict[str, int]]:
    steps: dict[str, float] = {}
    with timed(steps, "rewards"):
        rewards = compute_rewards_for_date(db, day)
    with timed(steps, "recipe_stats"):
        compute_recipe_stats(db, day, None)
    with timed(steps, "experiments"):
        evaluation = evaluate_experiments(db, day)
    steps["total"] = sum(steps[s] for s in STEPS)
    if vacuum_after:
        vacuum(db)
    row = DateRow(
        day=day,
        published=published,
        steps=steps,
        size_bytes=database_bytes(db),
        table_bytes=table_bytes(db),
        rewarded=rewards.videos_rewarded,
        retired=len(getattr(rewards, "retired_dates", [])),
        experiments_evaluated=evaluation.evaluated,
        experiments_completed=evaluation.completed,
    )
    return row, rewards.per_project


def _progress(run: Run, k: int, row: DateRow) -> None:
    costs = "  ".join(f"{s} {row.steps[s]:6.2f}" for s in (*STEPS, "total"))
    added = (row.size_bytes - run.dates[k - 1].size_bytes) / 1e6 if k else 0.0
    print(
        f"{run.database:10} {row.day}  published {row.published:6,}  {costs} s  "
        f"size {row.size_bytes / 1e6:8.1f} MB ({added:+6.2f})  rewarded {row.rewarded:,}  "
        f"retired {row.retired}  experiments {row.experiments_evaluated:,} evaluated / "
        f"{row.experiments_completed:,} completed",
        flush=True,
    )


def measure(
    kind: str,
    projects: int,
    dates: int,
    workdir: Path,
    *,
    vacuum_after: bool = True,
    through_dagster: bool = False,
    seed: int = 7,
) -> Run:
    name = f"ll_steady_{kind}_{projects}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = fresh_database(kind, workdir, name)
    run = Run(kind, projects)
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        t0 = time.perf_counter()
        # Generated in a child process, so that the peak RSS is the daily runs' own.
        child = mp.get_context("spawn").Process(target=_generate, args=(url, projects, seed))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"generating the deployment failed ({child.exitcode})")
        print(
            f"{kind:10} {projects:,} projects x {VIDEOS_PER_PROJECT} videos loaded in "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        db = Database.from_url(url)
        try:
            catalogue = read_catalogue(db)
            per_project: dict[str, int] = {}
            for k in range(dates):
                day = AS_OF + dt.timedelta(days=k)
                published = 0
                if k:
                    cohort = cohort_frames(db, catalogue, day, k, seed)
                    insert_frames(db.engine, cohort, COHORT_TABLES, analyze=False)
                    count_uses(db, cohort["video_jobs"])
                    published = len(cohort["video_jobs"])
                row, per_project = evaluate_date(db, day, published, vacuum_after=vacuum_after)
                run.dates.append(row)
                _progress(run, k, row)
            run.problems = check_last_date(db, run.dates[-1].day, per_project)
            if through_dagster:
                # One more date, through Dagster's two daily jobs: the whole daily run as the
                # schedule makes it, after the consecutive dates.
                day = AS_OF + dt.timedelta(days=dates)
                cohort = cohort_frames(db, catalogue, day, dates, seed)
                insert_frames(db.engine, cohort, COHORT_TABLES, analyze=False)
                count_uses(db, cohort["video_jobs"])
                run.dagster_after_s = dagster_run(url, day)["total"]
                print(
                    f"{kind:10} {day}  through Dagster  total {run.dagster_after_s:6.2f} s",
                    flush=True,
                )
            run.reward_rows, run.reward_dates_held = reward_row_counts(db)
        finally:
            db.dispose()
        run.peak_rss_mb = peak_rss_mb()
        return run
    finally:
        drop_database(kind, url)
        if kind == "sqlite":
            for leftover in workdir.glob(f"{name}.db*"):
                leftover.unlink()


# ---------------------------------------------------------------------------------------------
# The report


@dataclass
class Summary:
    first: dict[str, float]
    last: dict[str, float]
    ratio: float
    half_from: int  # the index of the first date of the second half
    mb_per_date: float
    bytes_per_video: float
    input_bytes_per_video: float | None
    table_growth: dict[str, float]  # bytes per video published, per table
    # The total's last / first, with "first" the first dates once the daily reward history
    # has filled (None when the run is too short to have such dates).
    filled_ratio: float | None = None
    filled_from: int | None = None


def summarize(run: Run) -> Summary:
    rows = run.dates
    first = {s: statistics.median(r.steps[s] for r in rows[:EDGE_DATES]) for s in (*STEPS, "total")}
    last = {s: statistics.median(r.steps[s] for r in rows[-EDGE_DATES:]) for s in (*STEPS, "total")}
    half_from = max(len(rows) // 2, 1)
    a, b = rows[half_from - 1], rows[-1]
    span = max(len(rows) - half_from, 1)
    published = sum(r.published for r in rows[half_from:]) or 1
    added = b.size_bytes - a.size_bytes
    growth = {
        t: (b.table_bytes.get(t, 0) - a.table_bytes.get(t, 0)) / published
        for t in sorted(set(a.table_bytes) | set(b.table_bytes))
    }
    inputs = sum(growth.get(t, 0.0) for t in INPUT_TABLES) if growth else None
    held = run.reward_dates_held or 0
    filled_ratio = filled_from = None
    if held and len(rows) >= held + 2 * EDGE_DATES:
        filled_from = held
        filled = statistics.median(r.steps["total"] for r in rows[held : held + EDGE_DATES])
        filled_ratio = last["total"] / filled if filled else None
    return Summary(
        first=first,
        last=last,
        ratio=last["total"] / first["total"] if first["total"] else float("inf"),
        half_from=half_from,
        mb_per_date=added / span / 1e6,
        bytes_per_video=added / published,
        input_bytes_per_video=inputs,
        table_growth={t: g for t, g in growth.items() if abs(g) >= 1},
        filled_ratio=filled_ratio,
        filled_from=filled_from,
    )


def _met(ok: bool) -> str:
    return "goal met" if ok else "goal NOT met"


def report(runs: list[Run]) -> tuple[str, bool]:
    """The report's text, and whether every run was correct."""
    summaries = [summarize(r) for r in runs]
    lines = []
    described = {(r.projects, len(r.dates)) for r in runs}
    for projects, dates in sorted(described):
        lines.append(
            f"{projects:,} projects x {VIDEOS_PER_PROJECT} videos in a {WINDOW_DAYS}-day window "
            f"({projects * VIDEOS_PER_PROJECT:,} videos), {dates} consecutive dates, "
            f"{projects * VIDEOS_PER_DAY:,} videos published a day."
        )
    lines += [
        "",
        f"Daily run cost, seconds: medians of the first and of the last {EDGE_DATES} dates.",
        "",
        "| database | step | first dates s | last dates s | last / first |",
        "|---|---|---|---|---|",
    ]
    for run, s in zip(runs, summaries, strict=True):
        for step in (*STEPS, "total"):
            ratio = s.last[step] / s.first[step] if s.first[step] else float("inf")
            shown = f"**{step}**" if step == "total" else step
            lines.append(
                f"| {run.database} | {shown} | {s.first[step]:.3f} | {s.last[step]:.3f} | "
                f"{ratio:.2f} |"
            )
    lines += [
        "",
        "Storage added per date over the second half of the dates (from the date shown on), and "
        "the tables at the end.",
        "",
        "| database | from | MB / date | bytes / video published | videos + snapshots | the rest "
        "| reward dates held | rows at the end | peak RSS MB | correct |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run, s in zip(runs, summaries, strict=True):
        inputs = rest = ""
        if s.input_bytes_per_video is not None:
            inputs = f"{s.input_bytes_per_video:,.0f}"
            rest = f"{s.bytes_per_video - s.input_bytes_per_video:,.0f}"
        rows = ", ".join(f"{t} {n:,}" for t, n in run.reward_rows.items())
        held = "" if run.reward_dates_held is None else str(run.reward_dates_held)
        lines.append(
            f"| {run.database} | {run.dates[s.half_from].day if len(run.dates) > 1 else ''} | "
            f"{s.mb_per_date:.2f} | {s.bytes_per_video:,.0f} | {inputs} | {rest} | {held} | "
            f"{rows} | {run.peak_rss_mb:.0f} | {'yes' if not run.problems else 'NO'} |"
        )
    lines.append("")
    for run, s in zip(runs, summaries, strict=True):
        costs = ", ".join(f"{r.steps['total']:.2f}" for r in run.dates)
        lines.append(f"- {run.database}, daily run s, date by date: {costs}")
        growth = ", ".join(f"{t} {g:,.0f}" for t, g in s.table_growth.items())
        if growth:
            lines.append(f"- {run.database}, bytes per video published, by table: {growth}")
    for run, s in zip(runs, summaries, strict=True):
        lines.append(
            f"- {run.database}: daily run last / first {s.ratio:.2f} "
            f"(<= {GOAL_COST_RATIO}): {_met(s.ratio <= GOAL_COST_RATIO)}"
        )
        if s.filled_ratio is not None and s.filled_from is not None:
            lines.append(
                f"- {run.database}: daily run last / first once the {run.reward_dates_held} "
                f"dates of history had filled (from {run.dates[s.filled_from].day}): "
                f"{s.filled_ratio:.2f}"
            )
        lines.append(
            f"- {run.database}: storage {s.bytes_per_video:,.0f} bytes per video published "
            f"(<= {GOAL_BYTES_PER_VIDEO:,}): {_met(s.bytes_per_video <= GOAL_BYTES_PER_VIDEO)}"
        )
        if run.reward_dates_held is not None and s.half_from < run.reward_dates_held:
            lines.append(
                f"- {run.database}: the second half began before the {run.reward_dates_held} "
                "dates of daily reward history had filled; run more dates for a steady figure"
            )
        if run.dagster_after_s is not None:
            lines.append(
                f"- {run.database}: the date after the last, through Dagster's two daily jobs "
                f"(the whole daily run as scheduled): {run.dagster_after_s:.2f} s"
            )
        for problem in run.problems:
            lines.append(f"- {run.database}: WRONG: {problem}")
    return "\n".join(lines), all(not r.problems for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_PROJECTS} projects, {QUICK_DATES} dates, nothing recorded (CI)",
    )
    parser.add_argument("--projects", type=int, default=None, help="projects (default 1,000)")
    parser.add_argument("--dates", type=int, default=None, help="consecutive dates (default 30)")
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (default both)",
    )
    parser.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    parser.add_argument(
        "--no-vacuum", action="store_true", help="PostgreSQL: no VACUUM between two dates"
    )
    parser.add_argument(
        "--dagster",
        action="store_true",
        help="evaluate one more date after the last through Dagster's daily jobs",
    )
    args = parser.parse_args()
    projects = args.projects or (QUICK_PROJECTS if args.quick else 1000)
    dates = args.dates or (QUICK_DATES if args.quick else 30)
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    unknown = set(kinds) - {"sqlite", "postgresql"}
    if unknown or not kinds:
        parser.error(f"unknown databases: {', '.join(sorted(unknown)) or '(none)'}")
    if projects < 1 or dates < 2:
        parser.error("at least 1 project and 2 dates")
    workdir = Path(tempfile.mkdtemp(prefix="ll_steady_"))
    runs = []
    try:
        for kind in kinds:
            runs.append(
                measure(
                    kind,
                    projects,
                    dates,
                    workdir,
                    vacuum_after=not args.no_vacuum,
                    through_dagster=args.dagster,
                )
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text_report, correct = report(runs)
    print()
    print(text_report)
    if not args.quick and not args.no_record:
        record(f"{SECTION}, {projects:,} projects", text_report)
    if not correct:
        sys.exit(1)


if __name__ == "__main__":
    main()
