"""The daily reward computation (contract §3): window reads, percentiles and rewards, bulk
writes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import Date, delete, func, literal, or_, select, text
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import (
    MetricSnapshot,
    Project,
    RewardBacklog,
    RewardDate,
    SettledReward,
    VideoJob,
    VideoReward,
)
from learning_loop.db.queries import BULK, REWARDS_LOCK, chunks, dialect_insert, lock_date
from learning_loop.db.reward_history import (
    DEFAULT_HISTORY_DAYS,
    analyze_date,
    ensure_partition,
    register_date,
    retire_old_dates,
)
from learning_loop.db.reward_sql import (
    REWARD_INSERT_COLUMNS,
    complete_snapshot,
    window_rewards_select,
)
from learning_loop.domain.rewards import window_bounds
from learning_loop.services.evidence import add_history_rewards

REWARD_COLUMNS = (
    "engagement",
    "pct_avg_view_duration",
    "pct_views_6h",
    "pct_engagement",
    "reward",
)


class RewardsResult(BaseModel):
    as_of: dt.date
    projects: int
    videos_rewarded: int
    per_project: dict[str, int]
    # Dates that left the daily history during this run (reward history, contract §3).
    retired_dates: list[dt.date] = []
    settled_rewards: int = 0
    # Videos older than the window that got their reward this run (contract §3, history).
    history_rewarded: int = 0


def select_projects(session: Session, project_ids: Sequence[uuid.UUID] | None) -> list[Project]:
    stmt = select(Project).order_by(Project.id)
    if project_ids is not None:
        stmt = stmt.where(Project.id.in_(list(project_ids)))
    return list(session.scalars(stmt))


def window_counts(
    session: Session, projects: Sequence[Project], as_of: dt.date
) -> dict[uuid.UUID, int]:
    """Per project, the videos of the window of `as_of` that have a snapshot by its end."""
    counts: dict[uuid.UUID, int] = {}
    by_length: dict[int, list[uuid.UUID]] = {}
    for p in projects:
        by_length.setdefault(p.window_days, []).append(p.id)
    for length, ids in by_length.items():
        start, end = window_bounds(as_of, length)
        measured = (
            select(MetricSnapshot.id)
            .where(
                MetricSnapshot.video_id == VideoJob.id,
                MetricSnapshot.captured_at < end,
                complete_snapshot(),
            )
            .exists()
        )
        for part in chunks(ids, 10_000):
            counts.update(
                session.execute(
                    select(VideoJob.project_id, func.count())
                    .where(
                        VideoJob.project_id.in_(part),
                        VideoJob.published_at >= start,
                        VideoJob.published_at < end,
                        measured,
                    )
                    .group_by(VideoJob.project_id)
                )
                .tuples()
                .all()
            )
    return counts


@dataclass(frozen=True)
class WindowSummary:
    """The reward windows of a date: how many projects were looked at, videos per project."""

    projects: int
    videos_per_project: dict[uuid.UUID, int]


def window_summary(
    db: Database, as_of: dt.date, project_ids: Sequence[uuid.UUID] | None = None
) -> WindowSummary:
    with db.read() as session:
        projects = select_projects(session, project_ids)
        return WindowSummary(len(projects), window_counts(session, projects, as_of))


def compute_rewards_for_date(
    db: Database,
    as_of: dt.date,
    project_ids: Sequence[uuid.UUID] | None = None,
    history_days: int = DEFAULT_HISTORY_DAYS,
) -> RewardsResult:
    """Recompute and store the reward of every video in each project's window of `as_of`,
    then retire the dates older than the newest `history_days` days of daily history.

    The work happens in the database (one INSERT ... SELECT per window length, see
    `db.reward_sql`). The date's rows are replaced whole, so re-running a date gives identical
    rows.
    """
    ensure_partition(db, as_of)
    with db.transaction() as session:
        lock_date(session, REWARDS_LOCK, as_of)
        projects = select_projects(session, project_ids)
        ids = [p.id for p in projects]
        stale = delete(VideoReward).where(VideoReward.reward_date == as_of)
        if project_ids is not None:
            stale = stale.where(VideoReward.project_id.in_(ids))
        session.execute(stale, **BULK)
        by_length: dict[int, list[uuid.UUID]] = {}
        for p in projects:
            by_length.setdefault(p.window_days, []).append(p.id)
        table = VideoReward.__table__
        if db.dialect == "postgresql":
            # The window sorts spill to disk with the default 4 MB.
            session.execute(text("SET LOCAL work_mem = '64MB'"))
        everyone = project_ids is None and len(by_length) == 1
        for length, group in by_length.items():
            start, end = window_bounds(as_of, length)
            parts: list[Sequence[uuid.UUID] | None] = (
                [None] if everyone else list(chunks(group, 10_000))
            )
            for part in parts:
                session.execute(
                    table.insert().from_select(
                        REWARD_INSERT_COLUMNS,
                        window_rewards_select(db.dialect, part, as_of, start, end),
                    )
                )
        history = 0
        for length, group in by_length.items():
            for part in [None] if everyone else list(chunks(group, 10_000)):
                history += reward_history(session, db.dialect, as_of, length, part)
        register_date(session, as_of, dt.datetime.now(dt.UTC))
        analyze_date(session, as_of)
        counted = (
            select(VideoReward.project_id, func.count())
            .where(VideoReward.reward_date == as_of)
            .group_by(VideoReward.project_id)
        )
        if project_ids is not None:
            counted = counted.where(VideoReward.project_id.in_(ids))
        per_project = dict(session.execute(counted).tuples().all())
        n_projects = len(projects)
    retirement = retire_old_dates(db, history_days)
    return RewardsResult(
        as_of=as_of,
        projects=n_projects,
        videos_rewarded=sum(per_project.values()),
        per_project={str(k): int(v) for k, v in per_project.items()},
        retired_dates=retirement.retired,
        settled_rewards=retirement.settled_rows,
        history_rewarded=history,
    )


def reward_history(
    session: Session,
    dialect: str,
    as_of: dt.date,
    length: int,
    project_ids: Sequence[uuid.UUID] | None,
) -> int:
    """Give every video published before the window of `as_of` that has a snapshot by its end
    and no reward yet the reward of its own window (contract §11, history): the last window of
    `length` days that holds it, the one of the date ``published date + length - 1``, with each
    video of that window measured by its latest snapshot up to the end of `as_of`. The reward
    is settled (`video_settled_rewards`), dated with that window's date. Returns the videos
    rewarded.

    The videos looked at are those of the reward backlog (measured since they were last
    looked at: ingests write it), so a run's cost follows what was ingested, never the
    history's length. A video that has a reward leaves the backlog; one still waiting (no
    snapshot known by `as_of`, or published after it) stays.
    """
    start, end = window_bounds(as_of, length)
    held = select(RewardDate.reward_date).union(select(literal(as_of, Date)))
    rewarded = or_(
        select(SettledReward.video_id).where(SettledReward.video_id == VideoJob.id).exists(),
        select(VideoReward.video_id)
        .where(VideoReward.video_id == VideoJob.id, VideoReward.reward_date.in_(held))
        .exists(),
    )
    measured = (
        select(MetricSnapshot.id)
        .where(
            MetricSnapshot.video_id == VideoJob.id,
            MetricSnapshot.captured_at < end,
            complete_snapshot(),
        )
        .exists()
    )
    candidates = select(VideoJob.id, VideoJob.published_at, rewarded, measured).join(
        RewardBacklog, RewardBacklog.video_id == VideoJob.id
    )
    if project_ids is not None:
        candidates = candidates.where(RewardBacklog.project_id.in_(list(project_ids)))
    done: list[uuid.UUID] = []
    days: dict[dt.date, list[uuid.UUID]] = {}
    for video_id, published_at, has_reward, has_snapshot in session.execute(candidates):
        if has_reward:
            done.append(video_id)
        elif (
            has_snapshot and published_at is not None and published_at.replace(tzinfo=None) < start
        ):
            days.setdefault(published_at.date(), []).append(video_id)
    table = SettledReward.__table__
    written: list[uuid.UUID] = []
    for day in sorted(days):
        anchor = day + dt.timedelta(days=length - 1)
        own_start, own_end = window_bounds(anchor, length)
        for part in chunks(days[day]):
            rows = window_rewards_select(
                dialect, project_ids, anchor, own_start, own_end, measured_by=end
            ).subquery("own_window")
            chosen = select(*(rows.c[c] for c in REWARD_INSERT_COLUMNS)).where(
                rows.c.video_id.in_(list(part))
            )
            stmt = dialect_insert(session, table).from_select(list(REWARD_INSERT_COLUMNS), chosen)
            # Only the rows written here count: a concurrent run of another date may have
            # given some of these videos their reward first.
            inserted = session.execute(
                stmt.on_conflict_do_nothing(index_elements=["video_id"]).returning(table.c.video_id)
            )
            written.extend(inserted.scalars())
    add_history_rewards(session, dialect, written)
    for part in chunks(done + written):
        session.execute(delete(RewardBacklog).where(RewardBacklog.video_id.in_(list(part))), **BULK)
    return len(written)
