"""A project, its settings' change log, its platform connection and quota, and its API tokens."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from learning_loop.db.models.base import Base, Stated, UTCDateTime, one_of, utcnow
from learning_loop.domain.statuses import (
    ConnectionStatus,
    ExploitScope,
    Guardrail,
    PlannerBackend,
    Policy,
)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Settings (contract §3-§7). Their defaults are the declarations' (`domain.project_settings`):
    # `create_project` writes every setting.
    weight_avg_view_duration: Mapped[float] = mapped_column(Float)
    weight_views_6h: Mapped[float] = mapped_column(Float)
    weight_engagement: Mapped[float] = mapped_column(Float)
    window_days: Mapped[int] = mapped_column(Integer)
    explore_rate: Mapped[float] = mapped_column(Float)
    top_k: Mapped[int] = mapped_column(Integer)
    max_running_experiments: Mapped[int] = mapped_column(Integer)
    min_samples: Mapped[int] = mapped_column(Integer)
    max_days: Mapped[int] = mapped_column(Integer)
    alpha: Mapped[float] = mapped_column(Float)
    default_recipe: Mapped[dict[str, Any]] = mapped_column(JSON)
    presets: Mapped[list[str]] = mapped_column(JSON)
    target_duration_s: Mapped[float] = mapped_column(Float)
    policy: Mapped[Policy] = mapped_column(Stated(Policy, 20))
    auto_plan: Mapped[bool] = mapped_column(Boolean)
    auto_plan_count: Mapped[int] = mapped_column(Integer)
    topic_backlog: Mapped[list[str]] = mapped_column(JSON)
    # Which LearningLoopPlanner backend makes the video plans of the project's jobs (0007).
    planner_backend: Mapped[PlannerBackend] = mapped_column(
        Stated(PlannerBackend, 20), server_default="template"
    )
    # How fast old evidence fades in the recipe estimates, in days; None: never (0010). An
    # INSERT takes None for the server default: write `sqlalchemy.null()` for "never".
    half_life_days: Mapped[int | None] = mapped_column(Integer, server_default="180")
    # Which recipes exploit slots may take (0010).
    exploit_scope: Mapped[ExploitScope] = mapped_column(
        Stated(ExploitScope, 20), server_default="catalogue"
    )
    # Which reward component guards a variant's win (0016).
    guardrail: Mapped[Guardrail] = mapped_column(Stated(Guardrail, 20), server_default="engagement")
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
        one_of("guardrail", Guardrail),
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


class PlatformQuota(Base):
    """Quota units spent per platform per UTC day, for the whole deployment (0012)."""

    __tablename__ = "platform_quota"

    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    units: Mapped[int] = mapped_column(Integer, default=0)


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
