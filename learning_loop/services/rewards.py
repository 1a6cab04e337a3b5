"""The daily reward computation (SPEC §3): window reads, percentiles and rewards, bulk writes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import pandas as pd
from pydantic import BaseModel
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import MetricSnapshot, Project, VideoJob, VideoReward
from learning_loop.domain.rewards import compute_rewards, window_bounds
from learning_loop.services.projects import reward_weights

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


def select_projects(session: Session, project_ids: Sequence[uuid.UUID] | None) -> list[Project]:
    stmt = select(Project).order_by(Project.id)
    if project_ids is not None:
        stmt = stmt.where(Project.id.in_(list(project_ids)))
    return list(session.scalars(stmt))


def window_metrics(session: Session, projects: Sequence[Project], as_of: dt.date) -> pd.DataFrame:
    """Each window video's latest snapshot captured by the end of `as_of`, for many projects."""
    frames = []
    by_length: dict[int, list[uuid.UUID]] = {}
    for p in projects:
        by_length.setdefault(p.window_days, []).append(p.id)
    for length, ids in by_length.items():
        start, end = window_bounds(as_of, length)
        latest = (
            select(
                MetricSnapshot.video_id.label("video_id"),
                func.max(MetricSnapshot.captured_at).label("captured_at"),
            )
            .where(MetricSnapshot.project_id.in_(ids), MetricSnapshot.captured_at < end)
            .group_by(MetricSnapshot.video_id)
            .subquery()
        )
        stmt = (
            select(
                VideoJob.project_id,
                VideoJob.id.label("video_id"),
                MetricSnapshot.views,
                MetricSnapshot.views_6h,
                MetricSnapshot.avg_view_duration_s,
                MetricSnapshot.likes,
                MetricSnapshot.comments,
            )
            .join(latest, latest.c.video_id == VideoJob.id)
            .join(
                MetricSnapshot,
                (MetricSnapshot.video_id == latest.c.video_id)
                & (MetricSnapshot.captured_at == latest.c.captured_at),
            )
            .where(
                VideoJob.project_id.in_(ids),
                VideoJob.published_at >= start,
                VideoJob.published_at < end,
            )
        )
        rows = session.execute(stmt).all()
        frames.append(
            pd.DataFrame(
                rows,
                columns=[
                    "project_id",
                    "video_id",
                    "views",
                    "views_6h",
                    "avg_view_duration_s",
                    "likes",
                    "comments",
                ],
            )
        )
    if not frames:
        return pd.DataFrame(
            columns=[
                "project_id",
                "video_id",
                "views",
                "views_6h",
                "avg_view_duration_s",
                "likes",
                "comments",
            ]
        )
    return pd.concat(frames, ignore_index=True)


def compute_rewards_for_date(
    db: Database, as_of: dt.date, project_ids: Sequence[uuid.UUID] | None = None
) -> RewardsResult:
    """Recompute and store the reward of every video in each project's window of `as_of`.

    The date's rows are replaced whole, so re-running a date gives identical rows.
    """
    with db.transaction() as session:
        projects = select_projects(session, project_ids)
        metrics = window_metrics(session, projects, as_of)
        weights = {p.id: reward_weights(p) for p in projects}
        rewards = compute_rewards(metrics, weights)
        window_sizes = rewards.groupby("project_id")["video_id"].transform("size")
        ids = [p.id for p in projects]
        session.execute(
            delete(VideoReward).where(
                VideoReward.project_id.in_(ids), VideoReward.reward_date == as_of
            )
        )
        records: list[dict[str, Any]] = [
            {
                "video_id": vid,
                "reward_date": as_of,
                "project_id": pid,
                "engagement": float(eng),
                "pct_avg_view_duration": float(p1),
                "pct_views_6h": float(p2),
                "pct_engagement": float(p3),
                "reward": float(r),
                "window_size": int(n),
            }
            for vid, pid, eng, p1, p2, p3, r, n in zip(
                rewards["video_id"],
                rewards["project_id"],
                rewards["engagement"],
                rewards["pct_avg_view_duration"],
                rewards["pct_views_6h"],
                rewards["pct_engagement"],
                rewards["reward"],
                window_sizes,
                strict=True,
            )
        ]
        records.sort(key=lambda r: str(r["video_id"]))
        if records:
            session.execute(VideoReward.__table__.insert(), records)
        per_project = rewards.groupby("project_id").size()
        return RewardsResult(
            as_of=as_of,
            projects=len(projects),
            videos_rewarded=len(records),
            per_project={str(k): int(v) for k, v in per_project.items()},
        )
