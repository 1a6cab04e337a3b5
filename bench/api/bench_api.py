"""Load benchmark of the admin API: GET /recommendations and GET /recipes under concurrency.

Two cases. `small` (default): 1,000 projects x 150 videos, each with metric snapshots, rewards
on three dates, scored recipes, two planned batches and running experiments. `large`: one
project of 6,000 videos published over 30 days, with about 2,300 distinct recipes, as a big
channel network has. Starts a real uvicorn on loopback and drives it with 16 keep-alive
connections (wrk when installed, else httpx clients), each request on a random project with
random topics. Prints p50/p90/p99/max latency, throughput and CPU per request per endpoint.

    .venv/bin/python bench/api/bench_api.py                 # small case, SQLite in a temp folder
    .venv/bin/python bench/api/bench_api.py --case large    # the large project
    .venv/bin/python bench/api/bench_api.py --quick         # 20 projects, a few seconds of load
    .venv/bin/python bench/api/bench_api.py --database-url postgresql+psycopg2://...

Small case: one project is made through the services (import, backfill, metrics, update-stats,
planning); the others are copies of its rows under new ids, written with bulk inserts, so the
data has the shape the services make and the build takes seconds, not minutes. Large case: the
one project is made through the services alone.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
from learning_loop.domain.recipe import ENDING_TYPES, HOOK_TYPES, SCENE_COUNTS
from learning_loop.services import planning
from learning_loop.services.ingest import backfill_recipes, import_videos, ingest_metrics
from learning_loop.services.projects import create_project
from learning_loop.services.stats import update_stats

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "/api/v1/admin"
NAME_PREFIX = "bench-"
LARGE_NAME = "bench-large"
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
HOOKS = list(HOOK_TYPES)
ENDINGS = list(ENDING_TYPES)
WPM = {"slow": (95, 118), "medium": (121, 159), "fast": (162, 190)}
DENSITY = {"sparse": (0.1, 0.28), "medium": (0.32, 0.58), "dense": (0.62, 0.9)}


# ---------------------------------------------------------------------------------- dataset


Production = tuple[str, str, int, str, str, str, float]


def _template_rows(videos: int, rng: random.Random) -> tuple[list[dict], list[dict]]:
    """A channel's history: ~30 recipes in use, each with a hidden quality."""
    pool = [_random_production(rng) for _ in range(30)]
    return _history(videos, 60, lambda: pool[min(int(rng.expovariate(1 / 8)), len(pool) - 1)], rng)


def _random_production(rng: random.Random) -> Production:
    return (
        rng.choice(PRESETS),
        rng.choice(HOOKS),
        rng.choice(SCENE_COUNTS),
        rng.choice(list(WPM)),
        rng.choice(list(DENSITY)),
        rng.choice(ENDINGS),
        rng.gauss(0, 0.3),
    )


def _history(
    videos: int, days: int, production: Callable[[], Production], rng: random.Random
) -> tuple[list[dict], list[dict]]:
    """`videos` published evenly over `days`, each with two metric snapshots."""
    video_rows, metric_rows = [], []
    for i in range(videos):
        preset, hook, scenes, wpm, density, ending, quality = production()
        published = START + dt.timedelta(hours=days * 24 * i / videos + rng.random())
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
    _fill(db, pid, video_rows, metric_rows, (START + dt.timedelta(days=60)).date())
    return pid


def _fill(
    db: Database, pid: uuid.UUID, video_rows: list[dict], metric_rows: list[dict], end: dt.date
) -> None:
    """A project's history through the services: import, recipes, metrics, stats, 2 batches."""
    import_videos(db, pid, list(enumerate(video_rows, 1)))
    backfill_recipes(db, pid)
    ingest_metrics(db, pid, list(enumerate(metric_rows, 1)))
    for days_back in (14, 7, 0):
        update_stats(db, pid, end - dt.timedelta(days=days_back), 30)
    for batch in range(2):
        topics = [f"Idea {batch}-{k}" for k in range(10)]
        planning.plan_and_write(db, pid, 10, topics, seed=batch)


def build_large(url: str, videos: int) -> list[str]:
    """The large case: one project of `videos` videos over 30 days, every recipe as likely
    (6,000 videos make about 2,300 distinct recipes), built once and reused."""
    engine = make_engine(url)
    upgrade(engine)
    db = Database(engine)
    try:
        with db.read() as session:
            found = session.scalar(select(Project.id).where(Project.name == LARGE_NAME))
        if found is not None:
            print(f"dataset: reusing the large project ({LARGE_NAME})")
            return [str(found)]
        started = time.perf_counter()
        rng = random.Random(20261128)
        video_rows, metric_rows = _history(videos, 30, lambda: _random_production(rng), rng)
        pid = create_project(db, LARGE_NAME).id
        _fill(db, pid, video_rows, metric_rows, (START + dt.timedelta(days=30)).date())
        with db.read() as session:
            recipes = session.scalar(
                select(func.count()).select_from(RecipeRow).where(RecipeRow.project_id == pid)
            )
        print(
            f"dataset: large project built in {time.perf_counter() - started:.1f} s: "
            f"{videos:,} videos, {recipes:,} recipes"
        )
        return [str(pid)]
    finally:
        db.dispose()


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
                    .where(Project.name.startswith(NAME_PREFIX), Project.name != LARGE_NAME)
                    .order_by(Project.name)
                )
            )
            others = session.scalar(
                select(func.count())
                .select_from(Project)
                .where(Project.name.not_like(f"{NAME_PREFIX}%"))
            )
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
                    select(Project.id).where(
                        Project.name.startswith(NAME_PREFIX), Project.name != LARGE_NAME
                    )
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


def server_cpu_by_process(root: int) -> dict[int, float]:
    """User + system CPU seconds of uvicorn and each of its workers so far (Linux /proc)."""
    out = {}
    for pid in _process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def server_cpu_seconds(root: int) -> float:
    return sum(server_cpu_by_process(root).values())


def busiest_share(before: dict[int, float], after: dict[int, float]) -> float:
    """The busiest process's share of the server's CPU between two readings: 0.5 when two
    workers shared the load evenly (each worker keeps the connections it accepted, and
    uvicorn's workers race for them, so the split varies from run to run)."""
    used = [after[pid] - before.get(pid, 0.0) for pid in after]
    return max(used) / sum(used) if sum(used) > 0 else 0.0


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
    latencies: list[float]  # seconds, one per request (httpx); empty when wrk measured
    errors: int
    seconds: float
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    count: int = 0
    percentiles: dict[float, float] = field(default_factory=dict)  # milliseconds (wrk)
    busiest: float = 0.0  # the busiest server process's share of the server's CPU

    @property
    def n(self) -> int:
        return self.count or len(self.latencies)

    def pct(self, q: float) -> float:
        if self.percentiles:
            return self.percentiles[q]
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000

    def line(self) -> str:
        n = self.n
        return (
            f"{self.endpoint:<16} {n:>6} {self.errors:>6} {self.pct(0.5):>8.1f} "
            f"{self.pct(0.9):>8.1f} {self.pct(0.99):>8.1f} {self.pct(1.0):>8.1f} "
            f"{n / self.seconds:>9.1f} {self.client_cpu / n * 1000:>9.2f} "
            f"{self.server_cpu / n * 1000:>9.2f} {self.busiest * 100:>7.0f}%"
        )


@dataclass(frozen=True)
class Shape:
    """What the requests ask: topics per preview, drawn from the first `topic_range` topic
    names (those up to the project's video count were already made: duplicate checks)."""

    topics: int = 5
    topic_range: int = 300


def _params(
    endpoint: str, pid: str, rng: random.Random, shape: Shape
) -> tuple[str, dict[str, Any]]:
    if endpoint == "recommendations":
        # Topics as a pipeline sends them: some new, some already made (duplicate checks).
        topics = [f"Topic {rng.randrange(shape.topic_range)}" for _ in range(shape.topics)]
        return f"{ADMIN}/recommendations", {"project_id": pid, "n": 5, "topics": ",".join(topics)}
    return f"{ADMIN}/recipes", {"project_id": pid}


WRK_SCRIPT = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local i = 0
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests,
    e.connect + e.read + e.write + e.timeout + e.status, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def load_wrk(
    base: str,
    token: str,
    endpoint: str,
    pids: list[str],
    concurrency: int,
    seconds: float,
    seed: int,
    shape: Shape,
    server: int,
    rounds: int,
) -> list[Result]:
    """wrk (one thread, `concurrency` keep-alive connections) over 5,000 pre-drawn requests,
    `rounds` times with new connections; the latencies are wrk's own percentiles
    (microsecond resolution)."""
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="ll-bench-wrk-"))
    try:
        paths = folder / "paths.txt"
        lines = []
        for _ in range(5000):
            path, params = _params(endpoint, rng.choice(pids), rng, shape)
            lines.append(str(httpx.URL(path, params=params)))
        paths.write_text("\n".join(lines) + "\n")
        script = folder / "load.lua"
        script.write_text(WRK_SCRIPT % {"paths": paths, "token": token})

        def wrk(duration: float) -> tuple[list[int], float]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            out = subprocess.run(
                ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(duration))}s",
                 "--timeout", "30s", "-s", str(script), base],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            line = next(x for x in out.splitlines() if x.startswith("RESULT "))
            return [int(v) for v in line.split()[1:]], cpu

        wrk(2)  # warm the connections and the server's caches; not recorded
        results = []
        for _ in range(rounds):
            server_before = server_cpu_by_process(server)
            (n, errors, micros, p50, p90, p99, top), cpu = wrk(seconds)
            server_after = server_cpu_by_process(server)
            results.append(
                Result(
                    endpoint,
                    [],
                    errors,
                    micros / 1e6,
                    cpu,
                    sum(server_after.values()) - sum(server_before.values()),
                    count=n,
                    percentiles={
                        0.5: p50 / 1000,
                        0.9: p90 / 1000,
                        0.99: p99 / 1000,
                        1.0: top / 1000,
                    },
                    busiest=busiest_share(server_before, server_after),
                )
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return results


async def load(
    base: str,
    token: str,
    endpoint: str,
    pids: list[str],
    concurrency: int,
    total: int,
    seed: int,
    shape: Shape,
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
            path, params = _params(endpoint, rng.choice(pids), rng, shape)
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


def _record(backend: str, case: str, load_line: str, results: list[Result]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.common import record

    lines = [
        load_line,
        "",
        "| endpoint | round | p50 ms | p90 ms | p99 ms | max ms | req/s | server CPU ms/req "
        "| busiest worker | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_endpoint: dict[str, list[Result]] = {}
    for r in results:
        by_endpoint.setdefault(r.endpoint, []).append(r)
    for endpoint, rounds in by_endpoint.items():
        for i, r in enumerate(rounds, start=1):
            lines.append(
                f"| {endpoint} | {i} | {r.pct(0.5):.1f} | {r.pct(0.9):.1f} | {r.pct(0.99):.1f} "
                f"| {r.pct(1.0):.1f} | {r.n / r.seconds:.0f} | {r.server_cpu / r.n * 1000:.2f} "
                f"| {r.busiest * 100:.0f}% | {r.errors} |"
            )
    lines += ["", "Goal, judged on the median round's p99 (rounds differ mostly by how the"]
    lines += ["connections happened to split between the workers):", ""]
    for endpoint, rounds in by_endpoint.items():
        goal = GOALS_P99_MS.get(endpoint)
        p99 = statistics.median(r.pct(0.99) for r in rounds)
        verdict = "-" if goal is None else ("met" if p99 <= goal else "NOT met")
        errors = sum(r.errors for r in rounds)
        lines.append(
            f"- {endpoint}: median p99 {p99:.1f} ms, goal <= {goal:.0f} ms: {verdict}"
            + (f"; {errors} errors" if errors else "")
        )
    record(f"API under load (bench/api, {case} case, {backend})", "\n".join(lines))


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
    parser.add_argument("--case", choices=("small", "large"), default="small")
    parser.add_argument("--quick", action="store_true", help="20 projects, a short load")
    parser.add_argument("--projects", type=int, default=None, help="small case")
    parser.add_argument(
        "--videos", type=int, default=None, help="per project (small: 150; large: 6,000)"
    )
    parser.add_argument("--requests", type=int, default=None, help="per endpoint (httpx)")
    parser.add_argument("--seconds", type=float, default=None, help="per round (wrk)")
    parser.add_argument("--rounds", type=int, default=None, help="per endpoint (wrk; default 3)")
    parser.add_argument(
        "--client",
        choices=("wrk", "httpx"),
        default="wrk" if shutil.which("wrk") else "httpx",
        help="the load generator (default: wrk when installed)",
    )
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
    large = args.case == "large"
    projects = 1 if large else args.projects or (20 if args.quick else 1000)
    videos = args.videos or (6000 if large else 150)
    total = args.requests or (300 if args.quick else 3000)
    seconds = args.seconds or (3 if args.quick else 10)
    args.rounds = args.rounds or (1 if args.quick else 3)
    shape = Shape(topics=8, topic_range=videos) if large else Shape()

    scratch = None
    url = args.database_url
    if url is None:
        folder = args.data_dir
        if folder is None:
            folder = scratch = Path(tempfile.mkdtemp(prefix="ll-bench-"))
        folder.mkdir(parents=True, exist_ok=True)
        name = "large" if large else f"{projects}x{videos}"
        url = f"sqlite:///{(folder / f'bench-{name}.db').resolve()}"
    try:
        pids = build_large(url, videos) if large else build_dataset(url, projects, videos)
        backend = make_url(url).get_backend_name()
        load_before = os.getloadavg()[0]
        amount = (
            f"{args.rounds} rounds of {seconds:g} s per endpoint (wrk, 1 thread, new connections "
            "each round)"
            if args.client == "wrk"
            else f"{total} requests per endpoint (httpx)"
        )
        load_line = (
            f"{backend}, {len(pids):,} project{'s' if len(pids) > 1 else ''} x {videos:,} videos, "
            f"{args.concurrency} keep-alive connections from a load generator on the same "
            f"{os.cpu_count()} cores as the server, uvicorn workers={args.workers}, {amount}; "
            f"previews ask n=5 with {shape.topics} topics."
        )
        print(f"load: {load_line}")
        results = []
        with serve(url, args.workers, args.app) as (base, token, server):
            for endpoint in args.endpoints.split(","):
                if args.client == "wrk":
                    results += load_wrk(
                        base,
                        token,
                        endpoint,
                        pids,
                        args.concurrency,
                        seconds,
                        args.seed,
                        shape,
                        server,
                        args.rounds,
                    )
                    continue
                before = server_cpu_seconds(server)
                result = run(
                    load(base, token, endpoint, pids, args.concurrency, total, args.seed, shape)
                )
                # Includes the few warm-up requests: a slight overestimate.
                result.server_cpu = server_cpu_seconds(server) - before
                results.append(result)
        print(
            f"{'endpoint':<16} {'n':>6} {'errors':>6} {'p50 ms':>8} {'p90 ms':>8} "
            f"{'p99 ms':>8} {'max ms':>8} {'req/s':>9} {'client':>9} {'server':>9} {'busiest':>8}"
        )
        for result in results:
            print(result.line())
        print(
            "(client, server: CPU milliseconds per request; load average "
            f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after: figures taken while "
            "other work ran on the machine are not comparable)"
        )
        if not args.quick:
            _record(backend, args.case, load_line, results)
        return 1 if any(r.errors for r in results) else 0
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
