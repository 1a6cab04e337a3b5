"""The invariants of the loop's tables, as queries: what the Dagster asset checks report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from learning_loop.db.engine import Database
from learning_loop.db.models import Experiment, Project, VideoReward
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.domain.statuses import ExperimentStatus

PERCENTILE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def rewards_in_unit_interval(db: Database, day: dt.date) -> CheckOutcome:
    cols = (
        VideoReward.reward,
        VideoReward.pct_avg_view_duration,
        VideoReward.pct_views_6h,
        VideoReward.pct_engagement,
    )
    with db.read() as s:
        bad = 0
        for col in cols:
            bad += (
                s.scalar(
                    select(func.count()).where(
                        VideoReward.reward_date == day, (col < 0) | (col > 1) | col.is_(None)
                    )
                )
                or 0
            )
        rows = s.scalar(select(func.count()).where(VideoReward.reward_date == day)) or 0
    return CheckOutcome(
        bad == 0,
        f"{bad} reward or percentile value(s) outside [0, 1] among {rows} rows",
        {"rows": rows, "out_of_range": bad},
    )


def one_reward_per_video_and_date(db: Database, day: dt.date) -> CheckOutcome:
    with db.read() as s:
        dupes = s.scalar(
            select(func.count()).select_from(
                select(VideoReward.video_id)
                .where(VideoReward.reward_date == day)
                .group_by(VideoReward.video_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
    return CheckOutcome(not dupes, f"{dupes or 0} video(s) with more than one reward", {})


def percentiles_average_half(db: Database, day: dt.date) -> CheckOutcome:
    """Mid-rank percentiles average exactly 0.5 in every project's window."""
    with db.read() as s:
        rows = s.execute(
            select(
                VideoReward.project_id,
                func.avg(VideoReward.pct_avg_view_duration),
                func.avg(VideoReward.pct_views_6h),
                func.avg(VideoReward.pct_engagement),
            )
            .where(VideoReward.reward_date == day)
            .group_by(VideoReward.project_id)
        ).all()
    off = [
        str(pid)
        for pid, *means in rows
        if any(abs(float(m) - 0.5) > PERCENTILE_TOLERANCE for m in means)
    ]
    return CheckOutcome(
        not off,
        f"{len(off)} of {len(rows)} project window(s) whose percentiles do not average 0.5",
        {"projects": len(rows), "projects_off": off[:20]},
    )


def unique_recipe_hashes(db: Database) -> CheckOutcome:
    with db.read() as s:
        dupes = s.scalar(
            select(func.count()).select_from(
                select(RecipeRow.project_id, RecipeRow.recipe_hash)
                .group_by(RecipeRow.project_id, RecipeRow.recipe_hash)
                .having(func.count() > 1)
                .subquery()
            )
        )
        recipes = s.scalar(select(func.count()).select_from(RecipeRow)) or 0
    return CheckOutcome(
        not dupes,
        f"{dupes or 0} duplicated recipe hash(es) among {recipes} recipes",
        {"recipes": recipes},
    )


def no_running_experiment_past_deadline(db: Database, day: dt.date) -> CheckOutcome:
    """After the evaluation of `day`, nothing still runs past its `max_days`."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    with db.read() as s:
        rows = s.execute(
            select(Experiment.id, Experiment.started_at, Project.max_days)
            .join(Project, Project.id == Experiment.project_id)
            .where(Experiment.status == ExperimentStatus.RUNNING, Experiment.started_at < end)
        ).all()
    late = [
        str(eid) for eid, started, max_days in rows if end - started > dt.timedelta(days=max_days)
    ]
    return CheckOutcome(
        not late,
        f"{len(late)} running experiment(s) past their deadline",
        {"running": len(rows), "late": late[:20]},
    )
