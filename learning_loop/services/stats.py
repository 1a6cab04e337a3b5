"""Aggregate statistics of a project, and the daily stats run (rewards, then recipe stats)."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import (
    Experiment,
    MetricSnapshot,
    PlannedBatch,
    VideoJob,
    VideoReward,
)
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.reward_history import current_rewards
from learning_loop.domain.statuses import ExperimentStatus, GenerationMode, JobStatus, PlanStatus
from learning_loop.services.connections import connection_view
from learning_loop.services.projects import get_project
from learning_loop.services.recipes import (
    RecipeStatsResult,
    check_days,
    compute_recipe_stats,
    ranked_recipe_rows,
    recipe_view,
)
from learning_loop.services.rewards import RewardsResult, compute_rewards_for_date
from learning_loop.services.views import StatsView


class UpdateStatsResult(BaseModel):
    project_id: str
    as_of: dt.date
    days: int
    rewards: RewardsResult
    recipe_stats: RecipeStatsResult


def update_stats(
    db: Database, project_id: uuid.UUID, as_of: dt.date | None = None, days: int | None = None
) -> UpdateStatsResult:
    """The daily stats run for one project and date: rewards of the date, then recipe stats
    (their raw average over `days`, by default the project's window)."""
    if days is not None:
        check_days(days)
    day = as_of or dt.datetime.now(dt.UTC).date()
    with db.read() as session:
        project = get_project(session, project_id)
        days = project.window_days if days is None else days
    rewards = compute_rewards_for_date(db, day, [project.id])
    stats = compute_recipe_stats(db, day, days, [project.id])
    return UpdateStatsResult(
        project_id=str(project.id), as_of=day, days=days, rewards=rewards, recipe_stats=stats
    )


def project_stats(db: Database, project_id: uuid.UUID) -> StatsView:
    with db.read() as session:
        project = get_project(session, project_id)
        pid = project.id

        def count(*where: ColumnElement[bool]) -> int:
            return session.scalar(select(func.count()).select_from(VideoJob).where(*where)) or 0

        current = current_rewards(db.dialect, None, [pid])
        by_mode = dict(
            session.execute(
                select(VideoJob.generation_mode, func.avg(current.c.reward))
                .join(current, current.c.video_id == VideoJob.id)
                .group_by(VideoJob.generation_mode)
            )
            .tuples()
            .all()
        )
        rewarded = session.scalar(select(func.count()).select_from(current)) or 0
        latest_date = session.scalar(select(func.max(current.c.reward_date)))
        exp_counts = dict(
            session.execute(
                select(Experiment.status, func.count())
                .where(Experiment.project_id == pid)
                .group_by(Experiment.status)
            )
            .tuples()
            .all()
        )
        verdicts = dict(
            session.execute(
                select(Experiment.winner, func.count())
                .where(Experiment.project_id == pid, Experiment.winner.is_not(None))
                .group_by(Experiment.winner)
            )
            .tuples()
            .all()
        )
        recipes, rewarded_recipes, estimated_recipes = session.execute(
            select(
                func.count(),
                func.count(RecipeRow.avg_reward_score),
                func.count(RecipeRow.estimate),
            ).where(RecipeRow.project_id == pid)
        ).one()
        top = ranked_recipe_rows(session, pid, 1, estimated_only=True)
        batches = session.scalar(
            select(func.count()).select_from(PlannedBatch).where(PlannedBatch.project_id == pid)
        )
        best = top[0] if top else None
        plans = dict(
            session.execute(
                select(VideoJob.plan_status, func.count())
                .where(VideoJob.project_id == pid, VideoJob.plan_status.is_not(None))
                .group_by(VideoJob.plan_status)
            )
            .tuples()
            .all()
        )
        return StatsView(
            project_id=pid,
            videos=count(VideoJob.project_id == pid),
            published_videos=count(
                VideoJob.project_id == pid, VideoJob.status == JobStatus.PUBLISHED
            ),
            rewarded_videos=rewarded,
            recipes=recipes,
            rewarded_recipes=rewarded_recipes,
            estimated_recipes=estimated_recipes,
            experiments_running=exp_counts.get(ExperimentStatus.RUNNING, 0),
            experiments_completed=exp_counts.get(ExperimentStatus.COMPLETED, 0),
            verdicts={k: int(v) for k, v in verdicts.items() if k is not None},
            batches=batches or 0,
            jobs_queued=count(VideoJob.project_id == pid, VideoJob.status == JobStatus.QUEUED),
            plans_pending=plans.get(PlanStatus.PENDING, 0),
            plans_failed=plans.get(PlanStatus.FAILED, 0),
            mean_reward_exploit=by_mode.get(GenerationMode.EXPLOIT),
            mean_reward_explore=by_mode.get(GenerationMode.EXPLORE),
            latest_reward_date=latest_date,
            best_recipe=recipe_view(best) if best else None,
            connection=connection_view(session, pid),
        )


class DaySummary(BaseModel):
    project_id: str
    as_of: dt.date
    videos_rewarded: int  # in the date's window (the project's `window_days`)
    window_days: int
    recipes: int
    rewarded_recipes: int  # with videos in the stats window
    # The whole history: videos with a reward up to the date, and recipes with an estimate.
    history_rewarded: int = 0
    estimated_recipes: int = 0
    # The steps the project still misses, each naming its command (empty when none).
    hints: list[str] = []


def missing_steps(session: Session, project_id: uuid.UUID) -> list[str]:
    """What keeps published videos out of the rewards and the stats, each with the command
    that mends it (issue #29: a missed step is said, not met with a silent empty result)."""
    published = and_(VideoJob.project_id == project_id, VideoJob.status == JobStatus.PUBLISHED)
    no_recipe = session.scalar(select(func.count()).where(published, VideoJob.recipe_id.is_(None)))
    measured = select(MetricSnapshot.id).where(MetricSnapshot.video_id == VideoJob.id).exists()
    no_metrics = session.scalar(select(func.count()).where(published, ~measured))
    hints = []
    if no_recipe:
        hints.append(
            f"{no_recipe} published video(s) have no recipe yet, so no recipe stats: run "
            f"`shorts-engine learn backfill --project {project_id}`"
        )
    if no_metrics:
        hints.append(
            f"{no_metrics} published video(s) have no metrics yet, so no reward: run "
            f"`shorts-engine learn ingest-metrics --project {project_id} --file F`, or connect "
            "the channel (`shorts-engine projects connect-youtube`)"
        )
    return hints


def missing_steps_of(db: Database, project_id: uuid.UUID) -> list[str]:
    with db.read() as session:
        return missing_steps(session, get_project(session, project_id).id)


def day_summary(db: Database, project_id: uuid.UUID, as_of: dt.date) -> DaySummary:
    """What the stats run of a date left for one project."""
    from learning_loop.db.models import RecipeDailyStats

    with db.read() as session:
        project = get_project(session, project_id)
        pid, window_days = project.id, project.window_days
        rewarded = session.scalar(
            select(func.count()).where(
                VideoReward.project_id == pid, VideoReward.reward_date == as_of
            )
        )
        recipes, scored = session.execute(
            select(func.count(), func.count(RecipeDailyStats.avg_reward_score)).where(
                RecipeDailyStats.project_id == pid, RecipeDailyStats.stats_date == as_of
            )
        ).one()
        history = session.scalar(
            select(func.count()).select_from(current_rewards(db.dialect, as_of, [pid]))
        )
        estimated = session.scalar(
            select(func.count(RecipeRow.estimate)).where(RecipeRow.project_id == pid)
        )
        hints = missing_steps(session, pid)
    return DaySummary(
        hints=hints,
        project_id=str(pid),
        as_of=as_of,
        videos_rewarded=rewarded or 0,
        window_days=window_days,
        recipes=recipes or 0,
        rewarded_recipes=scored or 0,
        history_rewarded=history or 0,
        estimated_recipes=estimated or 0,
    )
