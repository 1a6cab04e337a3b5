"""Video plans of 50 jobs against the fake chat-completions server with a fixed 200 ms latency.

    python -m bench.video_plans            # SQLite and PostgreSQL, concurrency 4, 8 and 16
    python -m bench.video_plans --quick    # 10 jobs, 20 ms, concurrency 8, SQLite (CI)

A project with the `openai` backend plans a batch of 50 (its jobs start `pending`); each timed
call is `make_video_plans` in process, what the `video_plans` asset runs: read the due jobs, ask
the server for each plan with at most K requests in flight, validate, write each plan as it
comes. The server (learning_loop_tests.fake_llm) answers every request with a valid plan after
the latency, and counts the requests in flight on its side. Goal: 50 plans under 3 s at the
default concurrency (LEARNING_LOOP_PLAN_CONCURRENCY, 8).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import record
from bench.deployment import drop_database, fresh_database
from learning_loop.db.engine import Database, make_engine, upgrade
from learning_loop.domain.statuses import PlannerBackend
from learning_loop.services.planning import plan_and_write
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.video_plans import make_video_plans
from learning_loop.settings import Settings
from learning_loop_tests.fake_llm import fake_llm_server

GOAL_S = 3.0
DEFAULT_CONCURRENCY = Settings.model_fields["plan_concurrency"].default


def measure(kind: str, workdir: Path, jobs: int, latency_s: float, concurrency: int) -> dict:
    url = fresh_database(kind, workdir, f"ll_bench_video_plans_{concurrency}")
    engine = make_engine(url)
    upgrade(engine)
    db = Database(engine)
    try:
        with fake_llm_server() as llm:
            llm.script = [("plan",)]
            llm.delay_s = latency_s
            os.environ["LEARNING_LOOP_LLM_BASE_URL"] = llm.url
            os.environ["LEARNING_LOOP_LLM_MODEL"] = "bench-model"
            settings = ProjectSettings(planner_backend=PlannerBackend.OPENAI)
            pid = create_project(db, "bench", settings).id
            plan_and_write(db, pid, jobs, [f"bench topic {i}" for i in range(jobs)], seed=1)
            start = time.perf_counter()
            result = make_video_plans(db, pid, concurrency=concurrency)
            seconds = time.perf_counter() - start
            assert result.made == jobs, result
            return {
                "seconds": seconds,
                "server_in_flight": llm.max_in_flight,
                "median": result.latency_median_s or 0.0,
                "p95": result.latency_p95_s or 0.0,
            }
    finally:
        db.dispose()
        drop_database(kind, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--databases", nargs="*", default=None)
    args = parser.parse_args()
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(var, None)
    if args.quick:
        jobs, latency, levels = 10, 0.02, [DEFAULT_CONCURRENCY]
        kinds = args.databases or ["sqlite"]
    else:
        jobs, latency, levels = 50, 0.2, [4, DEFAULT_CONCURRENCY, 16]
        kinds = args.databases or ["sqlite", "postgresql"]
    lines = [
        f"{jobs} jobs of a batch planned with the `openai` backend; the fake server answers each "
        f"request with a valid plan after {latency * 1000:.0f} ms. Time of one `make_video_plans` "
        "(what the `video_plans` asset runs): read, plan, validate, write each plan.",
        "",
        "| database | concurrency | seconds | most requests in flight (server) | "
        "request latency median / p95 s | goal |",
        "|---|---|---|---|---|---|",
    ]
    workdir = Path(tempfile.mkdtemp(prefix="ll_bench_"))
    times = []
    try:
        for kind in kinds:
            for k in levels:
                r = measure(kind, workdir, jobs, latency, k)
                goal = ""
                if k == DEFAULT_CONCURRENCY:
                    times.append(r["seconds"])
                    goal = f"< {GOAL_S:g} s: {'met' if r['seconds'] < GOAL_S else 'NOT met'}"
                lines.append(
                    f"| {kind} | {k} | {r['seconds']:.2f} | {r['server_in_flight']} | "
                    f"{r['median']:.3f} / {r['p95']:.3f} | {goal} |"
                )
                print(lines[-1], flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lines += [
        "",
        f"At the default concurrency ({DEFAULT_CONCURRENCY}): {statistics.median(times):.2f} s "
        f"for {jobs} plans (the floor is ceil({jobs}/{DEFAULT_CONCURRENCY}) x "
        f"{latency:g} s = {-(-jobs // DEFAULT_CONCURRENCY) * latency:.2f} s).",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        record("Video plans (bench.video_plans)", text)


if __name__ == "__main__":
    main()
