"""What the loop's assets record as materialization metadata, written one way."""

# Dagster reads these at definition time: no `from __future__ import annotations`.

from collections.abc import Sequence

from dagster import MetadataValue


def errors_metadata(errors: Sequence[str]) -> MetadataValue:
    """A run's errors as a Markdown list, or "none" (what `shorts-engine` prints after a run)."""
    return MetadataValue.md("\n".join(f"- {e}" for e in errors) if errors else "none")
