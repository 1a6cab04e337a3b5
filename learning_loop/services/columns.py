"""Checking a CSV chunk a column at a time, by the same rules as the row checks (`rows`).

Each check takes a column's cells (strings) and gives its values, or None when any cell might
break a rule. None sends the chunk to the row checks, which name each bad row with its line
and reason; so a column check may be stricter than the rules, never looser. A clean chunk, the
usual case, costs a few C-level passes per column instead of a dozen Python calls per cell.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Collection, Sequence
from typing import TypeVar

from learning_loop.domain.dates import timestamp_error
from learning_loop.domain.topics import InvalidTopic, topic_hash

T = TypeVar("T")

LARGEST_WHOLE = 2**62
# What a text cell must not hold: control characters (and the C1 ones a topic refuses), and
# lone surrogates. Stricter than the text rule for C1: those cells take the row checks.
_NOT_PLAIN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def text(cells: Sequence[str], max_len: int) -> list[str] | None:
    """Stripped text: none blank, none longer than max_len, no control character."""
    values = [cell.strip() for cell in cells]
    if not values or not all(values) or max(map(len, values)) > max_len:
        return None
    if _NOT_PLAIN.search("".join(values)):
        return None
    return values


def choice(cells: Sequence[str], allowed: Collection[str]) -> list[str] | None:
    """Stripped text, each one of `allowed` (valid values of the rules, not blank)."""
    values = [cell.strip() for cell in cells]
    return values if set(values).issubset(allowed) else None


def _each(convert: Callable[[str], T], cells: Sequence[str]) -> list[T] | None:
    try:
        return list(map(convert, cells))
    except (ValueError, OverflowError):
        return None


def whole(cells: Sequence[str], minimum: int = 0, maximum: int = LARGEST_WHOLE) -> list[int] | None:
    """Whole numbers within minimum..maximum (int() takes the cell's surrounding blanks, as the
    row check's strip does)."""
    values = _each(int, cells)
    if not values or min(values) < minimum or max(values) > maximum:
        return None
    return values


def number(cells: Sequence[str]) -> list[float] | None:
    """Finite numbers >= 0."""
    values = _each(float, cells)
    if values is None or not all(0.0 <= v < math.inf for v in values):
        return None
    return values


def _utc_naive(cell: str) -> dt.datetime:
    cell = cell.strip()
    if cell.endswith("Z") and cell[10:11] == "T":
        # The common form of exported timestamps (YYYY-MM-DDThh...Z): read without its "Z",
        # it is already naive UTC, with no conversion per cell. An offset left is an error.
        parsed = dt.datetime.fromisoformat(cell[:-1])
        if parsed.tzinfo is not None:
            raise ValueError(f"two UTC offsets in {cell!r}")
        return parsed
    parsed = dt.datetime.fromisoformat(cell)
    if parsed.tzinfo is None:
        return parsed
    return parsed.astimezone(dt.UTC).replace(tzinfo=None)


def timestamp(cells: Sequence[str]) -> list[dt.datetime] | None:
    """ISO 8601 timestamps as naive UTC (as stored); without an offset a timestamp is UTC.
    None, for the row checks to name the line, when one is outside the accepted times."""
    parsed = _each(_utc_naive, cells)
    if not parsed:
        return parsed
    for moment in (min(parsed), max(parsed)):
        if timestamp_error(moment.replace(tzinfo=dt.UTC), "") is not None:
            return None
    return parsed


def topic_hashes(topics: Sequence[str]) -> list[str] | None:
    """The topic hash of each (already cleaned) topic; None when one normalises to nothing."""
    try:
        return [topic_hash(t) for t in topics]
    except InvalidTopic:
        return None


def at_most(smaller: Sequence[int], larger: Sequence[int]) -> bool:
    """Every `smaller[i] <= larger[i]`."""
    return all(map(operator.le, smaller, larger))
