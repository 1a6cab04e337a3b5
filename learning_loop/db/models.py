"""SQLAlchemy 2.0 models of the product tables; Alembic migrations are built from this metadata."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from learning_loop.domain.statuses import (
    CollectionState,
    ConnectionStatus,
    ExperimentStatus,
    ExploitScope,
    GenerationMode,
    JobStatus,
    PlannerBackend,
    PlanRequestStatus,
    PlanStatus,
    Policy,
    SnapshotSource,
    Views6hBasis,
    Winner,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def one_of(column: str, enum: type[StrEnum]) -> CheckConstraint:
    """The column holds one of the enumeration's values (named ck_<table>_<column>)."""
    allowed = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC on every backend and hands back aware UTC datetimes.

    SQLite has no time zones and PostgreSQL's `timestamptz` converts on the session's zone;
    naive UTC in the column keeps both identical and comparisons exact.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


E = TypeVar("E", bound=StrEnum)


class Stated(TypeDecorator[E]):
    """A column of an enumeration's values: stored as its text, read back as the member.

    A status is written as a member (or its text, checked on the way in) and read as a member,
    so no caller rebuilds one from a string; the CHECK constraint (`one_of`) keeps the database
    to the same list.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Any) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> E | None:
        return None if value is None else self.enum(value)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # Every model maps one Table (DeclarativeBase types it as any FromClause).
        __table__: ClassVar[Table]


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Settings (contract §3-§7); defaults are the contract's.
    weight_avg_view_duration: Mapped[float] = mapped_column(Float, default=0.5)
    weight_views_6h: Mapped[float] = mapped_column(Float, default=0.3)
    weight_engagement: Mapped[float] = mapped_column(Float, default=0.2)
    window_days: Mapped[int] = mapped_column(Integer, default=30)
    explore_rate: Mapped[float] = mapped_column(Float, default=0.3)
    top_k: Mapped[int] = mapped_column(Integer, default=3)
    max_running_experiments: Mapped[int] = mapped_column(Integer, default=6)
    min_samples: Mapped[int] = mapped_column(Integer, default=8)
    max_days: Mapped[int] = mapped_column(Integer, default=28)
    alpha: Mapped[float] = mapped_column(Float, default=0.05)
    default_recipe: Mapped[dict[str, Any]] = mapped_column(JSON)
    presets: Mapped[list[str]] = mapped_column(JSON)
    target_duration_s: Mapped[float] = mapped_column(Float, default=45.0)
    policy: Mapped[Policy] = mapped_column(Stated(Policy, 20), default=Policy.SEED)
    auto_plan: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_plan_count: Mapped[int] = mapped_column(Integer, default=5)
    topic_backlog: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Which LearningLoopPlanner backend makes the video plans of the project's jobs (0007).
    planner_backend: Mapped[PlannerBackend] = mapped_column(
        Stated(PlannerBackend, 20), default=PlannerBackend.TEMPLATE, server_default="template"
    )
    # How fast old evidence fades in the recipe estimates, in days; None: never (0010). An
    # INSERT takes None for the default: write `sqlalchemy.null()` for "never".
    half_life_days: Mapped[int | None] = mapped_column(Integer, default=180, server_default="180")
    # Which recipes exploit slots may take (0010).
    exploit_scope: Mapped[ExploitScope] = mapped_column(
        Stated(ExploitScope, 20), default=ExploitScope.CATALOGUE, server_default="catalogue"
    )
    # The date the recipes' history sums are as of, and the window length and half-life they
    # were built with; null: to be built by the next recipe-stats run (0010).
    evidence_as_of: Mapped[dt.date | None] = mapped_column(Date)
    evidence_window_days: Mapped[int | None] = mapped_column(Integer)
    evidence_half_life_days: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("explore_rate >= 0 AND explore_rate <= 1", name="explore_rate_range"),
        CheckConstraint("window_days >= 1", name="window_days_positive"),
        one_of("policy", Policy),
        one_of("planner_backend", PlannerBackend),
        one_of("exploit_scope", ExploitScope),
    )


class ProjectSettingChange(Base):
    """One recorded change of one project setting (values as JSON, as `projects show` prints)."""

    __tablename__ = "project_setting_changes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    setting: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[Any] = mapped_column(JSON)
    new_value: Mapped[Any] = mapped_column(JSON)

    __table_args__ = (Index(None, "project_id", "changed_at"),)


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
    # The allocation check at the verdict (0011): below 0.001, a sample-ratio mismatch.
    allocation_p_value: Mapped[float | None] = mapped_column(Float)

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


class PlannedBatch(Base):
    __tablename__ = "planned_batches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    batch_date: Mapped[dt.date] = mapped_column(Date)
    requested: Mapped[int] = mapped_column(Integer)
    exploit_count: Mapped[int] = mapped_column(Integer)
    explore_count: Mapped[int] = mapped_column(Integer)
    jobs_created: Mapped[int] = mapped_column(Integer)
    jobs_completed: Mapped[int] = mapped_column(Integer, default=0)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    skipped_topics: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # Unique: a plan request yields at most one batch, however often its run is retried.
    plan_request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index(None, "project_id", "created_at"),)


class VideoJob(Base):
    __tablename__ = "video_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    recipe_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("recipes.id"))
    # The planned key's recipe (with `topic_hash`, unique among planned jobs). A backfilled
    # (imported) video keeps it null: its recipe is `recipe_id`'s, and leaving every indexed
    # column as it is makes the backfill's UPDATE a heap-only one (migration 0009, which also
    # fills PostgreSQL's pages of this table to 45% so the new row versions fit in place).
    recipe_hash: Mapped[str | None] = mapped_column(String(64))
    experiment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("experiments.id"))
    generation_mode: Mapped[GenerationMode] = mapped_column(Stated(GenerationMode, 10))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("planned_batches.id"))
    # Order of the job in its batch (the planner's order, which follows the topic list).
    batch_position: Mapped[int | None] = mapped_column(Integer)
    topic: Mapped[str | None] = mapped_column(Text)
    topic_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[JobStatus] = mapped_column(Stated(JobStatus, 20), default=JobStatus.QUEUED)
    external_id: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Raw production values of imported videos, read by backfill.
    source_preset: Mapped[str | None] = mapped_column(String(64))
    source_hook_type: Mapped[str | None] = mapped_column(String(20))
    source_scene_count: Mapped[int | None] = mapped_column(Integer)
    source_narration_wpm: Mapped[float | None] = mapped_column(Float)
    source_caption_density: Mapped[float | None] = mapped_column(Float)
    source_ending_type: Mapped[str | None] = mapped_column(String(20))
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The plan's state (0007): `pending` until `video_plans` makes it, `ready` once a valid
    # plan is stored, `failed` after a failed attempt (retried while attempts remain); null for
    # imported history, which has no plan to make. `plan_error` is the last failure, one line.
    plan_status: Mapped[PlanStatus | None] = mapped_column(Stated(PlanStatus, 10))
    plan_error: Mapped[str | None] = mapped_column(Text)
    plan_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    selection_probability: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("project_id", "external_id"),
        one_of("generation_mode", GenerationMode),
        one_of("status", JobStatus),
        one_of("plan_status", PlanStatus),
        # Planned jobs never repeat a topic with a recipe. Imported (manual) history is exempt:
        # two old videos may share both, and the planner still treats them as taken.
        Index(
            "uq_video_jobs_planned_topic_recipe",
            "project_id",
            "topic_hash",
            "recipe_hash",
            unique=True,
            sqlite_where=text("generation_mode IN ('exploit', 'explore')"),
            postgresql_where=text("generation_mode IN ('exploit', 'explore')"),
        ),
        Index(None, "project_id", "topic_hash"),
        Index(None, "project_id", "published_at"),
        # The listing order, so a page is read from the index.
        Index("ix_video_jobs_listing", "project_id", "created_at", "batch_position", "id"),
        # Imported history has neither: only the jobs that have one are indexed (the lookups
        # are by value), so bulk imports and backfills skip two index entries per video.
        Index(
            None,
            "experiment_id",
            sqlite_where=text("experiment_id IS NOT NULL"),
            postgresql_where=text("experiment_id IS NOT NULL"),
        ),
        Index(
            None,
            "batch_id",
            sqlite_where=text("batch_id IS NOT NULL"),
            postgresql_where=text("batch_id IS NOT NULL"),
        ),
        # The baseline arm of an experiment: exploit jobs of one recipe published since the
        # experiment started. By `recipe_hash`, which the backfill never changes (0009).
        Index(
            "ix_video_jobs_exploit_recipe",
            "project_id",
            "recipe_hash",
            "published_at",
            sqlite_where=text("generation_mode = 'exploit'"),
            postgresql_where=text("generation_mode = 'exploit'"),
        ),
        # The jobs whose plans are still to be made. Partial: imported history (no plan
        # state) and ready jobs, nearly every row, are not in it, so bulk imports and the
        # backfill do not maintain it.
        Index(
            None,
            "project_id",
            "plan_status",
            sqlite_where=text("plan_status IN ('pending', 'failed')"),
            postgresql_where=text("plan_status IN ('pending', 'failed')"),
        ),
    )


class MetricSnapshot(Base):
    __tablename__ = "metric_snapshots"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # The video's project, for reads by project; no foreign key of its own (the video holds
    # it, and the check cost every ingested snapshot; migration 0009).
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("video_jobs.id", ondelete="CASCADE"))
    captured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    views: Mapped[int] = mapped_column(BigInteger)
    # Null while not yet known (a collector's poll before the 6-hour mark, or one waiting for
    # the platform's analytics); the reward reads only complete snapshots (contract §12, 0012).
    views_6h: Mapped[int | None] = mapped_column(BigInteger)
    avg_view_duration_s: Mapped[float | None] = mapped_column(Float)
    likes: Mapped[int] = mapped_column(BigInteger)
    comments: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[SnapshotSource] = mapped_column(
        Stated(SnapshotSource, 10), default=SnapshotSource.FILE, server_default="file"
    )
    views_6h_basis: Mapped[Views6hBasis | None] = mapped_column(Stated(Views6hBasis, 12))

    __table_args__ = (
        UniqueConstraint("video_id", "captured_at"),
        one_of("source", SnapshotSource),
        one_of("views_6h_basis", Views6hBasis),
    )


class PlatformConnection(Base):
    """A project's connection to a video platform, with its credential encrypted (0012).

    `credential` is a Fernet token (the `cryptography` library) of the credential's JSON, made
    with the deployment's key (`learning_loop.secrets`); nothing else holds the secret.
    """

    __tablename__ = "platform_connections"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(200))
    channel_title: Mapped[str] = mapped_column(Text)
    credential: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[ConnectionStatus] = mapped_column(
        Stated(ConnectionStatus, 10), default=ConnectionStatus.CONNECTED
    )
    # Why the connection is broken, one line without any secret.
    problem: Mapped[str | None] = mapped_column(Text)
    connected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (one_of("status", ConnectionStatus),)


class CollectedVideo(Base):
    """Where one published video stands in the collector's marks (contract §12, 0012).

    `due_at` is when the next pass may poll it: its next mark's time, or, while a pass holds it,
    the end of that pass's lease (a pass that dies leaves it due again). The last poll before
    the 6-hour mark and the 6-hour value itself are kept for `views_6h` (the snapshots of
    later marks carry it)."""

    __tablename__ = "collected_videos"

    video_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("video_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    state: Mapped[CollectionState] = mapped_column(
        Stated(CollectionState, 10), default=CollectionState.POLLING
    )
    next_mark: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    marks_missed: Mapped[int] = mapped_column(Integer, default=0)
    last_polled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    before_6h_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    before_6h_views: Mapped[int | None] = mapped_column(BigInteger)
    views_6h: Mapped[int | None] = mapped_column(BigInteger)
    views_6h_basis: Mapped[Views6hBasis | None] = mapped_column(Stated(Views6hBasis, 12))
    problem: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        one_of("state", CollectionState),
        one_of("views_6h_basis", Views6hBasis),
        # The passes' question: which videos are due now.
        Index(
            "ix_collected_videos_due",
            "due_at",
            sqlite_where=text("state = 'polling'"),
            postgresql_where=text("state = 'polling'"),
        ),
        Index(None, "project_id", "state"),
    )


class PlatformQuota(Base):
    """Quota units spent per platform per UTC day, for the whole deployment (0012)."""

    __tablename__ = "platform_quota"

    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    units: Mapped[int] = mapped_column(Integer, default=0)


class RewardValues:
    """The columns a reward row carries besides its video: the daily rows and the settled
    rows have the same shape, so a video's current reward reads either."""

    reward_date: Mapped[dt.date] = mapped_column(Date)
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    recipe_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    engagement: Mapped[float] = mapped_column(Float)
    pct_avg_view_duration: Mapped[float] = mapped_column(Float)
    pct_views_6h: Mapped[float] = mapped_column(Float)
    pct_engagement: Mapped[float] = mapped_column(Float)
    reward: Mapped[float] = mapped_column(Float)
    window_size: Mapped[int] = mapped_column(Integer)


class VideoReward(RewardValues, Base):
    """A video's reward as computed for one evaluation date (contract §3): the daily history.

    Derived rows, written only by the daily reward statement, which selects them from
    `video_jobs` itself. They carry no foreign keys: checking two keys per row doubled the cost
    of the bulk insert (bench/RESULTS.md), and the statement cannot produce an orphan.
    `recipe_id` is the video's recipe when the date was evaluated, so a date's recipe stats
    are one aggregate over that date's rows.

    Only the newest `LEARNING_LOOP_REWARD_HISTORY_DAYS` of dates are kept (registered in
    `reward_dates`); an older date is retired whole, its rows that nothing newer replaces
    moving to `video_settled_rewards` first (contract §3, "Reward history"). On PostgreSQL the
    table is partitioned by date, one partition per date, so retiring a date drops a table.
    """

    __tablename__ = "video_rewards"

    video_id: Mapped[uuid.UUID] = mapped_column(Uuid)

    # The key leads with the date: a date's rows are written at the key's end and retired from
    # its start, never spread through the history (SQLite keeps the rows in the key's order).
    __table_args__ = (
        PrimaryKeyConstraint("reward_date", "video_id"),
        Index(None, "project_id", "reward_date"),
        {"postgresql_partition_by": "RANGE (reward_date)", "sqlite_with_rowid": False},
    )


class SettledReward(RewardValues, Base):
    """Each video's reward on the last date it was evaluated, once that date has left the
    daily history: what a video's current reward is after its window has moved on."""

    __tablename__ = "video_settled_rewards"

    video_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)

    __table_args__ = (Index(None, "project_id", "reward_date"),)


class RewardDate(Base):
    """The dates whose rewards `video_rewards` holds, and when each was last computed."""

    __tablename__ = "reward_dates"

    reward_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PlanRequest(Base):
    __tablename__ = "plan_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    n: Mapped[int] = mapped_column(Integer)
    topics: Mapped[list[str] | None] = mapped_column(JSON)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(20), default="api")
    status: Mapped[PlanRequestStatus] = mapped_column(
        Stated(PlanRequestStatus, 20), default=PlanRequestStatus.PENDING
    )
    run_id: Mapped[str | None] = mapped_column(String(64))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("planned_batches.id"))
    error: Mapped[str | None] = mapped_column(Text)
    # Runs of the request that died before finishing it; it is retried while fewer than
    # PLAN_REQUEST_MAX_ATTEMPTS (0013).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index(None, "status", "created_at"), one_of("status", PlanRequestStatus))


class ApiToken(Base):
    """A token of the admin API scoped to one project, read-write or read-only (0014).

    Only the SHA-256 digest of the token is stored (a token is 32 random bytes: no guess is
    cheaper than the digest's preimage); `prefix` is its first characters, to tell tokens
    apart in a listing. A revoked token stays listed, with `revoked_at`.
    """

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(100))
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index(None, "project_id"),)
