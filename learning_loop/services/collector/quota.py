"""The deployment's daily quota ledger of platform calls, one row a quota day: a pass reserves
the calls it needs, then gives back what it did not spend."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from learning_loop.collector.youtube import PLATFORM
from learning_loop.db.engine import Database
from learning_loop.db.models import PlatformQuota
from learning_loop.db.queries import dialect_insert

# The platform's quota day: YouTube's quota resets at midnight, Pacific time.
QUOTA_DAY_ZONE = zoneinfo.ZoneInfo("America/Los_Angeles")


def quota_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(QUOTA_DAY_ZONE).date()


def _ledger(session: Session, day: dt.date) -> PlatformQuota:
    insert = dialect_insert(session, PlatformQuota.__table__).values(
        platform=PLATFORM, day=day, units=0
    )
    session.execute(insert.on_conflict_do_nothing(index_elements=["platform", "day"]))
    return session.execute(
        select(PlatformQuota)
        .where(PlatformQuota.platform == PLATFORM, PlatformQuota.day == day)
        .with_for_update()
    ).scalar_one()


def spend(session: Session, day: dt.date, units: int) -> None:
    _ledger(session, day).units += units


def reserve(db: Database, day: dt.date, want: int, budget: int) -> int:
    """Take up to `want` units of the day's budget; the units granted."""
    if want <= 0:
        return 0
    with db.transaction() as session:
        row = _ledger(session, day)
        grant = max(0, min(want, budget - row.units))
        row.units += grant
    return grant


def settle(db: Database, day: dt.date, unused: int, exhausted: bool, budget: int) -> None:
    """Give back the units a pass reserved and did not spend; a platform that answered
    `quotaExceeded` closes the day's ledger."""
    if unused <= 0 and not exhausted:
        return
    with db.transaction() as session:
        row = _ledger(session, day)
        row.units = max(row.units - unused, 0) if not exhausted else max(row.units, budget)


def quota_used(db: Database, day: dt.date) -> int:
    with db.read() as session:
        units = session.execute(
            select(PlatformQuota.units).where(
                PlatformQuota.platform == PLATFORM, PlatformQuota.day == day
            )
        ).scalar()
    return int(units or 0)
