"""What the loop's assets record as materialization metadata, written one way."""

# Dagster reads these at definition time: no `from __future__ import annotations`.

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import TypeVar

from dagster import MetadataValue

from learning_loop.services.run_metadata import NONE

Key = TypeVar("Key", bound=StrEnum)
# What the loop's assets record under the keys that the commands read back.
Recorded = MetadataValue | int | float | str

# Dagster's own key for the rows an asset's materialization wrote (the UI shows it).
ROW_COUNT = "dagster/row_count"


def recorded(keys: type[Key], values: Mapping[Key, Recorded]) -> dict[str, Recorded]:
    """The metadata of an asset whose keys are `keys` (`services.run_metadata`): one value for
    each, under its plain string (Dagster stores no enum)."""
    missing = [key.value for key in keys if key not in values]
    if missing:
        raise ValueError(f"{keys.__name__}: no value for {', '.join(missing)}")
    return {key.value: value for key, value in values.items()}


def errors_metadata(errors: Sequence[str]) -> MetadataValue:
    """A run's errors as a Markdown list, or NONE (what `shorts-engine` prints after a run)."""
    return MetadataValue.md("\n".join(f"- {e}" for e in errors) if errors else NONE)


def seconds_metadata(value: float | None) -> MetadataValue:
    """A duration in seconds, or NONE."""
    return MetadataValue.float(value) if value is not None else MetadataValue.text(NONE)


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
