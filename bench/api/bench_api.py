"""Load benchmark of the admin API: GET /recommendations and GET /recipes under concurrency.

Builds a realistic database (default 1,000 projects x 150 videos, each with metric snapshots,
rewards on three dates, scored recipes, two planned batches and running experiments), starts a
real uvicorn on loopback, and drives it with concurrent keep-alive httpx clients picking random
projects. Prints p50/p90/p99/max latency and throughput per endpoint.

    .venv/bin/python bench/api/bench_api.py            # full size, SQLite in a temp folder
    .venv/bin/python bench/api/bench_api.py --quick    # 20 projects, a few hundred requests
    .venv/bin/python bench/api/bench_api.py --database-url postgresql+psycopg2://...

One project is made through the services (import, backfill, metrics, update-stats, planning);
the others are copies of its rows under new ids, written with bulk inserts, so the data has the
shape the services make and the build takes seconds, not minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from learning_loop.db.engine import Database, make_engine, upgrade
from learning_loop.db.models import (
    Experiment,
    MetricSnapshot,
    PlannedBatch,
    Project,
    RecipeDailyStats,
    VideoJob,
    VideoReward,
)
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.services import planning
from learning_loop.services.ingest import backfill_recipes, import_videos, ingest_metrics
from learning_loop.services.projects import create_project
from learning_loop.services.stats import update_stats

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "/api/v1/admin"
NAME_PREFIX = "bench-"
START = dt.datetime(2026, 8, 1, 9, 0, tzinfo=dt.UTC)
# Copied per project, parents before children.
CLONED = [
    RecipeRow,
    Experiment,
    PlannedBatch,
    VideoJob,
    MetricSnapshot,
    VideoReward,
    RecipeDailyStats,
]

PRESETS = ["DARK_DYSTOPIAN_ANIME", "VIBRANT_MOTION_GRAPHICS"]
HOOKS = ["question", "statement", "visual", "story", "contrast", "mystery"]
ENDINGS = ["cliffhanger", "resolve", "cta", "loop"]
WPM = {"slow": (95, 118), "medium": (121, 159), "fast": (162, 190)}
DENSITY = {"sparse": (0.1, 0.28), "medium": (0.32, 0.58), "dense": (0.62, 0.9)}


# ---------------------------------------------------------------------------------- dataset


def _template_rows(videos: int, rng: random.Random) -> tuple[list[dict], list[dict]]:
    """A channel's history: ~30 recipes in use, each with a hidden quality."""
    pool = []
    for _ in range(30):
        pool.append(
            (
                rng.choice(PRESETS),
                rng.choice(HOOKS),
                rng.randint(5, 10),
                rng.choice(list(WPM)),
                rng.choice(list(DENSITY)),
                rng.choice(ENDINGS),
                rng.gauss(0, 0.3),
            )
        )
    video_rows, metric_rows = [], []
    for i in range(videos):
        preset, hook, scenes, wpm, density, ending, quality = pool[
            min(int(rng.expovariate(1 / 8)), len(pool) - 1)
        ]
        published = START + dt.timedelta(hours=60 * 24 * i / videos + rng.random())
        video_rows.append(
            {
                "external_id": f"yt_{i:05d}",
                "topic": f"Topic {i}",
                "published_at": published.isoformat(),
                "preset": preset,
                "hook_type": hook,
                "scene_count": scenes,
                "narration_wpm": round(rng.uniform(*WPM[wpm]), 1),
                "caption_density": round(rng.uniform(*DENSITY[density]), 3),
                "ending_type": ending,
            }
        )
        views_6h = int(2000 * math.exp(quality + rng.gauss(0, 0.4)))
        for hours, growth in ((6, 1.0), (48, 2.5)):
            views = int(views_6h * growth)
            metric_rows.append(
                {
                    "external_id": f"yt_{i:05d}",
                    "captured_at": (published + dt.timedelta(hours=hours)).isoformat(),
                    "views": views,
                    "views_6h": views_6h,
                    "avg_view_duration_s": round(max(1.0, 25 + 10 * quality + rng.gauss(0, 3)), 2),
                    "likes": int(views * max(0.0, 0.04 + 0.02 * quality)),
                    "comments": int(views * 0.004),
                }
            )
    return video_rows, metric_rows


def _make_template(db: Database, videos: int) -> uuid.UUID:
    rng = random.Random(20261001)
    video_rows, metric_rows = _template_rows(videos, rng)
    pid = create_project(db, f"{NAME_PREFIX}00000").id
    import_videos(db, pid, list(enumerate(video_rows, 1)))
    backfill_recipes(db, pid)
    ingest_metrics(db, pid, list(enumerate(metric_rows, 1)))
    end = (START + dt.timedelta(days=60)).date()
    for days_back in (14, 7, 0):
        update_stats(db, pid, end - dt.timedelta(days=days_back), 30)
    for batch in range(2):
        topics = [f"Idea {batch}-{k}" for k in range(10)]
        planning.plan_and_write(db, pid, 10, topics, seed=batch)
    return pid


def _read_template(db: Database, pid: uuid.UUID) -> dict[Any, list[dict[str, Any]]]:
    with db.read() as session:
        rows: dict[Any, list[dict[str, Any]]] = {
            Project: [
                dict(r._mapping)
                for r in session.execute(select(Project.__table__).where(Project.id == pid))
            ]
        }
        for model in CLONED:
            table = model.__table__
            rows[model] = [
                dict(r._mapping)
                for r in session.execute(select(table).where(table.c.project_id == pid))
            ]
    rows[MetricSnapshot] = [{k: v for k, v in r.items() if k != "id"} for r in rows[MetricSnapshot]]
    return rows


def _clone(rows: dict[Any, list[dict[str, Any]]], k: int) -> dict[Any, list[dict[str, Any]]]:
    """The template's rows under fresh ids: every UUID in them is an id of the template."""
    ids: dict[uuid.UUID, uuid.UUID] = {}

    def fresh(value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            return ids.setdefault(value, uuid.uuid4())
        return value

    out = {
        model: [{key: fresh(v) for key, v in row.items()} for row in table_rows]
        for model, table_rows in rows.items()
    }
    out[Project][0]["name"] = f"{NAME_PREFIX}{k:05d}"
    return out


def build_dataset(url: str, projects: int, videos: int) -> list[str]:
    """The benchmark's projects in the database at `url`, built unless already there."""
    engine = make_engine(url)
    upgrade(engine)
    db = Database(engine)
    try:
        with db.read() as session:
            existing = list(
                session.scalars(
                    select(Project.id)
                    .where(Project.name.startswith(NAME_PREFIX))
                    .order_by(Project.name)
                )
            )
            others = session.scalar(select(func.count()).select_from(Project)) - len(existing)
        if others:
            raise SystemExit("the database holds other projects: give the benchmark its own")
        if len(existing) == projects:
            print(f"dataset: reusing {projects} projects")
            return [str(p) for p in existing]
        if existing:
            raise SystemExit(
                f"the database holds {len(existing)} benchmark projects, not {projects}"
            )
        started = time.perf_counter()
        template = _read_template(db, _make_template(db, videos))
        per_flush = max(1, 20_000 // max(1, len(template[VideoJob]) * 4))
        pending: dict[Any, list[dict[str, Any]]] = {m: [] for m in [Project, *CLONED]}
        for k in range(1, projects):
            for model, table_rows in _clone(template, k).items():
                pending[model] += table_rows
            if k % per_flush == 0 or k == projects - 1:
                with db.transaction() as session:
                    for model in [Project, *CLONED]:
                        if pending[model]:
                            session.execute(model.__table__.insert(), pending[model])
                        pending[model] = []
        with db.read() as session:
            counts = {
                m.__tablename__: session.scalar(select(func.count()).select_from(m))
                for m in [Project, *CLONED]
            }
        print(
            f"dataset: built in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{n} {name}" for name, n in counts.items())
        )
        with db.read() as session:
            return [
                str(p)
                for p in session.scalars(
                    select(Project.id).where(Project.name.startswith(NAME_PREFIX))
                )
            ]
    finally:
        db.dispose()


# ----------------------------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _process_tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += frontier
    return tree


def server_cpu_seconds(root: int) -> float:
    """User + system CPU of uvicorn and its workers so far (Linux /proc)."""
    total = 0
    for pid in _process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve(url: str, workers: int, app: str) -> Iterator[tuple[str, str, int]]:
    """A real uvicorn on loopback; yields its base URL, admin token and process id."""
    token = secrets.token_urlsafe(32)
    port = _free_port()
    home = tempfile.mkdtemp(prefix="ll-bench-home-")
    env = os.environ | {
        "LEARNING_LOOP_DATABASE_URL": url,
        "LEARNING_LOOP_ADMIN_TOKEN": token,
        "LEARNING_LOOP_HOME": home,
    }
    cmd = [
        sys.executable, "-m", "uvicorn", app, "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit("uvicorn exited before answering /health")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("uvicorn did not answer /health within 60 s")
            time.sleep(0.2)
        yield base, token, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(home, ignore_errors=True)


# ------------------------------------------------------------------------------------- load


@dataclass
class Result:
    endpoint: str
    latencies: list[float]
    errors: int
    seconds: float
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000

    def line(self) -> str:
        n = len(self.latencies)
        return (
            f"{self.endpoint:<16} {n:>6} {self.errors:>6} {self.pct(0.5):>8.1f} "
            f"{self.pct(0.9):>8.1f} {self.pct(0.99):>8.1f} {max(self.latencies) * 1000:>8.1f} "
            f"{n / self.seconds:>9.1f} {self.client_cpu / n * 1000:>9.2f} "
            f"{self.server_cpu / n * 1000:>9.2f}"
        )


def _params(endpoint: str, pid: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
    if endpoint == "recommendations":
        # Topics as a pipeline sends them: some new, some already made (duplicate checks).
        topics = [f"Topic {rng.randrange(300)}" for _ in range(5)]
        return f"{ADMIN}/recommendations", {"project_id": pid, "n": 5, "topics": ",".join(topics)}
    return f"{ADMIN}/recipes", {"project_id": pid}


async def load(
    base: str,
    token: str,
    endpoint: str,
    pids: list[str],
    concurrency: int,
    total: int,
    seed: int,
) -> Result:
    rng = random.Random(seed)
    latencies: list[float] = []
    errors = 0
    remaining = total

    async with httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        timeout=60,
    ) as client:

        async def one(record: bool) -> None:
            nonlocal errors
            path, params = _params(endpoint, rng.choice(pids), rng)
            t0 = time.perf_counter()
            response = await client.get(path, params=params)
            elapsed = time.perf_counter() - t0
            if record:
                latencies.append(elapsed)
                errors += response.status_code != 200

        async def client_loop(record: bool, count: list[int]) -> None:
            while count[0] > 0:
                count[0] -= 1
                await one(record)

        # Warm up the connections and the server's caches; not recorded.
        await asyncio.gather(*(client_loop(False, [2]) for _ in range(concurrency)))
        counter = [remaining]
        cpu = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(True, counter) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Result(endpoint, latencies, errors, seconds, time.process_time() - cpu)


# ------------------------------------------------------------------------------------- main


GOALS_P99_MS = {"recommendations": 100.0, "recipes": 50.0}


def _record(backend: str, projects: int, args: Any, total: int, results: list[Any]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.common import record

    lines = [
        f"{backend}, {projects:,} projects x {args.videos} videos, {args.concurrency} concurrent "
        f"clients on the same 2 cores as the server, uvicorn workers={args.workers}, "
        f"{total} requests per endpoint.",
        "",
        "| endpoint | p50 ms | p90 ms | p99 ms | req/s | server CPU ms/req | p99 goal |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        goal = GOALS_P99_MS.get(r.endpoint)
        met = (
            "-"
            if goal is None
            else f"< {goal:.0f} ms: {'met' if r.pct(0.99) < goal else 'NOT met'}"
        )
        lines.append(
            f"| {r.endpoint} | {r.pct(0.5):.1f} | {r.pct(0.9):.1f} | {r.pct(0.99):.1f} | "
            f"{len(r.latencies) / r.seconds:.0f} | {r.server_cpu / len(r.latencies) * 1000:.2f} "
            f"| {met} |"
        )
    record(f"API under load (bench/api, {backend}, {args.concurrency} clients)", "\n".join(lines))


def run(coroutine: Any) -> Any:
    """On uvloop when it is there (it comes with uvicorn's extras): the client's CPU is taken
    from the same two cores as the server's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 projects, 300 requests each")
    parser.add_argument("--projects", type=int, default=None)
    parser.add_argument("--videos", type=int, default=150, help="videos per project")
    parser.add_argument("--requests", type=int, default=None, help="per endpoint")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--database-url", default=None, help="default: a SQLite file in a temp folder"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="keep the SQLite dataset here (reused)"
    )
    parser.add_argument("--endpoints", default="recommendations,recipes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--app", default="api.app:create_app", help="the app factory uvicorn imports"
    )
    args = parser.parse_args(argv)
    projects = args.projects or (20 if args.quick else 1000)
    total = args.requests or (300 if args.quick else 3000)

    scratch = None
    url = args.database_url
    if url is None:
        folder = args.data_dir
        if folder is None:
            folder = scratch = Path(tempfile.mkdtemp(prefix="ll-bench-"))
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{(folder / f'bench-{projects}x{args.videos}.db').resolve()}"
    try:
        pids = build_dataset(url, projects, args.videos)
        backend = make_url(url).get_backend_name()
        load_before = os.getloadavg()[0]
        print(
            f"load: {backend}, {len(pids)} projects x {args.videos} videos, "
            f"{args.concurrency} concurrent clients, {total} requests per endpoint, "
            f"uvicorn workers={args.workers}, cpus={os.cpu_count()}"
        )
        results = []
        with serve(url, args.workers, args.app) as (base, token, server):
            for endpoint in args.endpoints.split(","):
                before = server_cpu_seconds(server)
                result = run(load(base, token, endpoint, pids, args.concurrency, total, args.seed))
                # Includes the few warm-up requests: a slight overestimate.
                result.server_cpu = server_cpu_seconds(server) - before
                results.append(result)
        print(
            f"{'endpoint':<16} {'n':>6} {'errors':>6} {'p50 ms':>8} {'p90 ms':>8} "
            f"{'p99 ms':>8} {'max ms':>8} {'req/s':>9} {'client':>9} {'server':>9}"
        )
        for result in results:
            print(result.line())
        print(
            "(client, server: CPU milliseconds per request; load average "
            f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after: figures taken while "
            "other work ran on the machine are not comparable)"
        )
        if not args.quick:
            _record(backend, len(pids), args, total, results)
        return 1 if any(r.errors for r in results) else 0
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
