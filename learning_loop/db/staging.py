"""Staging tables: a file's checked rows loaded in bulk into a temporary table of the import's
transaction, then judged and copied into the product tables by set-based statements.

PostgreSQL loads with COPY (text format), SQLite with one prepared INSERT run over every row.
The table lives as long as the transaction on PostgreSQL (`ON COMMIT DROP`); on SQLite, where
a temporary table lives as long as the connection, `staged` drops it when the work is done.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    cast,
    func,
    literal_column,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

_STAGES = MetaData()
BULK_WORK_MEM = "256MB"


def temporary_table(name: str, *columns: Column[Any], unique: Sequence[str] = ()) -> Table:
    """A temporary table `name` (see `staged`), with a unique index on `unique` if given."""
    table = Table(name, _STAGES, *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
    if unique:
        Index(f"{name}_key", *(table.c[c] for c in unique), unique=True)
    return table


def stage_table(name: str, *columns: Column[Any]) -> Table:
    """A staging table `name` with a `line` column (the row's line in its file) first."""
    return temporary_table(name, Column("line", Integer, nullable=False), *columns)


@contextmanager
def staged(session: Session, table: Table) -> Iterator[Table]:
    """`table` created empty in the session's transaction, and gone afterwards."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(text(f"DROP TABLE IF EXISTS temp.{table.name}"))
    else:
        # The judging statements sort and hash a whole file's rows: in memory, not in
        # temporary files (the server's default is 4 MB), for this transaction only.
        session.execute(text(f"SET LOCAL work_mem = '{BULK_WORK_MEM}'"))
    table.create(session.connection())
    drop = text(f"DROP TABLE IF EXISTS {'temp.' if dialect == 'sqlite' else ''}{table.name}")
    try:
        yield table
    except BaseException:
        # On PostgreSQL the failed transaction's rollback takes the table with it.
        if dialect == "sqlite":
            session.execute(drop)
        raise
    # Dropped at once (not only at commit on PostgreSQL), so a transaction may stage the
    # same table again.
    session.execute(drop)


def _copy_column(values: Sequence[Any]) -> list[str]:
    """A column as COPY text cells. Text holds no control character (the checks refuse them),
    so a backslash is all that needs escaping; None is NULL."""
    if not values:
        return []
    if any(v is None for v in values):  # NULL is COPY's \N
        present = _copy_column([v for v in values if v is not None])
        cells = iter(present)
        return ["\\N" if v is None else next(cells) for v in values]
    first = values[0]
    if isinstance(first, str):
        if "\\" in "\t".join(values):  # one pass in C over the whole column
            return [v.replace("\\", "\\\\") for v in values]
        return list(values)
    if isinstance(first, float):
        return list(map(repr, values))
    if isinstance(first, dt.datetime):
        return [v.isoformat() for v in values]
    if isinstance(first, bytes):  # bytea's hex form, its backslash escaped for COPY
        return ["\\\\x" + v.hex() for v in values]
    return list(map(str, values))  # whole numbers


_QUIET = threading.Lock()
_quiet: list[Any] = []  # the stderr to put back, while some COPY runs


@contextmanager
def _driver_prints_nothing() -> Iterator[None]:
    """When a COPY's connection is lost, psycopg2 prints the error's chain on stderr itself
    (`PyErr_Print`, from its C code) before raising it: a CLI user would see 8 lines of
    traceback above the one line the CLI prints. While a COPY runs, `sys.stderr` is a sink.
    Logging handlers keep the stream they were made with, so no log line is lost; nested and
    concurrent COPYs share one swap."""
    with _QUIET:
        if not _quiet:
            _quiet.append(sys.stderr)
            sys.stderr = io.StringIO()
        _quiet.append(None)
    try:
        yield
    finally:
        with _QUIET:
            _quiet.pop()
            if len(_quiet) == 1:
                sys.stderr = _quiet.pop()


@contextmanager
def _driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    """The driver's errors of a raw cursor as SQLAlchemy's (as if SQLAlchemy had run the
    statement): a connection lost mid-COPY is then the database being unavailable (a 503, one
    CLI line), and the lost connection is dropped from the pool, not handed out again."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        lost = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, None)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            statement, None, exc, dbapi.Error, connection_invalidated=lost, dialect=conn.dialect
        ) from exc


def load(
    session: Session, table: Table, lines: Sequence[int], columns: Sequence[Sequence[Any]]
) -> None:
    """Append rows to a staging table: `lines` and then one sequence per further column, in the
    table's column order. Values are already checked and normalised (datetimes naive UTC)."""
    if not lines:
        return
    conn = session.connection()
    names = [c.name for c in table.columns]
    if conn.dialect.name == "postgresql":
        cells = [list(map(str, lines)), *(_copy_column(c) for c in columns)]
        body = "\n".join(map("\t".join, zip(*cells, strict=True))) + "\n"
        statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
        with _driver_errors(conn, statement), _driver_prints_nothing():
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.copy_expert(statement, io.StringIO(body), 1 << 20)
            finally:
                cursor.close()
        return
    dialect = conn.dialect
    processors = [
        c.type.dialect_impl(dialect).bind_processor(dialect) for c in list(table.columns)[1:]
    ]
    prepared = [
        list(map(p, values)) if p is not None else values
        for p, values in zip(processors, columns, strict=True)
    ]
    marks = ", ".join("?" * len(names))
    statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    with _driver_errors(conn, statement):
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(statement, list(zip(lines, *prepared, strict=True)))
        finally:
            cursor.close()


def ordered_uuid(dialect: str, millis: int, counter: ColumnElement[Any]) -> ColumnElement[Any]:
    """A time-ordered (version 7) UUID per row, made by the database: the 48-bit Unix time
    `millis`, then 32 bits of `counter` (a row's line, below 2**32), then 40 random bits.

    The rows of one import are thus in their file's order in every index on the id, so the
    index is written at its end instead of at random pages, and so are the lookups of the
    snapshots that follow them in the same order. Stored as the dialect stores UUIDs
    (PostgreSQL's uuid; on SQLite 32 hex digits, as SQLAlchemy's Uuid type writes)."""
    if not 0 <= millis < 1 << 48:
        raise ValueError(f"millis must be a 48-bit Unix time; got {millis}")
    # The counter's 32 bits around the version and variant bits: 12, then 2 beside the variant
    # `10`, then 18 (both databases read `>>`, `&` and `|` alike).
    c = counter.self_group()
    high = c.op(">>")(20).op("&")(0xFFF)
    variant = literal_column("8").op("|")(c.op(">>")(18).op("&")(3))
    low = c.op("&")(0x3FFFF)
    if dialect == "postgresql":
        return cast(
            func.concat(
                f"{millis:012x}7",
                func.lpad(func.to_hex(high), 3, "0"),
                func.to_hex(variant),
                func.lpad(func.to_hex(low), 5, "0"),
                func.substr(func.md5(func.random().cast(Text)), 1, 10),
            ),
            Uuid,
        )
    return func.printf(
        f"{millis:012x}7%03x%x%05x%s", high, variant, low, func.lower(func.hex(func.randomblob(5)))
    )
