"""What the loop's assets record as materialization metadata, written one way."""

# Dagster reads these at definition time: no `from __future__ import annotations`.

from collections.abc import Iterable, Sequence

from dagster import MetadataValue

# Dagster's own key for the rows an asset's materialization wrote (the UI shows it).
ROW_COUNT = "dagster/row_count"


def errors_metadata(errors: Sequence[str]) -> MetadataValue:
    """A run's errors as a Markdown list, or "none" (what `shorts-engine` prints after a run)."""
    return MetadataValue.md("\n".join(f"- {e}" for e in errors) if errors else "none")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]], empty: str) -> MetadataValue:
    """A Markdown table of `rows` under `headers` (a cell's `|` escaped), or `empty` when there
    is no row."""
    lines = [
        "| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows
    ]
    if not lines:
        return MetadataValue.md(empty)
    head = "| " + " | ".join(headers) + " |\n|" + "---|" * len(headers)
    return MetadataValue.md("\n".join([head, *lines]))
