"""Projects and their settings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import Project
from learning_loop.domain.recipe import (
    DEFAULT_PRESETS,
    DEFAULT_RECIPE,
    InvalidRecipe,
    Recipe,
    check_preset,
)
from learning_loop.domain.rewards import RewardWeights
from learning_loop.domain.sampler import PlannerSettings
from learning_loop.domain.statuses import Policy
from learning_loop.domain.topics import InvalidTopic, clean_topic
from learning_loop.services.errors import Conflict, InvalidInput, NotFound
from learning_loop.services.rows import is_encodable
from learning_loop.services.views import ProjectView

NAME_MAX = 200


def get_project(session: Session, project_id: uuid.UUID, field: str = "project_id") -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"no project with id {project_id}", field)
    return project


@dataclass(frozen=True)
class ProjectSettings:
    """Validated settings of a project (every field optional at creation)."""

    weights: RewardWeights = RewardWeights()
    window_days: int = 30
    explore_rate: float = 0.3
    top_k: int = 3
    max_running_experiments: int = 3
    min_samples: int = 8
    max_days: int = 28
    alpha: float = 0.05
    default_recipe: Recipe = DEFAULT_RECIPE
    presets: tuple[str, ...] = DEFAULT_PRESETS
    policy: Policy = Policy.SEED


BACKLOG_MAX = 10_000


def _check_range(name: str, value: float, low: float, high: float) -> None:
    # NaN and infinities fail the comparison too.
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be within {low}..{high}, got {value}", name)


def validate_settings(s: ProjectSettings) -> None:
    try:
        s.weights.validate()
    except ValueError as exc:
        raise InvalidInput(f"reward weights: {exc}", "weights") from None
    _check_range("window_days", s.window_days, 1, 3650)
    _check_range("explore_rate", s.explore_rate, 0, 1)
    _check_range("top_k", s.top_k, 1, 100)
    _check_range("max_running_experiments", s.max_running_experiments, 1, 100)
    _check_range("min_samples", s.min_samples, 2, 10_000)
    _check_range("max_days", s.max_days, 1, 3650)
    _check_range("alpha", s.alpha, 1e-6, 0.5)
    if not s.presets:
        raise InvalidInput("presets must name at least one preset", "presets")
    for preset in s.presets:
        try:
            check_preset(preset)
        except InvalidRecipe as exc:
            raise InvalidInput(str(exc), "presets") from None
    if s.default_recipe.preset not in s.presets:
        raise InvalidInput(
            f"default_recipe.preset {s.default_recipe.preset} is not in the preset catalogue",
            "default_recipe",
        )


def create_project(db: Database, name: str, settings: ProjectSettings | None = None) -> ProjectView:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("name must not be empty", "name")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"name is longer than {NAME_MAX} characters", "name")
    if any(ord(c) < 32 for c in name) or not is_encodable(name):
        raise InvalidInput("name contains control characters or invalid Unicode", "name")
    s = settings or ProjectSettings()
    validate_settings(s)
    try:
        with db.transaction() as session:
            project = Project(
                name=name,
                weight_avg_view_duration=s.weights.avg_view_duration,
                weight_views_6h=s.weights.views_6h,
                weight_engagement=s.weights.engagement,
                window_days=s.window_days,
                explore_rate=s.explore_rate,
                top_k=s.top_k,
                max_running_experiments=s.max_running_experiments,
                min_samples=s.min_samples,
                max_days=s.max_days,
                alpha=s.alpha,
                default_recipe=s.default_recipe.to_dict(),
                presets=list(s.presets),
                policy=s.policy.value,
                topic_backlog=[],
            )
            session.add(project)
            session.flush()
            return ProjectView.model_validate(project)
    except IntegrityError:
        raise Conflict(f"a project named {name!r} already exists", "name") from None


def configure_project(
    db: Database,
    project_id: uuid.UUID,
    *,
    policy: Policy | None = None,
    auto_plan: bool | None = None,
    auto_plan_count: int | None = None,
    topic_backlog: Sequence[str] | None = None,
) -> ProjectView:
    """Change the planning policy and the nightly auto-planning of a project."""
    if auto_plan_count is not None:
        _check_range("auto_plan_count", auto_plan_count, 1, 100)
    backlog: list[str] | None = None
    if topic_backlog is not None:
        if len(topic_backlog) > BACKLOG_MAX:
            raise InvalidInput(f"at most {BACKLOG_MAX} topics in the backlog", "topic_backlog")
        backlog = []
        for i, topic in enumerate(topic_backlog):
            try:
                backlog.append(clean_topic(topic))
            except InvalidTopic as exc:
                raise InvalidInput(f"topic_backlog[{i}]: {exc}", "topic_backlog") from None
    with db.transaction() as session:
        project = get_project(session, project_id)
        if policy is not None:
            project.policy = policy.value
        if auto_plan is not None:
            project.auto_plan = auto_plan
        if auto_plan_count is not None:
            project.auto_plan_count = auto_plan_count
        if backlog is not None:
            project.topic_backlog = backlog
        session.flush()
        return ProjectView.model_validate(project)


def list_projects(db: Database, limit: int = 1000, offset: int = 0) -> list[ProjectView]:
    with db.read() as session:
        rows = session.scalars(
            select(Project).order_by(Project.created_at, Project.id).limit(limit).offset(offset)
        )
        return [ProjectView.model_validate(p) for p in rows]


def show_project(db: Database, project_id: uuid.UUID) -> ProjectView:
    with db.read() as session:
        return ProjectView.model_validate(get_project(session, project_id))


def reward_weights(project: Project) -> RewardWeights:
    return RewardWeights(
        avg_view_duration=project.weight_avg_view_duration,
        views_6h=project.weight_views_6h,
        engagement=project.weight_engagement,
    )


def planner_settings(project: Project) -> PlannerSettings:
    return PlannerSettings(
        explore_rate=project.explore_rate,
        top_k=project.top_k,
        max_running_experiments=project.max_running_experiments,
        min_samples=project.min_samples,
        presets=tuple(project.presets),
        default_recipe=Recipe.from_dict(project.default_recipe),
    )


@dataclass(frozen=True)
class AutoPlan:
    """A project whose nightly batch is due: auto-planning on and topics in its backlog."""

    project_id: uuid.UUID
    count: int


def auto_plan_projects(db: Database) -> list[AutoPlan]:
    with db.read() as session:
        rows = session.execute(
            select(Project.id, Project.auto_plan_count, Project.topic_backlog)
            .where(Project.auto_plan.is_(True))
            .order_by(Project.id)
        ).all()
    return [AutoPlan(pid, count) for pid, count, backlog in rows if backlog]
