"""Where rewards are kept (contract §3, "Reward history"): a bounded daily history, plus each
video's settled reward once its last evaluated date has left that history.

- `video_rewards` holds every evaluated date's rows for the newest `history_days` days (the
  dates are listed in `reward_dates`). On PostgreSQL it is partitioned by date, one partition
  per date, created on the date's first evaluation.
- Retiring an older date moves the rows of it that no newer date replaces (videos that had
  left every later window) to `video_settled_rewards`, then drops the date: a partition drop on
  PostgreSQL, a delete on SQLite. Storage so grows with the videos, not with videos x dates.
- A video's reward "as of" a date is its newest row up to that date across both tables.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import case, delete, exists, func, select, text, union_all
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased

from learning_loop.db.engine import Database
from learning_loop.db.models import (
    RecipeDailyStats,
    RewardDate,
    SettledReward,
    VideoReward,
)
from learning_loop.db.queries import BULK, REWARDS_LOCK, dialect_insert, lock_date
from learning_loop.db.reward_sql import REWARD_INSERT_COLUMNS

DEFAULT_HISTORY_DAYS = 7
# Advisory lock class for creating a date's partition (beside queries' REWARDS_LOCK etc.).
PARTITION_LOCK = 3

# The columns of a reward row, in the order the daily statement writes them.
REWARD_ROW_COLUMNS = REWARD_INSERT_COLUMNS


def partition_name(day: dt.date) -> str:
    return f"video_rewards_{day:%Y%m%d}"


def ensure_partition(db: Database, day: dt.date) -> None:
    """On PostgreSQL, create the date's partition if it does not exist yet (else nothing).

    The partition is created as a table of its own and then attached: ATTACH takes only a
    SHARE UPDATE EXCLUSIVE lock on `video_rewards`, so readers and writers of other dates are
    never blocked, where CREATE TABLE ... PARTITION OF would lock them all out.
    """
    if db.dialect != "postgresql":
        return
    name = partition_name(day)
    with db.transaction() as session:
        if session.scalar(text("SELECT to_regclass(:n)"), {"n": name}) is not None:
            return
        session.execute(
            text("SELECT pg_advisory_xact_lock(:c, :d)"),
            {"c": PARTITION_LOCK, "d": day.toordinal()},
        )
        if session.scalar(text("SELECT to_regclass(:n)"), {"n": name}) is not None:
            return  # another process created it while this one waited
        low, high = day.isoformat(), (day + dt.timedelta(days=1)).isoformat()
        session.execute(text(f"CREATE TABLE {name} (LIKE video_rewards INCLUDING DEFAULTS)"))
        # The constraint lets ATTACH skip its validation scan (the table is empty anyway).
        session.execute(
            text(
                f"ALTER TABLE {name} ADD CONSTRAINT {name}_range "
                f"CHECK (reward_date >= DATE '{low}' AND reward_date < DATE '{high}')"
            )
        )
        session.execute(
            text(
                f"ALTER TABLE video_rewards ATTACH PARTITION {name} "
                f"FOR VALUES FROM ('{low}') TO ('{high}')"
            )
        )


def register_date(session: Session, day: dt.date, now: dt.datetime) -> None:
    """Record that `video_rewards` holds `day`'s rows, computed at `now`."""
    stmt = dialect_insert(session, RewardDate.__table__).values(reward_date=day, computed_at=now)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["reward_date"], set_={"computed_at": stmt.excluded.computed_at}
        )
    )


def analyze_date(session: Session, day: dt.date) -> None:
    """Fresh planner statistics for a date just written (PostgreSQL; a fresh partition has
    none, and a plan made without them can be many times slower)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {partition_name(day)}"))


def current_rewards(
    dialect: str,
    as_of: dt.date | None = None,
    project_ids: Sequence[uuid.UUID] | None = None,
    video_ids: Sequence[uuid.UUID] | None = None,
) -> Any:
    """Each video's newest reward row (up to `as_of` when given), as a subquery with the
    columns of `video_rewards`: the daily history and the settled rewards together.

    `video_ids` (a page of videos) reads only their rows: key probes, one per held date.

    PostgreSQL walks the rows once with DISTINCT ON; elsewhere a row number per video picks
    the newest.
    """

    def rows(table: Any) -> Any:
        where = []
        if as_of is not None:
            where.append(table.reward_date <= as_of)
        if project_ids is not None:
            where.append(table.project_id.in_(list(project_ids)))
        if video_ids is not None:
            where.append(table.video_id.in_(list(video_ids)))
            if table is VideoReward:
                # The daily key leads with the date: name the held dates so each is a probe.
                where.append(table.reward_date.in_(select(RewardDate.reward_date)))
        return select(*(getattr(table, c) for c in REWARD_ROW_COLUMNS)).where(*where)

    both = union_all(rows(VideoReward), rows(SettledReward)).subquery("both_rewards")
    if dialect == "postgresql":
        return (
            select(both)
            .distinct(both.c.video_id)
            .order_by(both.c.video_id, both.c.reward_date.desc())
            .subquery("current")
        )
    order = (
        func.row_number()
        .over(partition_by=both.c.video_id, order_by=both.c.reward_date.desc())
        .label("newest_first")
    )
    numbered = select(both, order).subquery("numbered")
    return (
        select(*(numbered.c[c] for c in REWARD_ROW_COLUMNS))
        .where(numbered.c.newest_first == 1)
        .subquery("current")
    )


def newest_reward_of(video_id: Any, as_of: dt.date, field: str = "reward") -> Any:
    """A scalar expression: the reward of `video_id`'s newest row up to `as_of` (None if none);
    or that row's `field` (a reward component, say).

    Index probes (the daily history's key, the settled row's), for small sets of videos such
    as an experiment's arms.
    """
    daily = aliased(VideoReward)

    def newest_daily(column: Any) -> Any:
        # One key probe per held date, newest first (the key leads with the date).
        return (
            select(column)
            .select_from(RewardDate)
            .join(
                daily,
                (daily.reward_date == RewardDate.reward_date) & (daily.video_id == video_id),
            )
            .where(RewardDate.reward_date <= as_of)
            .order_by(RewardDate.reward_date.desc())
            .limit(1)
            .scalar_subquery()
        )

    def settled(column: Any) -> Any:
        return (
            select(column)
            .where(SettledReward.video_id == video_id, SettledReward.reward_date <= as_of)
            .scalar_subquery()
        )

    # A settled row is newer than every held date, except a date re-run later (a backfill).
    settled_is_newer = settled(SettledReward.reward_date) > func.coalesce(
        newest_daily(daily.reward_date), dt.date.min
    )
    return case(
        (settled_is_newer, settled(getattr(SettledReward, field))),
        else_=func.coalesce(
            newest_daily(getattr(daily, field)), settled(getattr(SettledReward, field))
        ),
    )


@dataclass(frozen=True)
class Retirement:
    retired: list[dt.date]
    settled_rows: int
    deferred: bool  # a lock was not granted in time; the next run retires the rest


def retire_old_dates(
    db: Database, history_days: int = DEFAULT_HISTORY_DAYS, lock_timeout_s: float = 5.0
) -> Retirement:
    """Retire the dates older than the newest `history_days` days of the daily history.

    A date is retired only if it was computed before the newest date was: a date re-run
    later (a backfill) stays until a later run, so its own stats and verdicts still read it.
    Each date goes in one transaction: settle its last rows, drop it, forget it.
    """
    if history_days < 1:
        raise ValueError("history_days must be at least 1")
    with db.read() as session:
        registered = session.execute(
            select(RewardDate.reward_date, RewardDate.computed_at).order_by(RewardDate.reward_date)
        ).all()
    if not registered:
        return Retirement([], 0, False)
    newest, newest_at = registered[-1]
    cutoff = newest - dt.timedelta(days=history_days)
    dates = [d for d, _ in registered]
    retired: list[dt.date] = []
    settled = 0
    for i, (day, computed_at) in enumerate(registered):
        if day > cutoff or computed_at > newest_at:
            continue
        try:
            settled += _retire(db, day, dates[i + 1], lock_timeout_s)
        except OperationalError:
            if db.dialect != "postgresql":
                raise
            return Retirement(retired, settled, True)  # lock timeout: readers hold the table
        retired.append(day)
    return Retirement(retired, settled, False)


def _retire(db: Database, day: dt.date, following: dt.date, lock_timeout_s: float) -> int:
    """Settle the rows of `day` that `following` (the next held date) does not replace, then
    drop `day`. Returns the number of rows settled."""
    with db.transaction() as session:
        if db.dialect == "postgresql":
            session.execute(text(f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'"))
        lock_date(session, REWARDS_LOCK, day)
        later = aliased(VideoReward)
        replaced = exists().where(
            later.reward_date == following, later.video_id == VideoReward.video_id
        )
        leaving = select(*(getattr(VideoReward, c) for c in REWARD_ROW_COLUMNS)).where(
            VideoReward.reward_date == day, ~replaced
        )
        stmt = dialect_insert(session, SettledReward.__table__).from_select(
            list(REWARD_ROW_COLUMNS), leaving
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["video_id"],
            set_={c: stmt.excluded[c] for c in REWARD_ROW_COLUMNS if c != "video_id"},
            where=SettledReward.__table__.c.reward_date < stmt.excluded.reward_date,
        )
        settled = cast(CursorResult[Any], session.execute(stmt)).rowcount or 0
        if db.dialect == "postgresql":
            session.execute(text(f"DROP TABLE IF EXISTS {partition_name(day)}"))
        else:
            session.execute(delete(VideoReward).where(VideoReward.reward_date == day), **BULK)
        session.execute(delete(RewardDate).where(RewardDate.reward_date == day), **BULK)
        session.execute(delete(RecipeDailyStats).where(RecipeDailyStats.stats_date <= day), **BULK)
        return int(settled)
