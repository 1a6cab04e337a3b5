"""Launching a run: the time from asking for `update_recipe_stats` to its SUCCESS.

    python -m bench.launch            # 5 runs of each way
    python -m bench.launch --quick    # 1 run of each way, SQLite only (CI)

The project is the small sample channel (60 videos), so a run's own work is a few tens of
milliseconds (the `services` line: the same work called directly, with no Dagster) and the rest
is what launching costs. The ways:

- in process: `DagsterRuns.run`, what `update-stats` (without `--no-wait`), `plan-next --wait`
  and the demo do; the instance is already open, as in a long-lived process;
- CLI: the whole `shorts-engine learn update-stats` command, Python's start included;
- daemon: `DagsterRuns.submit` (what `POST /update-stats` and `--no-wait` do), then the daemon
  dequeues it and launches it through the deployment's run launcher (`DefaultRunLauncher`: a
  new process from the code server), polled every 50 ms;
- Celery: the same through `deploy/celery` (`CeleryRunLauncher`, a real Redis broker, one
  worker with the solo pool).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from bench.common import record
from bench.pipeline import drop_database, fresh_database
from learning_loop.db.engine import Database, make_engine, upgrade
from learning_loop.launch import DagsterRuns
from learning_loop.services.ingest import (
    METRIC_COLUMNS,
    VIDEO_COLUMNS,
    backfill_recipes,
    import_videos,
    ingest_metrics,
)
from learning_loop.services.projects import create_project
from learning_loop.services.rows import read_rows
from learning_loop.services.runs import RunSpec, update_stats_spec
from learning_loop.services.stats import update_stats
from learning_loop.settings import Settings
from learning_loop_tests.processes import (
    BIN,
    ROOT,
    background,
    clean_env,
    free_port,
    shorts_engine,
    wait_until,
)

SAMPLES = ROOT / "learning_loop" / "samples"
AS_OF = "2026-10-30"
DAEMON_START_S = 180


def seed(db: Database) -> uuid.UUID:
    pid = create_project(db, "launch-bench").id
    import_videos(db, pid, read_rows(SAMPLES / "videos.csv", VIDEO_COLUMNS))
    backfill_recipes(db, pid)
    ingest_metrics(db, pid, read_rows(SAMPLES / "metrics.csv", METRIC_COLUMNS))
    return pid


def timings(repeat: int, once: Callable[[], None]) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        once()
        out.append(time.perf_counter() - start)
    return out


def until_success(runs: DagsterRuns, spec: RunSpec) -> None:
    run_id = runs.submit(spec).run_id
    while (status := runs.status(run_id).status) not in ("SUCCESS", "FAILURE", "CANCELED"):
        time.sleep(0.05)
    assert status == "SUCCESS", f"run {run_id} ended {status}"


def measure(kind: str, repeat: int, workdir: Path) -> dict[str, list[float]]:
    url = fresh_database(kind, workdir, "ll_bench_launch")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    db = Database.from_url(url)
    home = workdir / f"home-{kind}"
    env = clean_env(LEARNING_LOOP_HOME=str(home), LEARNING_LOOP_DATABASE_URL=url)
    settings = Settings(**{k: v for k, v in env.items() if k.startswith("LEARNING_LOOP_")})
    pid = seed(db)
    day = dt.date.fromisoformat(AS_OF)
    spec = update_stats_spec(db, pid, day, 30)
    out: dict[str, list[float]] = {}
    out["services (no Dagster)"] = timings(repeat, lambda: update_stats(db, pid, day, 30))
    runs = DagsterRuns(settings)
    runs.run(spec)  # opens the instance and imports the code location once
    out["in process"] = timings(repeat, lambda: _ok(runs.run(spec).success))
    out["CLI command"] = timings(
        repeat,
        lambda: _ok(
            shorts_engine(
                "learn",
                "update-stats",
                "--project",
                str(pid),
                "--as-of",
                AS_OF,
                env=env,
                cwd=workdir,
            ).returncode
            == 0
        ),
    )
    deployments = ["embedded" if kind == "sqlite" else "postgres"]
    if kind == "postgresql":
        deployments.append("celery")
    for deployment in deployments:
        with ExitStack() as stack:
            daemon_env = dict(env)
            if deployment == "embedded":
                daemon_env["DAGSTER_HOME"] = str(home / "dagster")
            else:
                dagster_home = workdir / f"dagster-{deployment}"
                dagster_home.mkdir(exist_ok=True)
                shutil.copy(ROOT / "deploy" / deployment / "dagster.yaml", dagster_home)
                daemon_env["DAGSTER_HOME"] = str(dagster_home)
            if deployment == "celery":
                port = free_port()
                daemon_env["LEARNING_LOOP_CELERY_BROKER"] = f"redis://127.0.0.1:{port}/0"
                stack.enter_context(
                    background(
                        ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                         "--save", "", "--appendonly", "no"],
                        env=env, cwd=workdir, log=workdir / "redis.log",
                    )
                )  # fmt: skip
                stack.enter_context(
                    background(
                        [BIN / "dagster-celery", "worker", "start", "-A", "dagster_celery.app",
                         "-y", ROOT / "deploy" / "celery" / "worker.yaml", "-q", "dagster",
                         "--", "--pool=solo"],
                        env=daemon_env, cwd=workdir, log=workdir / "worker.log",
                    )
                )  # fmt: skip
            stack.enter_context(
                background(
                    [BIN / "dagster-daemon", "run", "-w", ROOT / "workspace.yaml"],
                    env=daemon_env,
                    cwd=workdir,
                    log=workdir / f"daemon-{deployment}.log",
                )
            )
            # The first run waits for the daemon, the code server and the worker to start.
            wait_until(lambda: runs.daemon_note() is None, DAEMON_START_S, "the daemon")
            until_success(runs, spec)
            label = "daemon" if deployment != "celery" else "Celery"
            out[f"submitted, {label}"] = timings(repeat, lambda: until_success(runs, spec))
    runs.close()
    db.dispose()
    drop_database(kind, url)
    return out


EXPLAINED = """\
Where the time goes: in process, Dagster's own bookkeeping of a run (about 20 events written
to the instance) costs about half a second beside the work itself. The CLI command adds
Python's start and the imports of Dagster and the code location (about 2.5 s). A run submitted
to the daemon waits up to a second for the daemon's next look at the queue
(`dequeue_interval_seconds: 1` in every shipped instance; Dagster's default of 5 s measured
5.2 s here) and then, with `DefaultRunLauncher`, for a new Python process that imports the
code location. The Celery worker has imported it already, so a run through Celery is the
fastest submitted way."""


def _ok(flag: bool) -> None:
    assert flag, "the run failed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each way")
    args = parser.parse_args()
    repeat = 1 if args.quick else 5
    rows = []
    with tempfile.TemporaryDirectory(prefix="ll-bench-launch-") as tmp:
        # CI's quick run launches on the embedded default alone: the PostgreSQL ways start
        # the same daemon and worker, and the tests launch through both.
        for kind in ("sqlite",) if args.quick else ("sqlite", "postgresql"):
            for way, times in measure(kind, repeat, Path(tmp)).items():
                median = statistics.median(times)
                rows.append(f"| {kind} | {way} | {median:.2f} s | {max(times):.2f} s |")
                print(f"{kind:10s} {way:24s} median {median:.2f} s  worst {max(times):.2f} s")
    if not args.quick:
        record(
            "Launching a run",
            "Request to SUCCESS of `update_recipe_stats` on the sample channel (60 videos), "
            f"{repeat} runs each; `services` is the same work with no Dagster.\n\n"
            "| database | way | median | worst |\n|---|---|---|---|\n"
            + "\n".join(rows)
            + "\n\n"
            + EXPLAINED,
        )


if __name__ == "__main__":
    main()
