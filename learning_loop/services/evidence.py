"""A project's evidence, recipe by recipe (contract §11): every rewarded video's reward weighted
by its age, summed per recipe; read whole (`exact_evidence`) or carried from one night to the
next (`carried_evidence`, `add_history_rewards`), so a nightly run reads what changed."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Date, Float, String, bindparam, case, cast, func, literal, select, update
from sqlalchemy.orm import Session

from learning_loop.db.models import Project, SettledReward, VideoJob, VideoReward
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import chunks
from learning_loop.db.reward_history import current_rewards
from learning_loop.domain.decay import decay_weight
from learning_loop.domain.rewards import window_bounds

_LN2 = math.log(2.0)

Sums = tuple[int, float, float, float]  # videos, and the sums of weight, w*reward, w*reward^2
NO_SUMS: Sums = (0, 0.0, 0.0, 0.0)
# Per recipe, its sums: a frame indexed by the recipe's id as text (`id_text`), of these columns.
SUM_COLUMNS = ("videos", "weight", "total", "squares")


def id_text(dialect: str, value: uuid.UUID) -> str:
    """An id as the database casts it to text: the key of the frames here. Reading ids as text
    spares a nightly run the parsing of every recipe's UUID."""
    return str(value) if dialect == "postgresql" else value.hex


def as_text(column: Any) -> Any:
    """`column` (a UUID) read as text, as `id_text` writes it."""
    return cast(column, String)


def no_sums() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype=np.int64 if c == "videos" else np.float64) for c in SUM_COLUMNS}
    )


def _days_from(dialect: str, day: Any, stamp: Any) -> Any:
    """Whole days from the date of `stamp` (a timestamp column) to `day` (a date)."""
    if dialect == "postgresql":
        return day - cast(stamp, Date)
    return func.julianday(day) - func.julianday(func.date(stamp))


def _day(dialect: str, day: dt.date) -> Any:
    return literal(day, Date) if dialect == "postgresql" else literal(day.isoformat())


def age_weight(dialect: str, as_of: dt.date) -> Any:
    """A video's weight as of `as_of` (`decay.decay_weight`), in SQL over `videos` joined to
    `projects`: ``0.5 ** (age / half_life_days)``, age in whole days from its publication
    date, 1 when its project never fades evidence."""
    age = _days_from(dialect, _day(dialect, as_of), VideoJob.published_at)
    # Float throughout: an integer divisor would make PostgreSQL divide in numeric.
    return case(
        (Project.half_life_days.is_(None), literal(1.0, Float)),
        else_=func.exp(cast(age, Float) * (-_LN2) / cast(Project.half_life_days, Float)),
    )


def weighted_sums_query(
    dialect: str, as_of: dt.date, rewarded: Any, *where: Any, by: Sequence[Any] = ()
) -> Any:
    """The statement of `_weighted_sums`, grouped by recipe (its id as text) and the columns
    `by`, which come after the id: (id, *by, videos, weight, w*reward, w*reward^2)."""
    weight = age_weight(dialect, as_of)
    reward = rewarded.c.reward
    return (
        select(
            as_text(VideoJob.recipe_id),
            *by,
            func.count(),
            func.sum(weight),
            func.sum(weight * reward),
            func.sum(weight * reward * reward),
        )
        .join(rewarded, rewarded.c.video_id == VideoJob.id)
        .join(Project, Project.id == VideoJob.project_id)
        .where(VideoJob.recipe_id.is_not(None), *where)
        .group_by(VideoJob.recipe_id, *by)
    )


def _weighted_sums(
    session: Session,
    dialect: str,
    as_of: dt.date,
    rewarded: Any,
    *where: Any,
) -> pd.DataFrame:
    """Per recipe, over the videos of `rewarded` (a subquery of `video_id` and `reward`) that
    meet `where`: the videos and the sums of their weights, weighted rewards and weighted
    squared rewards, each video weighted ``0.5 ** (age / half_life_days)`` as of `as_of` (1
    when its project never fades evidence), age in whole days from its publication date."""
    stmt = weighted_sums_query(dialect, as_of, rewarded, *where)
    rows = session.execute(stmt).tuples().all()
    if not rows:
        return no_sums()
    ids, *columns = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            name: np.asarray(values, dtype=np.int64 if name == "videos" else np.float64)
            for name, values in zip(SUM_COLUMNS, columns, strict=True)
        },
        index=pd.Index(ids),
    ).fillna(0.0)


def _plus(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """The sums of two frames, recipe by recipe."""
    if b.empty:
        return a
    if a.empty:
        return b
    return a.add(b, fill_value=0).astype({"videos": np.int64})


def _age_at_least_window(dialect: str, as_of: dt.date) -> Any:
    """The video was published before the window of `as_of` (its project's own length)."""
    return _days_from(dialect, _day(dialect, as_of), VideoJob.published_at) >= Project.window_days


def exact_evidence(
    session: Session, dialect: str, as_of: dt.date, ids: Sequence[uuid.UUID]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(evidence, history part) of every recipe of the projects `ids`, read from every video:
    the evidence is over every video published by the end of `as_of` with a reward up to it
    (its newest), the history part over those published before the window of `as_of`. What
    a run computes when its projects' history sums cannot be carried forward."""
    _, end = window_bounds(as_of, 1)
    current = current_rewards(dialect, as_of, ids)
    scope = (VideoJob.project_id.in_(list(ids)), VideoJob.published_at < end)
    every = _weighted_sums(session, dialect, as_of, current, *scope)
    history = _weighted_sums(
        session, dialect, as_of, current, *scope, _age_at_least_window(dialect, as_of)
    )
    return every, history


def carried_evidence(
    session: Session,
    dialect: str,
    as_of: dt.date,
    groups: dict[tuple[dt.date, int], list[uuid.UUID]],
    stored: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(evidence, history part) as of `as_of`, carried forward from the history sums stored as
    of each project's `evidence_as_of` (`groups`: (that date, window length) -> projects):
    `stored`, those sums already weighted down to `as_of`, plus the videos that left the window
    since, plus the window itself (`as_of`'s reward rows, held). Reads what changed, never the
    whole history."""
    history = stored
    for (since, length), ids in groups.items():
        # Videos published from the first day of `since`'s window to the last day before
        # `as_of`'s: in `since`'s window, out of `as_of`'s.
        first, _ = window_bounds(since, length)
        last, _ = window_bounds(as_of, length)
        if first >= last:
            continue
        for part in chunks(ids, 10_000):
            leavers = list(
                session.scalars(
                    select(VideoJob.id).where(
                        VideoJob.project_id.in_(list(part)),
                        VideoJob.published_at >= first,
                        VideoJob.published_at < last,
                    )
                )
            )
            for videos in chunks(leavers):
                # The videos are the projects' own: no list of projects beside theirs.
                current = current_rewards(dialect, as_of, None, list(videos))
                history = _plus(history, _weighted_sums(session, dialect, as_of, current))
    scoped = [p for ids in groups.values() for p in ids]
    window = (
        select(VideoReward.video_id, VideoReward.reward)
        .where(VideoReward.reward_date == as_of, VideoReward.project_id.in_(scoped))
        .subquery("window_rewards")
    )
    # The window's videos were all published from the start of the longest window on: said to
    # the database, it reads them by (project_id, published_at), not the whole history.
    start, _ = window_bounds(as_of, max(length for _, length in groups))
    recent = (VideoJob.project_id.in_(scoped), VideoJob.published_at >= start)
    every = _plus(history, _weighted_sums(session, dialect, as_of, window, *recent))
    return every, history


def _add(a: Sums, b: Sums) -> Sums:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


def add_history_rewards(session: Session, dialect: str, video_ids: Sequence[uuid.UUID]) -> None:
    """Add the rewards just given to videos of the history (`rewards.reward_history`) to the
    history sums of their recipes, where those sums already reach past the videos (they were
    published before the window of their project's `evidence_as_of`); the next run's carried
    evidence counts the others as videos that left the window."""
    increments: dict[uuid.UUID, Sums] = {}
    for part in chunks(list(video_ids)):
        rows = session.execute(
            select(
                VideoJob.recipe_id,
                SettledReward.reward,
                _days_from(dialect, Project.evidence_as_of, VideoJob.published_at),
                Project.evidence_window_days,
                Project.evidence_half_life_days,
            )
            .join(SettledReward, SettledReward.video_id == VideoJob.id)
            .join(Project, Project.id == VideoJob.project_id)
            .where(
                VideoJob.id.in_(list(part)),
                VideoJob.recipe_id.is_not(None),
                Project.evidence_as_of.is_not(None),
            )
        ).tuples()
        for recipe_id, reward, age, length, half_life in rows:
            if age is None or length is None or age < length:
                continue
            w = float(decay_weight(float(age), half_life))
            y = float(reward)
            increments[recipe_id] = _add(
                increments.get(recipe_id, NO_SUMS), (1, w, w * y, w * y * y)
            )
    if increments:
        recipes = RecipeRow.__table__.c
        session.connection().execute(
            update(RecipeRow.__table__)
            .where(recipes.id == bindparam("rid"))
            .values(
                history_videos=recipes.history_videos + bindparam("n"),
                history_weight=recipes.history_weight + bindparam("w"),
                history_sum=recipes.history_sum + bindparam("s"),
                history_sumsq=recipes.history_sumsq + bindparam("q"),
            ),
            [
                {"rid": rid, "n": n, "w": w, "s": s_, "q": q}
                for rid, (n, w, s_, q) in increments.items()
            ],
        )
