"""The CLI's start: wall time of `shorts-engine --help` and `shorts-engine projects list`.

    python -m bench.cli_start                         # 5 runs of each, embedded SQLite
    python -m bench.cli_start --database-url URL      # and the same on that database
    python -m bench.cli_start --quick                 # 1 run of each (CI), records nothing

Each run is a new process, as a user starts it (the console script of this environment), with
a fresh `LEARNING_LOOP_HOME` (SQLite default) and no project: what is timed is Python's start,
the imports and, for `projects list`, opening the database and one query. Untimed first runs
create the schema (`projects list` on SQLite; `shorts-engine db upgrade` on `--database-url`,
so that database must be one the benchmark may migrate) and warm the file cache. Our own
modules are byte-compiled first, as `make setup` does for the environment. Goals (issue 17):
median `--help` under 0.3 s and `projects list` under 0.5 s.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import record
from learning_loop_tests.processes import BIN, ROOT, clean_env

COMMANDS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("--help", ("--help",), 0.3),
    ("projects list", ("projects", "list"), 0.5),
)
PROGRAM = BIN / "shorts-engine"
TOP_IMPORTS = 8


def run(args: tuple[str, ...], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of `shorts-engine ARGS`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [str(PROGRAM), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, f"shorts-engine {' '.join(args)} failed: {done.stderr}"
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, cpu


def top_imports(args: tuple[str, ...], env: dict[str, str], cwd: Path) -> list[tuple[float, str]]:
    """The top-level imports of one run of the command, longest first (`-X importtime`)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(PROGRAM), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        if not cumulative.strip().isdigit():  # the heading
            continue
        if name.startswith(" ") and not name.startswith("  "):  # imported by the command itself
            found.append((int(cumulative) / 1e6, name.strip()))
    return sorted(found, reverse=True)[:TOP_IMPORTS]


def measure(label: str, url: str | None, repeat: int, workdir: Path) -> tuple[list[str], list[str]]:
    """Time each command on one database; the table rows and the goal lines."""
    home = workdir / f"home-{label}"
    extra = {"LEARNING_LOOP_HOME": str(home)}
    if url is not None:
        extra["LEARNING_LOOP_DATABASE_URL"] = url
    env = clean_env(**extra)
    if url is not None:
        run(("db", "upgrade"), env, workdir)
    rows, goals = [], []
    for name, args, goal in COMMANDS:
        run(args, env, workdir)  # untimed: creates the schema, warms the file cache
        measured = [run(args, env, workdir) for _ in range(repeat)]
        times = [wall for wall, _cpu in measured]
        median = statistics.median(times)
        cpu = statistics.median(cpu for _wall, cpu in measured)
        verdict = "met" if median < goal else "NOT met"
        print(f"{label:10s} {name:14s} median {median:.3f} s  worst {max(times):.3f} s  "
              f"CPU {cpu:.3f} s  (goal < {goal} s: {verdict})")  # fmt: skip
        for seconds, module in top_imports(args, env, workdir):
            print(f"{'':27s}import {module} {seconds:.3f} s")
        rows.append(
            f"| {label} | `shorts-engine {name}` | {median:.3f} s | {max(times):.3f} s "
            f"| {cpu:.3f} s |"
        )
        goals.append(f"- `{name}` on {label} under {goal} s: {median:.3f} s, {verdict}")
    return rows, goals


EXPLAINED = """\
What each start imports (docs/decisions.md, "CLI start"): the CLI module loads Typer and the
commands' signatures only; the services, SQLAlchemy, pydantic and the settings come with the
first command that opens the database, Rich with a table or the help, Dagster with a run,
NumPy and pandas with the demo and the simulator. `--help` is Python's start, Typer and its
Rich help. `projects list` adds SQLAlchemy, the models, the services' views and one query;
a database already at the head is recognised without importing Alembic."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each command")
    parser.add_argument(
        "--database-url",
        help="also time against this database (migrated with `shorts-engine db upgrade`)",
    )
    args = parser.parse_args()
    repeat = 1 if args.quick else 5
    load = os.getloadavg()[0]
    compileall.compile_dir(ROOT / "learning_loop", quiet=1)
    compileall.compile_dir(ROOT / "api", quiet=1)
    targets: list[tuple[str, str | None]] = [("sqlite", None)]
    if args.database_url:
        kind = "postgresql" if args.database_url.startswith("postgres") else "given"
        targets.append((kind, args.database_url))
    table: list[str] = []
    goals: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ll-bench-cli-") as tmp:
        for label, url in targets:
            rows, met = measure(label, url, repeat, Path(tmp))
            table += rows
            goals += met
    if not args.quick:
        record(
            "CLI start (bench.cli_start)",
            f"Wall time of a new process, median and worst of {repeat} runs after an untimed "
            "one, fresh `LEARNING_LOOP_HOME`, no project; CPU is the process's user + system "
            "time, which other work on the machine inflates less (load average "
            f"{load:.2f} at the start).\n\n"
            "| database | command | median | worst | CPU (median) |\n|---|---|---|---|---|\n"
            + "\n".join(table)
            + "\n\n"
            + "\n".join(goals)
            + "\n\n"
            + EXPLAINED,
        )


if __name__ == "__main__":
    main()
