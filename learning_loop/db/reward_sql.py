"""The daily reward computed inside the database: one INSERT ... SELECT per window length.

It reproduces `domain.rewards.compute_rewards` to the bit: the mid-rank percentile is
`(2 * (rank - 1) + ties) / (2 * N)` with an exact integer numerator and one floating division,
engagement is one floating division, and the reward is summed left to right. Moving the work to
the database avoids shipping every window row to Python and back (SPEC §3; bench/).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, literal, select
from sqlalchemy.sql import Select

from learning_loop.db.models import MetricSnapshot, Project, VideoJob


def _pct(rank: Any, ties: Any, n: Any) -> Any:
    return cast(2 * (rank - 1) + ties, Float) / cast(2 * n, Float)


def window_rewards_select(
    project_ids: Sequence[uuid.UUID], as_of: dt.date, start: dt.datetime, end: dt.datetime
) -> Select[Any]:
    """Rows of `video_rewards` for the projects' window of `as_of` (all share one length)."""
    latest = (
        select(
            MetricSnapshot.video_id,
            MetricSnapshot.views,
            MetricSnapshot.views_6h,
            MetricSnapshot.avg_view_duration_s,
            MetricSnapshot.likes,
            MetricSnapshot.comments,
            func.row_number()
            .over(partition_by=MetricSnapshot.video_id, order_by=MetricSnapshot.captured_at.desc())
            .label("rn"),
        )
        .where(MetricSnapshot.project_id.in_(project_ids), MetricSnapshot.captured_at < end)
        .subquery("latest")
    )
    engagement = case(
        (latest.c.views == 0, literal(0.0, Float)),
        else_=cast(latest.c.likes + latest.c.comments, Float) / cast(latest.c.views, Float),
    )
    window = (
        select(
            VideoJob.project_id,
            VideoJob.id.label("video_id"),
            latest.c.avg_view_duration_s.label("avd"),
            latest.c.views_6h.label("v6"),
            engagement.label("eng"),
        )
        .join(latest, and_(latest.c.video_id == VideoJob.id, latest.c.rn == 1))
        .where(
            VideoJob.project_id.in_(project_ids),
            VideoJob.published_at >= start,
            VideoJob.published_at < end,
        )
        .subquery("win")
    )
    w = window.c
    by_project = {"partition_by": w.project_id}
    ranked = select(
        w.project_id,
        w.video_id,
        w.eng,
        func.count().over(**by_project).label("n"),
        func.rank().over(**by_project, order_by=w.avd).label("r1"),
        func.count().over(partition_by=[w.project_id, w.avd]).label("t1"),
        func.rank().over(**by_project, order_by=w.v6).label("r2"),
        func.count().over(partition_by=[w.project_id, w.v6]).label("t2"),
        func.rank().over(**by_project, order_by=w.eng).label("r3"),
        func.count().over(partition_by=[w.project_id, w.eng]).label("t3"),
    ).subquery("ranked")
    r = ranked.c
    pcts = (
        select(
            r.video_id,
            r.project_id,
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
    "engagement",
    "pct_avg_view_duration",
    "pct_views_6h",
    "pct_engagement",
    "reward",
    "window_size",
)
