"""Recipe stats (contract §4) and recipe listings."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Row,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from learning_loop.db.engine import Database
from learning_loop.db.models import (
    RECIPE_RANK,
    Project,
    RecipeDailyStats,
    RewardDate,
    VideoJob,
    VideoReward,
)
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import (
    BULK,
    RECIPE_STATS_LOCK,
    chunks,
    lock_date,
    refresh_statistics,
)
from learning_loop.db.reward_history import current_rewards
from learning_loop.domain.rewards import window_bounds
from learning_loop.errors import InvalidInput, NotFound
from learning_loop.services.estimates import write_estimates
from learning_loop.services.projects import get_project
from learning_loop.services.views import RecipeView

MAX_DAYS = 3650


class RecipeStatsResult(BaseModel):
    as_of: dt.date
    days: int | None  # None: each project's own window_days
    projects: int
    recipes: int
    rewarded_recipes: int
    # Recipes with an estimate from the whole history (contract §4).
    estimated_recipes: int = 0


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be a whole number within 1..{MAX_DAYS}, got {days}", "days")
    return days


def _scope(
    column: InstrumentedAttribute[uuid.UUID], ids: Sequence[uuid.UUID] | None
) -> ColumnElement[bool]:
    return column.in_(ids) if ids is not None else true()


def compute_recipe_stats(
    db: Database,
    as_of: dt.date,
    days: int | None = 30,
    project_ids: Sequence[uuid.UUID] | None = None,
) -> RecipeStatsResult:
    """Per recipe, the mean and best current reward of its videos published in the window,
    and its estimate from the whole history (`estimates.write_estimates`).

    `days=None` takes each project's own `window_days` (projects grouped by window length, one
    pass per length, like the rewards). Computed and written inside the database: a row per
    recipe in `recipe_daily_stats` for the date, then the `recipes` rows take the stats of
    their latest computed date.
    """
    if days is not None:
        check_days(days)
    with db.transaction() as session:
        lock_date(session, RECIPE_STATS_LOCK, as_of)
        if db.dialect == "postgresql":
            session.execute(text("SET LOCAL work_mem = '64MB'"))
        ids = None if project_ids is None else list(project_ids)
        # The date's own rewards hold every video of each project's own window (contract §4).
        held = session.get(RewardDate, as_of) is not None
        groups: dict[tuple[int, bool], list[uuid.UUID]] = {}
        for pid, own_length in session.execute(
            select(Project.id, Project.window_days)
            .where(_scope(Project.id, ids))
            .order_by(Project.id)
        ).tuples():
            length = own_length if days is None else days
            groups.setdefault((length, length == own_length), []).append(pid)
        if ids is None and len(groups) == 1:
            # Every project in one pass, without a list of ids.
            ((length, own),) = groups
            _stats_for_window(session, db.dialect, as_of, length, None, held and own)
        else:
            for (length, own), group in sorted(groups.items()):
                for part in chunks(group, 10_000):
                    _stats_for_window(session, db.dialect, as_of, length, list(part), held and own)
        # The estimates and the recipe rows' stats of the date, written together; the rows of
        # the projects left out (a date before their newest) take their stats alone.
        estimated, skipped = write_estimates(session, db.dialect, as_of, ids, held)
        for part in chunks(skipped, 10_000):
            _write_stats(session, as_of, list(part))
        recipes, rewarded = session.execute(
            select(func.count(), func.count(RecipeDailyStats.avg_reward_score)).where(
                RecipeDailyStats.stats_date == as_of, _scope(RecipeDailyStats.project_id, ids)
            )
        ).one()
        projects = (
            len(ids)
            if ids is not None
            else session.scalar(select(func.count()).select_from(Project))
        )
        result = RecipeStatsResult(
            as_of=as_of,
            days=days,
            projects=projects or 0,
            recipes=recipes or 0,
            rewarded_recipes=rewarded or 0,
            estimated_recipes=estimated,
        )
    # Every recipe's scores changed: the rank index serves pages and plans only while the
    # planner's statistics know how many recipes are scored.
    refresh_statistics(db, "recipes", result.recipes)
    return result


def _stats_for_window(
    session: Session,
    dialect: str,
    as_of: dt.date,
    days: int,
    ids: list[uuid.UUID] | None,
    from_day_rows: bool,
) -> None:
    """The recipe stats of `as_of` over `days` for the projects `ids` (None: every project),
    as rows of `recipe_daily_stats` (the recipe rows take them afterwards, with their
    estimates: `estimates.write_estimates`).

    `from_day_rows`: `days` is each project's own window and `as_of`'s rewards are held, so
    the stats are one aggregate over that date's rows. A video of the window has a row on the
    date exactly when it has any reward up to it (a snapshot before an earlier date's end is
    also before this one's). Otherwise each video of the window takes its newest reward.
    """
    if from_day_rows:
        scored = (
            select(
                VideoReward.recipe_id.label("recipe_id"),
                func.avg(VideoReward.reward).label("avg"),
                func.max(VideoReward.reward).label("best"),
                func.count().label("n"),
            )
            .where(
                VideoReward.reward_date == as_of,
                _scope(VideoReward.project_id, ids),
                VideoReward.recipe_id.is_not(None),
            )
            .group_by(VideoReward.recipe_id)
            .subquery("scored")
        )
    else:
        start, end = window_bounds(as_of, days)
        current = current_rewards(dialect, as_of, ids)
        scored = (
            select(
                VideoJob.recipe_id.label("recipe_id"),
                func.avg(current.c.reward).label("avg"),
                func.max(current.c.reward).label("best"),
                func.count().label("n"),
            )
            .join(current, current.c.video_id == VideoJob.id)
            .where(
                _scope(VideoJob.project_id, ids),
                VideoJob.recipe_id.is_not(None),
                VideoJob.published_at >= start,
                VideoJob.published_at < end,
            )
            .group_by(VideoJob.recipe_id)
            .subquery("scored")
        )
    session.execute(
        delete(RecipeDailyStats).where(
            RecipeDailyStats.stats_date == as_of,
            _scope(RecipeDailyStats.project_id, ids),
        ),
        **BULK,
    )
    rows = (
        select(
            RecipeRow.id,
            literal(as_of, Date),
            RecipeRow.project_id,
            literal(days, Integer),
            RecipeRow.times_used,
            scored.c.avg,
            scored.c.best,
            func.coalesce(scored.c.n, 0),
        )
        .outerjoin(scored, scored.c.recipe_id == RecipeRow.id)
        .where(_scope(RecipeRow.project_id, ids))
        .order_by(RecipeRow.id)
    )
    session.execute(
        RecipeDailyStats.__table__.insert().from_select(
            [
                "recipe_id",
                "stats_date",
                "project_id",
                "window_days",
                "times_used",
                "avg_reward_score",
                "best_reward_score",
                "rewarded_videos",
            ],
            rows,
        )
    )


def _write_stats(session: Session, as_of: dt.date, ids: list[uuid.UUID]) -> None:
    """The recipe rows of the projects `ids` take their stats of `as_of`: `times_used` always,
    the scores only where this date is the latest computed, so the recipe row shows the stats
    of its newest date."""
    today = and_(
        RecipeDailyStats.recipe_id == RecipeRow.id,
        RecipeDailyStats.stats_date == as_of,
        RecipeDailyStats.project_id.in_(ids),
    )
    newer = or_(RecipeRow.stats_as_of.is_(None), RecipeRow.stats_as_of <= as_of)
    session.execute(
        update(RecipeRow)
        .where(today)
        .values(
            times_used=RecipeDailyStats.times_used,
            avg_reward_score=case(
                (newer, RecipeDailyStats.avg_reward_score), else_=RecipeRow.avg_reward_score
            ),
            best_reward_score=case(
                (newer, RecipeDailyStats.best_reward_score), else_=RecipeRow.best_reward_score
            ),
            rewarded_videos=case(
                (newer, RecipeDailyStats.rewarded_videos), else_=RecipeRow.rewarded_videos
            ),
            stats_as_of=case((newer, literal(as_of, Date)), else_=RecipeRow.stats_as_of),
        ),
        **BULK,
    )


# The columns of a RecipeView: a listing reads them as plain rows, no ORM objects.
RECIPE_VIEW_COLUMNS = (
    RecipeRow.id,
    RecipeRow.preset,
    RecipeRow.hook_type,
    RecipeRow.scene_count,
    RecipeRow.narration_wpm_bucket,
    RecipeRow.caption_density_bucket,
    RecipeRow.ending_type,
    RecipeRow.recipe_hash,
    RecipeRow.times_used,
    RecipeRow.planned_videos,
    RecipeRow.published_videos,
    RecipeRow.avg_reward_score,
    RecipeRow.best_reward_score,
    RecipeRow.rewarded_videos,
    RecipeRow.stats_as_of,
    RecipeRow.estimate,
    RecipeRow.estimate_low,
    RecipeRow.estimate_high,
    RecipeRow.evidence_videos,
)
# Built once: a request binds its values instead of building (and keying) a statement anew.
_RANKED = (
    select(*RECIPE_VIEW_COLUMNS)
    .where(RecipeRow.project_id == bindparam("project_id"))
    .order_by(*RECIPE_RANK)
)
_ESTIMATED = _RANKED.where(RecipeRow.estimate.is_not(None))
# (paged, estimated only) -> statement
_RANKED_READS = {
    (False, False): _RANKED,
    (False, True): _ESTIMATED,
    (True, False): _RANKED.limit(bindparam("limit")).offset(bindparam("offset")),
    (True, True): _ESTIMATED.limit(bindparam("limit")).offset(bindparam("offset")),
}


def ranked_recipe_rows(
    session: Session,
    project_id: uuid.UUID,
    limit: int | None = None,
    offset: int = 0,
    *,
    estimated_only: bool = False,
) -> list[Row[Any]]:
    """Recipes best first (`RECIPE_RANK`), a page of them read from the rank index, as rows
    of `RECIPE_VIEW_COLUMNS`."""
    stmt = _RANKED_READS[limit is not None, estimated_only]
    params = {"project_id": project_id, "limit": limit, "offset": offset}
    return list(session.connection().execute(stmt, params))


_RECIPE_VIEW_FIELDS = tuple(c.key for c in RECIPE_VIEW_COLUMNS)
_RECIPE_VIEWS = TypeAdapter(list[RecipeView])


def recipe_view(row: Row[Any]) -> RecipeView:
    """The view of a row of `RECIPE_VIEW_COLUMNS`."""
    return RecipeView.model_validate(dict(zip(_RECIPE_VIEW_FIELDS, row, strict=True)))


def recipe_views(rows: Sequence[Row[Any]]) -> list[RecipeView]:
    """The views of rows of `RECIPE_VIEW_COLUMNS`, validated in one call (half the cost of one
    call per row on a page of 100) from plain dicts (building them from the rows' attributes
    costs more)."""
    return _RECIPE_VIEWS.validate_python(
        [dict(zip(_RECIPE_VIEW_FIELDS, row, strict=True)) for row in rows]
    )


def list_recipes(
    db: Database, project_id: uuid.UUID, limit: int | None = None, offset: int = 0
) -> list[RecipeView]:
    with db.read() as session:
        rows = ranked_recipe_rows(session, project_id, limit, offset)
        if not rows:
            get_project(session, project_id)  # a page with recipes needs no such check
        return recipe_views(rows)


def find_recipe(db: Database, project_id: uuid.UUID, recipe_hash: str) -> RecipeView:
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


class DayRecipeStats(BaseModel):
    """One recipe's stats row of a date, with its six fields (the daily run's leaderboard)."""

    recipe_hash: str
    preset: str
    hook_type: str
    scene_count: int
    narration_wpm_bucket: str
    caption_density_bucket: str
    ending_type: str
    rewarded_videos: int
    avg_reward_score: float
    best_reward_score: float
    # The recipe's current estimate (whole history) and its 95% interval.
    estimate: float | None = None
    estimate_low: float | None = None
    estimate_high: float | None = None


def top_recipes_of_day(
    db: Database, day: dt.date, project_id: uuid.UUID | None = None, limit: int = 10
) -> list[DayRecipeStats]:
    """The scored recipes of a date's stats (every project's, or one project's), best first by
    their current estimate, then by the date's average."""
    stmt = (
        select(RecipeDailyStats, RecipeRow)
        .join(RecipeRow, RecipeRow.id == RecipeDailyStats.recipe_id)
        .where(
            RecipeDailyStats.stats_date == day,
            RecipeDailyStats.avg_reward_score.is_not(None),
        )
        .order_by(
            RecipeRow.estimate.is_(None),
            RecipeRow.estimate.desc(),
            RecipeDailyStats.avg_reward_score.desc(),
            RecipeRow.recipe_hash,
        )
        .limit(limit)
    )
    if project_id is not None:
        stmt = stmt.where(RecipeDailyStats.project_id == project_id)
    with db.read() as session:
        return [
            DayRecipeStats(
                recipe_hash=r.recipe_hash,
                preset=r.preset,
                hook_type=r.hook_type,
                scene_count=r.scene_count,
                narration_wpm_bucket=r.narration_wpm_bucket,
                caption_density_bucket=r.caption_density_bucket,
                ending_type=r.ending_type,
                rewarded_videos=d.rewarded_videos,
                avg_reward_score=float(d.avg_reward_score),
                best_reward_score=float(d.best_reward_score),
                estimate=r.estimate,
                estimate_low=r.estimate_low,
                estimate_high=r.estimate_high,
            )
            for d, r in session.execute(stmt).all()
        ]
