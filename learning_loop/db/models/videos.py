"""Planned batches and their video jobs, the jobs' metric snapshots and collection state, their
rewards, and the plan requests."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from learning_loop.db.models.base import Base, Stated, UTCDateTime, one_of, utcnow
from learning_loop.domain.statuses import (
    CollectionState,
    GenerationMode,
    JobStatus,
    PlanRequestStatus,
    PlanStatus,
    SnapshotSource,
    Views6hBasis,
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
