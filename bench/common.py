"""What the benchmarks share: machine facts, peak memory, and the RESULTS.md sections."""

from __future__ import annotations

import datetime as dt
import os
import re
import resource
import shlex
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = (
    "# Benchmark results\n\nEach section is written by the benchmark named in its heading, with "
    "the command that produced it, the machine's cores and the date. Re-run with `make bench`.\n"
)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def command_line() -> str:
    """The command as typed: `python -m bench.x …` or `python bench/…/x.py …`."""
    args = " ".join(shlex.quote(a) for a in sys.argv[1:])
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None:
        return f"python -m {spec.name} {args}".strip()
    script = Path(sys.argv[0]).resolve()
    root = Path(__file__).resolve().parent.parent
    shown = script.relative_to(root) if script.is_relative_to(root) else script.name
    return f"python {shown} {args}".strip()


def machine_line() -> str:
    return f"{os.cpu_count()} cores, {dt.datetime.now(dt.UTC):%Y-%m-%d}"


def record(section: str, body: str) -> None:
    """Replace (or add) this benchmark's section of RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    block = (
        f"<!-- {section} -->\n## {section}\n\n`{command_line()}` ({machine_line()})\n\n"
        f"{body.strip()}\n<!-- /{section} -->\n"
    )
    pattern = re.compile(rf"<!-- {re.escape(section)} -->.*?<!-- /{re.escape(section)} -->\n", re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text + "\n" + block
    RESULTS.write_text(text)


@contextmanager
def timed(results: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    results[name] = time.perf_counter() - start
