"""The daily reward computed inside the database: one INSERT ... SELECT per window length.

It reproduces `domain.rewards.compute_rewards` to the bit: the mid-rank percentile is
`(2 * less + equal) / (2 * N)` with an exact integer numerator and one floating division,
engagement is one floating division, and the reward is summed left to right. Moving the work to
the database avoids shipping every window row to Python and back (contract §3; bench/).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, func, literal, select
from sqlalchemy.sql import Select

from learning_loop.db.models import MetricSnapshot, Project, VideoJob


def complete_snapshot() -> ColumnElement[bool]:
    """A snapshot that knows every input of the reward: the collector's polls before the
    6-hour mark, or waiting for the platform's analytics, do not (contract §12)."""
    return and_(
        MetricSnapshot.views_6h.is_not(None), MetricSnapshot.avg_view_duration_s.is_not(None)
    )


def _pct(rank: Any, at_most: Any, n: Any) -> Any:
    # rank = less + 1 and, with the default frame (peers included), count = less + equal:
    # rank + count - 1 = 2 * less + equal, exact in integers.
    return cast(rank + at_most - 1, Float) / cast(2 * n, Float)


def _latest_snapshots(
    dialect: str, project_ids: Sequence[uuid.UUID] | None, start: dt.datetime, end: dt.datetime
) -> Any:
    """Each window video's latest complete snapshot captured before `end` (the window's end,
    or for a video of the history, the end of the evaluated date).

    A snapshot is never captured before its video's publication (ingest refuses it), so the
    snapshots of videos published at or after `start` are all captured at or after it: the
    lower bound keeps the search to the window's snapshots, whatever the history's length.
    """
    cols = (
        MetricSnapshot.video_id,
        MetricSnapshot.views,
        MetricSnapshot.views_6h,
        MetricSnapshot.avg_view_duration_s,
        MetricSnapshot.likes,
        MetricSnapshot.comments,
    )
    where = [
        MetricSnapshot.captured_at >= start,
        MetricSnapshot.captured_at < end,
        complete_snapshot(),
    ]
    if project_ids is not None:
        where.append(MetricSnapshot.project_id.in_(project_ids))
    if dialect == "postgresql":
        # DISTINCT ON walks the (video_id, captured_at) index once: the cheapest "latest row".
        return (
            select(*cols)
            .where(*where)
            .distinct(MetricSnapshot.video_id)
            .order_by(MetricSnapshot.video_id, MetricSnapshot.captured_at.desc())
            .subquery("latest")
        )
    newest = (
        select(MetricSnapshot.video_id, func.max(MetricSnapshot.captured_at).label("captured_at"))
        .where(*where)
        .group_by(MetricSnapshot.video_id)
        .subquery("newest")
    )
    return (
        select(*cols)
        .join(
            newest,
            and_(
                newest.c.video_id == MetricSnapshot.video_id,
                newest.c.captured_at == MetricSnapshot.captured_at,
            ),
        )
        .subquery("latest")
    )


def window_rewards_select(
    dialect: str,
    project_ids: Sequence[uuid.UUID] | None,
    as_of: dt.date,
    start: dt.datetime,
    end: dt.datetime,
    measured_by: dt.datetime | None = None,
) -> Select[Any]:
    """Rows of `video_rewards` for the projects' window of `as_of` (all share one length).

    `project_ids` None means every project (no filter at all). The window holds the videos
    published in [start, end) with their latest snapshot captured before `measured_by`
    (default `end`): a window of the history is measured as of the date being evaluated.
    """
    latest = _latest_snapshots(dialect, project_ids, start, measured_by or end)
    engagement = case(
        (latest.c.views == 0, literal(0.0, Float)),
        else_=cast(latest.c.likes + latest.c.comments, Float) / cast(latest.c.views, Float),
    )
    window = (
        select(
            VideoJob.project_id,
            VideoJob.id.label("video_id"),
            VideoJob.recipe_id,
            latest.c.avg_view_duration_s.label("avd"),
            latest.c.views_6h.label("v6"),
            engagement.label("eng"),
        )
        .join(latest, latest.c.video_id == VideoJob.id)
        .where(
            VideoJob.published_at >= start,
            VideoJob.published_at < end,
            *([VideoJob.project_id.in_(project_ids)] if project_ids is not None else []),
        )
        .subquery("win")
    )
    w = window.c
    by_project = w.project_id
    ranked = select(
        w.project_id,
        w.video_id,
        w.recipe_id,
        w.eng,
        func.count().over(partition_by=by_project).label("n"),
        func.rank().over(partition_by=by_project, order_by=w.avd).label("r1"),
        func.count().over(partition_by=by_project, order_by=w.avd).label("t1"),
        func.rank().over(partition_by=by_project, order_by=w.v6).label("r2"),
        func.count().over(partition_by=by_project, order_by=w.v6).label("t2"),
        func.rank().over(partition_by=by_project, order_by=w.eng).label("r3"),
        func.count().over(partition_by=by_project, order_by=w.eng).label("t3"),
    ).subquery("ranked")
    r = ranked.c
    pcts = (
        select(
            r.video_id,
            r.project_id,
            r.recipe_id,
            r.eng,
            r.n,
            _pct(r.r1, r.t1, r.n).label("p1"),
            _pct(r.r2, r.t2, r.n).label("p2"),
            _pct(r.r3, r.t3, r.n).label("p3"),
        )
    ).subquery("pcts")
    p = pcts.c
    return (
        select(
            p.video_id,
            literal(as_of).label("reward_date"),
            p.project_id,
            p.recipe_id,
            p.eng.label("engagement"),
            p.p1.label("pct_avg_view_duration"),
            p.p2.label("pct_views_6h"),
            p.p3.label("pct_engagement"),
            (
                (Project.weight_avg_view_duration * p.p1 + Project.weight_views_6h * p.p2)
                + Project.weight_engagement * p.p3
            ).label("reward"),
            p.n.label("window_size"),
        )
        .join(Project, Project.id == p.project_id)
        # Key order: the primary key's, so the index is built sequentially.
        .order_by(p.video_id)
    )


REWARD_INSERT_COLUMNS = (
    "video_id",
    "reward_date",
    "project_id",
    "recipe_id",
    "engagement",
    "pct_avg_view_duration",
    "pct_views_6h",
    "pct_engagement",
    "reward",
    "window_size",
)
