"""The path every import shares: its rows checked a chunk at a time and staged, then judged
by set-based statements over the staging table, then written by one INSERT ... SELECT; any
bad row rejects them all (the caller's transaction writes nothing).

What differs between the imports (the staging table, the chunk checks, the key, the stored
rows to compare with, the statement that writes) is a `Load`; `load_rows` runs it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, Table, and_, func, select
from sqlalchemy.engine import CursorResult, Row
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from learning_loop.db.queries import lock_project_imports
from learning_loop.db.staging import load, staged
from learning_loop.errors import RowError
from learning_loop.services.row_files import Chunk, CsvChunk, Progress, RowFile, row_chunks
from learning_loop.services.rows import check_rows, reject_if_any

# What an import reads: a file (in chunks), or rows already in memory (an API request's body).
Rows = RowFile | Iterable[tuple[int, Mapping[str, Any]]]
# A checked chunk: its rows' lines, and its values one list per staged column.
Checked = tuple[list[int], list[list[Any]]]
# Checks a chunk: its good rows as staged columns (None if none), and its bad rows' errors.
Checker = Callable[[Chunk], tuple[Checked | None, list[RowError]]]
# The reason of a row a judging statement found.
Reason = Callable[[Row[Any]], str]


@dataclass
class _Reading:
    """The rows of an import as chunks, with the form errors of a file raised at the end."""

    rows: Rows
    progress: Progress | None

    def chunks(self) -> Iterable[Chunk]:
        source = self.rows
        if not isinstance(source, RowFile):
            yield from row_chunks(source)
            return
        done = 0
        for chunk in source:
            yield chunk
            done += len(chunk)
            if self.progress is not None:
                self.progress(done, source.bytes_read, source.size)
        source.raise_form_errors()


@dataclass(frozen=True)
class Load:
    """What one kind of import stages, and how its rows are checked, judged and written.

    Each statement takes the staging table. The rows are judged in this order, the first
    failure being a row's error: `unknown` (rows refused before anything else, e.g. the
    snapshot of an unknown video), then a `key` repeated on an earlier line, then `stored`:
    (line, same, ...) of each row whose key is stored, unchanged when `same` is 1, else
    refused by `differs`.
    """

    stage: Table
    # A clean CSV chunk's staged columns, or None if a row may be bad.
    by_columns: Callable[[CsvChunk], list[list[Any]] | None]
    # A row's checked value (RowProblem names its faults), and that value's staged columns.
    by_row: Callable[[Mapping[str, Any]], Any]
    staged: Callable[[Any], Sequence[Any]]
    key: tuple[str, ...]
    repeats: Callable[[Row[Any], int], str]
    stored: Callable[[Table], Select[Any]]
    differs: Reason
    write: Callable[[Table], Executable]
    # The file's field that its errors name.
    field: str
    unknown: tuple[Callable[[Table], Select[Any]], Reason] | None = None
    # A repeated row is compared with the stored one too (each of its errors told).
    compare_repeats: bool = False
    # Runs once the rows are written, while the staging table still exists.
    then: Callable[[Table], Executable] | None = None


@dataclass(frozen=True)
class Loaded:
    rows: int
    written: int
    unchanged: int


def load_rows(
    session: Session,
    project_id: uuid.UUID,
    rows: Rows,
    what: str,
    progress: Progress | None,
    plan: Load,
) -> Loaded:
    """Run `plan` over `rows` in the caller's transaction, under the project's import lock;
    InvalidFile, and nothing written, on any bad row."""
    lock_project_imports(session, project_id)
    with staged(session, plan.stage) as stage:
        count, errors = _stage_checked(session, stage, _Reading(rows, progress), _checker(plan))
        refused: set[int] = set()
        if plan.unknown is not None:
            query, reason = plan.unknown
            for row in session.execute(query(stage)):
                refused.add(row.line)
                errors.append(RowError(row.line, reason(row)))
        repeated: set[int] = set()
        first: dict[tuple[Any, ...], int] = {}
        for row in session.execute(_repeated(stage, *plan.key)):
            if row.line in refused:
                continue
            key = tuple(getattr(row, k) for k in plan.key)
            if key in first:
                repeated.add(row.line)
                errors.append(RowError(row.line, plan.repeats(row, first[key])))
            else:
                first[key] = row.line
        if not plan.compare_repeats:
            refused |= repeated
        unchanged = 0
        for row in session.execute(plan.stored(stage)):
            if row.line in refused:
                continue
            if row.same:
                unchanged += 1
            else:
                errors.append(RowError(row.line, plan.differs(row)))
        reject_if_any(errors, what, plan.field)
        written = _written(session, plan.write(stage))
        if plan.then is not None:
            session.execute(plan.then(stage))
    return Loaded(rows=count, written=written, unchanged=unchanged)


def _stage_checked(
    session: Session, stage: Table, reading: _Reading, check: Checker
) -> tuple[int, list[RowError]]:
    """Check every chunk and load its good rows into `stage`: the rows staged, and the errors."""
    errors: list[RowError] = []
    staged_rows = 0
    for chunk in reading.chunks():
        checked, chunk_errors = check(chunk)
        errors.extend(chunk_errors)
        if checked is not None:
            lines, values = checked
            load(session, stage, lines, values)
            staged_rows += len(lines)
    return staged_rows, errors


def _repeated(stage: Table, *key: str) -> Select[Any]:
    """The rows of `stage` whose `key` is on more than one row, in the file's order."""
    keys = [stage.c[k] for k in key]
    twice = select(*keys).group_by(*keys).having(func.count() > 1).subquery("twice")
    return (
        select(stage)
        .join(twice, and_(*(stage.c[k] == twice.c[k] for k in key)))
        .order_by(stage.c.line)
    )


def _written(session: Session, statement: Executable) -> int:
    """How many rows an INSERT ... SELECT wrote."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount or 0


def _checker(plan: Load) -> Checker:
    """A CSV chunk checked a column at a time; a chunk in which a row may be bad, and rows
    given as objects, checked row by row (naming each bad row); the good rows as columns."""
    width = len(plan.stage.columns) - 1

    def check(chunk: Chunk) -> tuple[Checked | None, list[RowError]]:
        if isinstance(chunk, CsvChunk):
            values = plan.by_columns(chunk)
            if values is not None:
                return (chunk.lines, values), []
        good, errors = check_rows(chunk.rows(), plan.by_row)
        rows = [plan.staged(value) for _, value in good]
        columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]
        return ([line for line, _ in good], columns), errors

    return check


def naive(moment: dt.datetime) -> dt.datetime:
    """An aware UTC datetime as stored (naive UTC)."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None)
