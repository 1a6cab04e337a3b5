"""How the product writes an estimate with its interval, wherever a person reads one (plan
reasons, tables, run metadata, the report). No imports: the CLI's start stays light."""

from __future__ import annotations


def interval_text(value: float | None, low: float | None, high: float | None) -> str:
    """``0.612 [0.551, 0.673]``, or ``-`` when there is no estimate."""
    if value is None or low is None or high is None:
        return "-"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"
