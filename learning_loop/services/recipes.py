"""Recipe stats (SPEC §4) and recipe listings."""

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
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.models import RecipeDailyStats, VideoJob, VideoReward
from learning_loop.db.queries import latest_rewards
from learning_loop.domain.rewards import window_bounds
from learning_loop.domain.stats import recipe_stats
from learning_loop.services.errors import InvalidInput, NotFound
from learning_loop.services.projects import get_project
from learning_loop.services.rewards import select_projects
from learning_loop.services.views import RecipeView

MAX_DAYS = 3650


class RecipeStatsResult(BaseModel):
    as_of: dt.date
    days: int
    projects: int
    recipes: int
    rewarded_recipes: int


def check_days(days: Any) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be a whole number within 1..{MAX_DAYS}, got {days}", "days")
    return days


def compute_recipe_stats(
    db: Database,
    as_of: dt.date,
    days: int = 30,
    project_ids: Sequence[uuid.UUID] | None = None,
) -> RecipeStatsResult:
    """Per recipe, the mean and best current reward of its videos published in the window."""
    check_days(days)
    start, end = window_bounds(as_of, days)
    with db.transaction() as session:
        projects = select_projects(session, project_ids)
        ids = [p.id for p in projects]
        current = latest_rewards(as_of).where(VideoReward.project_id.in_(ids)).subquery()
        rows = session.execute(
            select(VideoJob.recipe_id, current.c.reward)
            .join(current, current.c.video_id == VideoJob.id)
            .where(
                VideoJob.project_id.in_(ids),
                VideoJob.recipe_id.is_not(None),
                VideoJob.published_at >= start,
                VideoJob.published_at < end,
            )
        ).all()
        stats = recipe_stats(pd.DataFrame(rows, columns=["recipe_id", "reward"]))
        by_recipe = {
            rid: (float(avg), float(best), int(n))
            for rid, avg, best, n in zip(
                stats["recipe_id"],
                stats["avg_reward_score"],
                stats["best_reward_score"],
                stats["rewarded_videos"],
                strict=True,
            )
        }
        used = dict(
            session.execute(
                select(VideoJob.recipe_id, func.count())
                .where(VideoJob.project_id.in_(ids), VideoJob.recipe_id.is_not(None))
                .group_by(VideoJob.recipe_id)
            ).all()
        )
        recipes = list(session.scalars(select(RecipeRow).where(RecipeRow.project_id.in_(ids))))
        session.execute(
            delete(RecipeDailyStats).where(
                RecipeDailyStats.project_id.in_(ids), RecipeDailyStats.stats_date == as_of
            )
        )
        daily: list[dict[str, Any]] = []
        for recipe in recipes:
            avg, best, n = by_recipe.get(recipe.id, (None, None, 0))
            times_used = int(used.get(recipe.id, 0))
            daily.append(
                {
                    "recipe_id": recipe.id,
                    "stats_date": as_of,
                    "project_id": recipe.project_id,
                    "window_days": days,
                    "times_used": times_used,
                    "avg_reward_score": avg,
                    "best_reward_score": best,
                    "rewarded_videos": n,
                }
            )
            recipe.times_used = times_used
            # The recipe row shows the stats of the latest date computed so far.
            if recipe.stats_as_of is None or recipe.stats_as_of <= as_of:
                recipe.avg_reward_score = avg
                recipe.best_reward_score = best
                recipe.rewarded_videos = n
                recipe.stats_as_of = as_of
        if daily:
            session.execute(RecipeDailyStats.__table__.insert(), daily)
        return RecipeStatsResult(
            as_of=as_of,
            days=days,
            projects=len(projects),
            recipes=len(recipes),
            rewarded_recipes=len(by_recipe),
        )


def ranked_recipe_rows(session: Session, project_id: uuid.UUID) -> list[RecipeRow]:
    """Recipes best first: avg reward desc (unrewarded last), times used desc, hash."""
    return list(
        session.scalars(
            select(RecipeRow)
            .where(RecipeRow.project_id == project_id)
            .order_by(
                RecipeRow.avg_reward_score.is_(None),
                RecipeRow.avg_reward_score.desc(),
                RecipeRow.times_used.desc(),
                RecipeRow.recipe_hash,
            )
        )
    )


def list_recipes(
    db: Database, project_id: Any, limit: int | None = None, offset: int = 0
) -> list[RecipeView]:
    with db.read() as session:
        project = get_project(session, project_id)
        rows = ranked_recipe_rows(session, project.id)
        if limit is not None:
            rows = rows[offset : offset + limit]
        return [RecipeView.model_validate(r) for r in rows]


def find_recipe(db: Database, project_id: Any, recipe_hash: str) -> RecipeView:
    """One recipe of the project by its hash (a unique prefix of at least 8 characters works)."""
    h = (recipe_hash or "").strip().lower()
    if len(h) < 8 or len(h) > 64 or any(c not in "0123456789abcdef" for c in h):
        raise InvalidInput("recipe_hash must be 8 to 64 hex characters", "recipe_hash")
    with db.read() as session:
        project = get_project(session, project_id)
        rows = list(
            session.scalars(
                select(RecipeRow)
                .where(RecipeRow.project_id == project.id, RecipeRow.recipe_hash.startswith(h))
                .limit(2)
            )
        )
    if not rows:
        raise NotFound(f"no recipe {h} in project {project.id}", "recipe_hash")
    if len(rows) > 1:
        raise InvalidInput(f"recipe_hash prefix {h} matches several recipes", "recipe_hash")
    return RecipeView.model_validate(rows[0])
