"""A progress bar for long imports: rows read, rows per second and the time left, drawn on
standard error while the file is read, then "checking and writing" until the import ends.

Drawn only when both outputs are a terminal and `--json` is not given; rich is imported only
then.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from learning_loop.services.row_files import Progress


def wanted(json_output: bool) -> bool:
    return not json_output and sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def import_progress(label: str, show: bool) -> Iterator[Progress | None]:
    """A `Progress` that draws the bar (None when `show` is false)."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as ProgressBar

    bar = ProgressBar(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[rows]:>12,} rows"),
        TextColumn("{task.fields[rate]:>9,.0f} rows/s"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(label, total=None, rows=0, rate=0.0)
    start = time.perf_counter()

    def update(rows: int, done: int, size: int) -> None:
        elapsed = max(time.perf_counter() - start, 1e-6)
        described = f"{label}: checking and writing" if size and done >= size else label
        bar.update(
            task, completed=done, total=size or None, rows=rows, rate=rows / elapsed,
            description=described,
        )  # fmt: skip

    with bar:
        yield update
