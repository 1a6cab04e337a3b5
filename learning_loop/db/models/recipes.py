"""Recipes and what is learnt of them: their rank, the reward backlog, the fitted model, the daily
statistics, and the experiments between two of them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from learning_loop.db.models.base import Base, Stated, UTCDateTime, one_of, utcnow
from learning_loop.domain.statuses import (
    ExperimentStatus,
    Winner,
)


class Recipe(Base):
    __tablename__ = "recipes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    preset: Mapped[str] = mapped_column(String(64))
    hook_type: Mapped[str] = mapped_column(String(20))
    scene_count: Mapped[int] = mapped_column(Integer)
    narration_wpm_bucket: Mapped[str] = mapped_column(String(10))
    caption_density_bucket: Mapped[str] = mapped_column(String(10))
    ending_type: Mapped[str] = mapped_column(String(20))
    recipe_hash: Mapped[str] = mapped_column(String(64))
    times_used: Mapped[int] = mapped_column(Integer, default=0)
    # Of those, the jobs the planner made, and the published ones (0015; contract §14).
    planned_videos: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    published_videos: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    avg_reward_score: Mapped[float | None] = mapped_column(Float)
    best_reward_score: Mapped[float | None] = mapped_column(Float)
    rewarded_videos: Mapped[int] = mapped_column(Integer, default=0)
    stats_as_of: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The whole history's evidence as of `stats_as_of` (contract §4, 0010): the rewarded videos
    # made with the recipe, and the sums of their recency weights, weighted rewards and
    # weighted squared rewards; what the additive model is fitted from.
    evidence_videos: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    evidence_weight: Mapped[float | None] = mapped_column(Float)
    evidence_sum: Mapped[float | None] = mapped_column(Float)
    evidence_sumsq: Mapped[float | None] = mapped_column(Float)
    # The same sums over the history alone (the videos published before the window of the
    # project's `evidence_as_of`), weighted as of that date: kept from run to run, so a daily
    # run adds the videos that left the window instead of reading the whole history.
    history_videos: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    history_weight: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    history_sum: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    history_sumsq: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    # The model's expected reward of the recipe and its 95% interval.
    estimate: Mapped[float | None] = mapped_column(Float)
    estimate_low: Mapped[float | None] = mapped_column(Float)
    estimate_high: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("project_id", "recipe_hash"),)


# The recipes' rank (contract §4): estimate, best first and unestimated last, then the rewarded
# videos behind it, times used, hash. Lists read a project's recipes in this order, page by
# page, from the index below, so reading the best ones costs the same for 20 recipes or 50,000.
RECIPE_RANK = (
    Recipe.estimate.is_(None),
    Recipe.estimate.desc(),
    Recipe.evidence_videos.desc(),
    Recipe.times_used.desc(),
    Recipe.recipe_hash,
)
Index("ix_recipes_ranked", Recipe.project_id, *RECIPE_RANK)
# The recipes a fit reads: those with evidence (0010).
_HAS_EVIDENCE = text("evidence_videos > 0")
Index(
    "ix_recipes_evidence",
    Recipe.project_id,
    sqlite_where=_HAS_EVIDENCE,
    postgresql_where=_HAS_EVIDENCE,
)


class RewardBacklog(Base):
    """Videos that received a snapshot and may still need a reward of their own window
    (contract §11, history): written by ingests, read and emptied by the daily rewards run, so
    the run never searches the whole history for them (0010)."""

    __tablename__ = "reward_backlog"

    video_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)

    __table_args__ = (Index(None, "project_id"),)


class RecipeModel(Base):
    """A project's evidence in field space as of its last recipe-stats date (0010): the
    sufficient statistics of the additive model (`domain.additive_model.EvidenceSummary`, as
    float64 bytes), so a plan or the insights fit the model from one row."""

    __tablename__ = "recipe_models"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[dt.date] = mapped_column(Date)
    presets: Mapped[list[str]] = mapped_column(JSON)
    summary: Mapped[bytes] = mapped_column(LargeBinary)


class RecipeDailyStats(Base):
    """Recipe stats as of one date: the rows behind the daily-partitioned recipe stats.

    Derived rows, written only by the stats statement, which selects them from `recipes`; like
    `video_rewards` they carry no foreign keys, whose checks dominated the bulk insert.
    """

    __tablename__ = "recipe_daily_stats"

    recipe_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    stats_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    window_days: Mapped[int] = mapped_column(Integer)
    times_used: Mapped[int] = mapped_column(Integer)
    avg_reward_score: Mapped[float | None] = mapped_column(Float)
    best_reward_score: Mapped[float | None] = mapped_column(Float)
    rewarded_videos: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index(None, "project_id", "stats_date"),)


class Experiment(Base):
    __tablename__ = "experiments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    baseline_recipe_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recipes.id"))
    variant_recipe_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recipes.id"))
    variable_tested: Mapped[str] = mapped_column(String(40))
    baseline_value: Mapped[str] = mapped_column(String(64))
    variant_value: Mapped[str] = mapped_column(String(64))
    status: Mapped[ExperimentStatus] = mapped_column(
        Stated(ExperimentStatus, 20), default=ExperimentStatus.RUNNING
    )
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_as_of: Mapped[dt.date | None] = mapped_column(Date)
    baseline_avg_reward: Mapped[float | None] = mapped_column(Float)
    variant_avg_reward: Mapped[float | None] = mapped_column(Float)
    baseline_n: Mapped[int | None] = mapped_column(Integer)
    variant_n: Mapped[int | None] = mapped_column(Integer)
    difference: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    p_value: Mapped[float | None] = mapped_column(Float)
    winner: Mapped[Winner | None] = mapped_column(Stated(Winner, 20))
    reason: Mapped[str | None] = mapped_column(String(40))
    # "welch" (before 0006), "sequential" (early, always valid) or "fixed_look" (contract §7)
    decision_rule: Mapped[str | None] = mapped_column(String(20))
    mde: Mapped[float | None] = mapped_column(Float)  # minimum detectable effect of the verdict
    # The pooled, adjusted contrast the verdict was judged with (0011): its estimate, always-valid
    # 95% interval and anytime-valid p-value.
    pooled_difference: Mapped[float | None] = mapped_column(Float)
    pooled_ci_low: Mapped[float | None] = mapped_column(Float)
    pooled_ci_high: Mapped[float | None] = mapped_column(Float)
    pooled_p_value: Mapped[float | None] = mapped_column(Float)
    # Whether that contrast was also adjusted for the publication time (0017; null without one).
    pooled_time_adjusted: Mapped[bool | None] = mapped_column(Boolean)
    # The allocation check at the verdict (0011): below 0.001, a sample-ratio mismatch.
    allocation_p_value: Mapped[float | None] = mapped_column(Float)
    # The guardrail the verdict was judged with (the project's setting; null before 0016) and
    # its one-sided p-value, when tested (a verdict that would have named the variant).
    guardrail: Mapped[str | None] = mapped_column(String(20))
    guardrail_p_value: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index(None, "project_id", "status"),
        # Listing order; and the experiments ever opened on one baseline, for the planner.
        Index(None, "project_id", "started_at", "id"),
        Index(None, "baseline_recipe_id"),
        one_of("status", ExperimentStatus),
        one_of("winner", Winner),
        # Two planners must never open the same test twice while it runs.
        Index(
            "uq_experiments_running_test",
            "project_id",
            "baseline_recipe_id",
            "variable_tested",
            "variant_value",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )
