"""Projects and their settings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import Experiment, Project, ProjectSettingChange, utcnow
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.domain.decay import (
    DEFAULT_HALF_LIFE_DAYS,
    HALF_LIFE_MAX_DAYS,
    HALF_LIFE_MIN_DAYS,
)
from learning_loop.domain.recipe import (
    DEFAULT_PRESETS,
    DEFAULT_RECIPE,
    InvalidRecipe,
    Recipe,
    check_preset,
)
from learning_loop.domain.rewards import RewardWeights
from learning_loop.domain.sampler import PlannerSettings
from learning_loop.domain.statuses import ExperimentStatus, ExploitScope, PlannerBackend, Policy
from learning_loop.domain.topics import InvalidTopic, clean_topic
from learning_loop.errors import Conflict, InvalidInput, NotFound
from learning_loop.services.connections import connection_view
from learning_loop.services.rows import is_encodable
from learning_loop.services.views import ProjectSettingsView, ProjectView, SettingChangeView

NAME_MAX = 200


def get_project(session: Session, project_id: uuid.UUID, field: str = "project_id") -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise no_such_project(project_id, field)
    return project


def no_such_project(project_id: uuid.UUID, field: str = "project_id") -> NotFound:
    return NotFound(f"no project with id {project_id}", field)


@dataclass(frozen=True)
class ProjectSettings:
    """Validated settings of a project (every field optional at creation)."""

    weights: RewardWeights = RewardWeights()
    window_days: int = 30
    explore_rate: float = 0.3
    top_k: int = 3
    max_running_experiments: int = 6
    min_samples: int = 8
    max_days: int = 28
    alpha: float = 0.05
    default_recipe: Recipe = DEFAULT_RECIPE
    presets: tuple[str, ...] = DEFAULT_PRESETS
    policy: Policy = Policy.SEED
    target_duration_s: float = 45.0
    planner_backend: PlannerBackend = PlannerBackend.TEMPLATE
    # How fast old evidence fades in the estimates, in days; None: never.
    half_life_days: int | None = DEFAULT_HALF_LIFE_DAYS
    exploit_scope: ExploitScope = ExploitScope.CATALOGUE


@dataclass(frozen=True)
class SettingsChange:
    """The settings a `configure` asks to change; None (or empty) leaves a setting as it is."""

    weights: RewardWeights | None = None
    window_days: int | None = None
    explore_rate: float | None = None
    top_k: int | None = None
    max_running_experiments: int | None = None
    min_samples: int | None = None
    max_days: int | None = None
    alpha: float | None = None
    default_recipe: Recipe | None = None
    presets: tuple[str, ...] | None = None
    policy: Policy | None = None
    target_duration_s: float | None = None
    planner_backend: PlannerBackend | None = None
    # A number of days, or NEVER.
    half_life_days: int | str | None = None
    exploit_scope: ExploitScope | None = None
    add_presets: tuple[str, ...] = ()
    remove_presets: tuple[str, ...] = ()


BACKLOG_MAX = 10_000
NEVER = "never"


def parse_half_life(value: int | str) -> int | None:
    """A half-life as given: a whole number of days, or "never" (None: evidence never fades)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == NEVER:
            return None
        if not text.isdigit():
            raise InvalidInput(
                f"half_life_days must be a whole number of days or {NEVER!r}, got {value[:40]!r}",
                "half_life_days",
            )
        value = int(text)
    _check_range("half_life_days", value, HALF_LIFE_MIN_DAYS, HALF_LIFE_MAX_DAYS)
    return value


def _check_range(name: str, value: float, low: float, high: float) -> None:
    # NaN and infinities fail the comparison too.
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be within {low}..{high}, got {value}", name)


def parse_weights(text: str) -> RewardWeights:
    """`W1,W2,W3`: avg view duration, views in 6 h, engagement."""
    parts = [p.strip() for p in text.split(",")]
    try:
        if len(parts) != 3:
            raise ValueError
        w = RewardWeights(*(float(p) for p in parts))
    except ValueError:
        raise InvalidInput(
            f"reward_weights must be three numbers W1,W2,W3, got {text[:60]!r}", "reward_weights"
        ) from None
    return w


def parse_presets(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def parse_recipe(text: str) -> Recipe:
    """`PRESET/HOOK/SCENES/WPM_BUCKET/DENSITY_BUCKET/ENDING`."""
    parts = [p.strip() for p in text.split("/")]
    if len(parts) != 6:
        raise InvalidInput(
            "default_recipe must be PRESET/HOOK/SCENES/WPM_BUCKET/DENSITY_BUCKET/ENDING, "
            f"got {text[:80]!r}",
            "default_recipe",
        )
    try:
        return Recipe(parts[0], parts[1], int(parts[2]), parts[3], parts[4], parts[5])
    except (InvalidRecipe, ValueError) as exc:
        raise InvalidInput(f"default_recipe: {exc}", "default_recipe") from None


def validate_settings(s: ProjectSettings) -> None:
    try:
        s.weights.validate()
    except ValueError as exc:
        raise InvalidInput(f"reward_weights: {exc}", "reward_weights") from None
    _check_range("window_days", s.window_days, 1, 3650)
    _check_range("explore_rate", s.explore_rate, 0, 1)
    _check_range("top_k", s.top_k, 1, 100)
    _check_range("max_running_experiments", s.max_running_experiments, 1, 100)
    _check_range("min_samples", s.min_samples, 2, 10_000)
    _check_range("max_days", s.max_days, 1, 3650)
    if not 0 < s.alpha <= 0.5:
        raise InvalidInput(f"alpha must be within (0, 0.5], got {s.alpha}", "alpha")
    _check_range("target_duration_s", s.target_duration_s, 1, 600)
    if s.half_life_days is not None:
        _check_range("half_life_days", s.half_life_days, HALF_LIFE_MIN_DAYS, HALF_LIFE_MAX_DAYS)
    if not s.presets:
        raise InvalidInput("presets must name at least one preset", "presets")
    if len(set(s.presets)) != len(s.presets):
        raise InvalidInput("presets must not name a preset twice", "presets")
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
                target_duration_s=s.target_duration_s,
                planner_backend=s.planner_backend.value,
                # None would take the column's default: null() is "never".
                half_life_days=null() if s.half_life_days is None else s.half_life_days,
                exploit_scope=s.exploit_scope.value,
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
    change: SettingsChange | None = None,
) -> ProjectView:
    """Change any settings of a project; a rejected change writes nothing."""
    change = change or SettingsChange()
    if policy is not None:
        change = replace(change, policy=policy)
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
        before = _settings_values(project)
        _apply_settings(session, project, change)
        if auto_plan is not None:
            project.auto_plan = auto_plan
        if auto_plan_count is not None:
            project.auto_plan_count = auto_plan_count
        if backlog is not None:
            project.topic_backlog = backlog
        _record_changes(session, project, before)
        session.flush()
        return ProjectView.model_validate(project)


def settings_of(project: Project) -> ProjectSettings:
    return ProjectSettings(
        weights=reward_weights(project),
        window_days=project.window_days,
        explore_rate=project.explore_rate,
        top_k=project.top_k,
        max_running_experiments=project.max_running_experiments,
        min_samples=project.min_samples,
        max_days=project.max_days,
        alpha=project.alpha,
        default_recipe=Recipe.from_dict(project.default_recipe),
        presets=tuple(project.presets),
        policy=Policy(project.policy),
        target_duration_s=project.target_duration_s,
        planner_backend=PlannerBackend(project.planner_backend),
        half_life_days=project.half_life_days,
        exploit_scope=ExploitScope(project.exploit_scope),
    )


def merge_settings(old: ProjectSettings, change: SettingsChange) -> ProjectSettings:
    """`old` with `change` applied, validated (InvalidInput naming the setting otherwise)."""
    asked = {
        f.name: getattr(change, f.name)
        for f in fields(ProjectSettings)
        if getattr(change, f.name) is not None
    }
    if "half_life_days" in asked:
        asked["half_life_days"] = parse_half_life(asked["half_life_days"])
    new = replace(old, **asked)
    for preset in new.presets:
        try:
            check_preset(preset)
        except InvalidRecipe as exc:
            raise InvalidInput(str(exc), "presets") from None
    presets = list(new.presets)
    for preset in change.add_presets:
        try:
            check_preset(preset)
        except InvalidRecipe as exc:
            raise InvalidInput(str(exc), "add_preset") from None
        if preset not in presets:
            presets.append(preset)
    for preset in change.remove_presets:
        if preset not in presets:
            raise InvalidInput(f"preset {preset} is not in the catalogue", "remove_preset")
        presets.remove(preset)
    new = replace(new, presets=tuple(presets))
    if not presets:
        raise InvalidInput(
            "presets must name at least one preset (the catalogue cannot be empty)",
            "remove_preset" if change.remove_presets else "presets",
        )
    removed = set(old.presets) - set(new.presets)
    if new.default_recipe.preset in removed:
        raise InvalidInput(
            f"preset {new.default_recipe.preset} is used by the default recipe; "
            "change the default recipe first",
            "remove_preset" if change.remove_presets else "presets",
        )
    validate_settings(new)
    return new


def _apply_settings(session: Session, project: Project, change: SettingsChange) -> None:
    """Validate the project's settings after `change` and write them (nothing if invalid)."""
    old = settings_of(project)
    new = merge_settings(old, change)
    removed = set(old.presets) - set(new.presets)
    if removed:
        in_use = _presets_of_running_experiments(session, project.id) & removed
        if in_use:
            raise InvalidInput(
                f"preset {', '.join(sorted(in_use))} is used by a running experiment",
                "remove_preset" if change.remove_presets else "presets",
            )
    _write_settings(project, new)


def _settings_values(project: Project) -> dict[str, Any]:
    """The settings as `projects show --json` prints them, id and name left out."""
    return settings_view(project, []).model_dump(mode="json", exclude={"id", "name", "changes"})


def _record_changes(session: Session, project: Project, before: dict[str, Any]) -> None:
    after = _settings_values(project)
    now = utcnow()
    for setting, old in before.items():
        if after[setting] != old:
            session.add(
                ProjectSettingChange(
                    project_id=project.id,
                    changed_at=now,
                    setting=setting,
                    old_value=old,
                    new_value=after[setting],
                )
            )


def settings_view(project: Project, changes: Sequence[ProjectSettingChange]) -> ProjectSettingsView:
    return ProjectSettingsView.model_validate(
        {
            "id": project.id,
            "name": project.name,
            "presets": list(project.presets),
            "reward_weights": {
                "avg_view_duration": project.weight_avg_view_duration,
                "views_6h": project.weight_views_6h,
                "engagement": project.weight_engagement,
            },
            "window_days": project.window_days,
            "explore_rate": project.explore_rate,
            "top_k": project.top_k,
            "max_running_experiments": project.max_running_experiments,
            "min_samples": project.min_samples,
            "max_days": project.max_days,
            "alpha": project.alpha,
            "default_recipe": project.default_recipe,
            "target_duration_s": project.target_duration_s,
            "policy": project.policy,
            "auto_plan": project.auto_plan,
            "auto_plan_count": project.auto_plan_count,
            "planner_backend": project.planner_backend,
            "half_life_days": project.half_life_days,
            "exploit_scope": project.exploit_scope,
            "changes": [SettingChangeView.model_validate(c) for c in changes],
        }
    )


def show_settings(db: Database, project_id: uuid.UUID) -> ProjectSettingsView:
    with db.read() as session:
        project = get_project(session, project_id)
        changes = session.scalars(
            select(ProjectSettingChange)
            .where(ProjectSettingChange.project_id == project_id)
            .order_by(ProjectSettingChange.changed_at, ProjectSettingChange.setting)
        ).all()
        view = settings_view(project, changes)
        view.connection = connection_view(session, project.id)
        return view


def _presets_of_running_experiments(session: Session, project_id: uuid.UUID) -> set[str]:
    running = (Experiment.project_id == project_id) & (
        Experiment.status == ExperimentStatus.RUNNING.value
    )
    found: set[str] = set()
    for column in (Experiment.baseline_recipe_id, Experiment.variant_recipe_id):
        found.update(
            session.scalars(
                select(RecipeRow.preset).join(Experiment, column == RecipeRow.id).where(running)
            )
        )
    return found


def _write_settings(project: Project, s: ProjectSettings) -> None:
    project.weight_avg_view_duration = s.weights.avg_view_duration
    project.weight_views_6h = s.weights.views_6h
    project.weight_engagement = s.weights.engagement
    project.window_days = s.window_days
    project.explore_rate = s.explore_rate
    project.top_k = s.top_k
    project.max_running_experiments = s.max_running_experiments
    project.min_samples = s.min_samples
    project.max_days = s.max_days
    project.alpha = s.alpha
    project.default_recipe = s.default_recipe.to_dict()
    project.presets = list(s.presets)
    project.policy = s.policy
    project.target_duration_s = s.target_duration_s
    project.planner_backend = s.planner_backend
    project.half_life_days = s.half_life_days
    project.exploit_scope = s.exploit_scope


def list_projects(
    db: Database, limit: int = 1000, offset: int = 0, only: uuid.UUID | None = None
) -> list[ProjectView]:
    """Oldest first; `only`: that project alone (a project token's list)."""
    with db.read() as session:
        query = select(Project).order_by(Project.created_at, Project.id)
        if only is not None:
            query = query.where(Project.id == only)
        rows = session.scalars(query.limit(limit).offset(offset))
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
        exploit_scope=ExploitScope(project.exploit_scope),
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
