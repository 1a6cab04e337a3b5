"""Ids a person can type (issue #29, point 2; contract §14): the short form a table shows, and
what a command takes for an id. Only the standard library: the CLI's start stays light.

Tables show an id by its short form, `…` and its last 8 hex digits: the ids of one import are
time-ordered and share their first digits, so only their ends tell rows apart. Where the CLI
takes an id it also takes a unique start or end of one (4 to 31 hex digits; a leading `…`, as
the tables print it, is ignored); `services.refs` looks it up.
"""

from __future__ import annotations

import string
import uuid

SHORT_ID_DIGITS = 8
MIN_DIGITS = 4
_HEX = frozenset(string.hexdigits.lower())


def short_id(value: uuid.UUID | str | None) -> str | None:
    """The short form of an id in a table: `…` and its last 8 hex digits."""
    if value is None:
        return None
    return "…" + str(value).replace("-", "")[-SHORT_ID_DIGITS:]


def parse_ref(ref: str) -> uuid.UUID | str:
    """A full id, or the lower-case hex digits of a start or end of one; ValueError otherwise."""
    try:
        return uuid.UUID(ref.strip())
    except ValueError:
        pass
    digits = ref.strip().lstrip("…").removeprefix("...").replace("-", "").lower()
    if MIN_DIGITS <= len(digits) < 32 and set(digits) <= _HEX:
        return digits
    raise ValueError(
        f"{ref!r} is not an id, nor the start or end of one ({MIN_DIGITS} to 31 hex digits)"
    )
