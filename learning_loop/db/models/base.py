"""What every product table shares: the naming of constraints, the column types (UTC timestamps,
enumerations) and the declarative base."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    MetaData,
    String,
    Table,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def one_of(column: str, enum: type[StrEnum]) -> CheckConstraint:
    """The column holds one of the enumeration's values (named ck_<table>_<column>)."""
    allowed = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC on every backend and hands back aware UTC datetimes.

    SQLite has no time zones and PostgreSQL's `timestamptz` converts on the session's zone;
    naive UTC in the column keeps both identical and comparisons exact.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


E = TypeVar("E", bound=StrEnum)


class Stated(TypeDecorator[E]):
    """A column of an enumeration's values: stored as its text, read back as the member.

    A status is written as a member (or its text, checked on the way in) and read as a member,
    so no caller rebuilds one from a string; the CHECK constraint (`one_of`) keeps the database
    to the same list.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Any) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> E | None:
        return None if value is None else self.enum(value)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # Every model maps one Table (DeclarativeBase types it as any FromClause).
        __table__: ClassVar[Table]
