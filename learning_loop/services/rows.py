"""Checking the rows of import and metric files one by one: each field's rule and message.

The files themselves are read by `row_files`; whole columns of a clean chunk are checked at
once by `columns`, which falls back to these checks to name the rows at fault.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from learning_loop.domain.dates import timestamp_error
from learning_loop.errors import InvalidFile, InvalidInput, RowError

# Re-exported: the callers that read a small file whole.
from learning_loop.services.row_files import read_rows as read_rows

T = TypeVar("T")


class RowProblem(ValueError):
    """One field of one row is wrong; the message names the field."""


def parse_fields(
    row: Mapping[str, Any], parsers: Mapping[str, Callable[[Mapping[str, Any], str], Any]]
) -> dict[str, Any]:
    """Each field by its parser; a row with problems raises them all, in one RowProblem
    (every problem of a row is told at once, not the first alone)."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, parse in parsers.items():
        try:
            values[name] = parse(row, name)
        except RowProblem as exc:
            problems.append(str(exc))
    if problems:
        raise RowProblem("; ".join(problems))
    return values


def check_rows(
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    check: Callable[[Mapping[str, Any]], T],
) -> tuple[list[tuple[int, T]], list[RowError]]:
    """Run `check` on every row: the rows that passed, and a RowError for each that did not."""
    good: list[tuple[int, T]] = []
    errors: list[RowError] = []
    for line_no, row in rows:
        if not isinstance(row, Mapping):
            errors.append(RowError(line_no, "a row must be an object"))
            continue
        try:
            good.append((line_no, check(row)))
        except RowProblem as exc:
            errors.append(RowError(line_no, str(exc)))
    return good, errors


def reject_if_any(errors: list[RowError], what: str, field: str | None = None) -> None:
    """All rows or none: any error rejects the whole lot, listing every bad row in order."""
    if errors:
        raise InvalidFile(what, sorted(errors, key=lambda e: e.line), field)


def present(row: Mapping[str, Any], key: str) -> Any:
    value = row.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RowProblem(f"{key} is missing")
    return value


def text_field(row: Mapping[str, Any], key: str, max_len: int = 200) -> str:
    value = present(row, key)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise RowProblem(f"{key} must be text")
    value = str(value).strip()
    if len(value) > max_len:
        raise RowProblem(f"{key} is longer than {max_len} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise RowProblem(f"{key} contains control characters")
    if not is_encodable(value):
        raise RowProblem(f"{key} is not valid Unicode text")
    return value


def is_encodable(text: str) -> bool:
    """False for text with lone surrogates, which no database can store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def int_field(row: Mapping[str, Any], key: str, minimum: int = 0) -> int:
    value = present(row, key)
    if isinstance(value, bool):
        raise RowProblem(f"{key} must be a whole number, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise RowProblem(f"{key} must be a whole number, got {value!r}")
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise RowProblem(f"{key} must be a whole number, got {value.strip()[:40]!r}") from None
    if not isinstance(value, int):
        raise RowProblem(f"{key} must be a whole number")
    if value < minimum:
        raise RowProblem(f"{key} must be >= {minimum}, got {value}")
    if value > 2**62:
        raise RowProblem(f"{key} is too large")
    return value


def float_field(row: Mapping[str, Any], key: str) -> float:
    value = present(row, key)
    if isinstance(value, bool):
        raise RowProblem(f"{key} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise RowProblem(f"{key} must be a finite number, got {str(value)[:40]!r}") from None
    if not math.isfinite(number):
        raise RowProblem(f"{key} must be finite, got {value!r}")
    if number < 0:
        raise RowProblem(f"{key} must be >= 0, got {value!r}")
    return number


def parse_timestamp(value: Any, key: str) -> dt.datetime:
    """ISO 8601 to an aware UTC datetime; a timestamp without offset is UTC."""
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        if not isinstance(value, str):
            raise RowProblem(f"{key} must be an ISO 8601 timestamp")
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise RowProblem(f"{key} is not an ISO 8601 timestamp: {value.strip()!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    else:
        try:
            parsed = parsed.astimezone(dt.UTC)
        except OverflowError:
            raise RowProblem(f"{key} is out of range: {value!r}") from None
    problem = timestamp_error(parsed, key)
    if problem is not None:
        raise RowProblem(problem)
    return parsed


def timestamp_field(row: Mapping[str, Any], key: str) -> dt.datetime:
    return parse_timestamp(present(row, key), key)


def timestamp_input(value: str, field: str) -> dt.datetime:
    """A timestamp a person typed (a CLI option, an API body field), parsed like a row's:
    InvalidInput naming the field when it is not ISO 8601 or out of range."""
    try:
        return parse_timestamp(value, field)
    except RowProblem as exc:
        raise InvalidInput(str(exc), field) from None
