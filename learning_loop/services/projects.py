"""Projects and their settings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import Experiment, Project, ProjectSettingChange, utcnow
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.domain.project_settings import SETTINGS, Kind
from learning_loop.domain.recipe import InvalidRecipe, check_preset
from learning_loop.domain.sampler import PlannerSettings
from learning_loop.domain.setting_rules import (
    CATALOGUE,
    ProjectSettings,
    SettingsChange,
    asked_values,
    check_settings,
    from_columns,
    to_columns,
    to_json,
)
from learning_loop.domain.statuses import ExperimentStatus
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


def create_project(db: Database, name: str, settings: ProjectSettings | None = None) -> ProjectView:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("name must not be empty", "name")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"name is longer than {NAME_MAX} characters", "name")
    if any(ord(c) < 32 for c in name) or not is_encodable(name):
        raise InvalidInput("name contains control characters or invalid Unicode", "name")
    s = settings or ProjectSettings()
    check_settings(s)
    try:
        with db.transaction() as session:
            project = Project(name=name)
            _write_settings(project, s, inserting=True)
            session.add(project)
            session.flush()
            return ProjectView.model_validate(project)
    except IntegrityError:
        raise Conflict(f"a project named {name!r} already exists", "name") from None


def configure_project(
    db: Database,
    project_id: uuid.UUID,
    *,
    change: SettingsChange | None = None,
    **values: Any,
) -> ProjectView:
    """Change any settings of a project, given as `change` or as keywords (both: the keywords
    win); a rejected change writes nothing, and every change of a recorded setting is logged."""
    change = change or SettingsChange()
    if values:
        change = SettingsChange(
            add_presets=change.add_presets,
            remove_presets=change.remove_presets,
            **{**{setting.keyword: value for setting, value in change.asked()}, **values},
        )
    asked = asked_values(change)  # the days, preset names and topics, before the project is read
    with db.transaction() as session:
        project = get_project(session, project_id)
        before = _recorded_values(project)
        old = settings_of(project)
        new = _merge(old, asked, change)
        removed = set(old.value(CATALOGUE)) - set(new.value(CATALOGUE))
        if removed:
            in_use = _presets_of_running_experiments(session, project.id) & removed
            if in_use:
                raise InvalidInput(
                    f"preset {', '.join(sorted(in_use))} is used by a running experiment",
                    _catalogue_field(change),
                )
        _write_settings(project, new)
        _record_changes(session, project, before)
        session.flush()
        return ProjectView.model_validate(project)


def settings_of(project: Project) -> ProjectSettings:
    return ProjectSettings(
        **{
            s.keyword: from_columns(s, tuple(getattr(project, c) for c in s.columns))
            for s in SETTINGS
        }
    )


def merge_settings(old: ProjectSettings, change: SettingsChange) -> ProjectSettings:
    """`old` with `change` applied, validated (InvalidInput naming the setting otherwise)."""
    return _merge(old, asked_values(change), change)


def _catalogue_field(change: SettingsChange) -> str:
    return "remove_preset" if change.remove_presets else CATALOGUE.name


def _merge(old: ProjectSettings, asked: dict[str, Any], change: SettingsChange) -> ProjectSettings:
    new = old.replace(**asked)
    presets = list(new.value(CATALOGUE))
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
    new = new.replace(**{CATALOGUE.name: tuple(presets)})
    if not presets:
        raise InvalidInput(
            f"{CATALOGUE.name} must name at least one preset (the catalogue cannot be empty)",
            _catalogue_field(change),
        )
    removed = set(old.value(CATALOGUE)) - set(presets)
    for setting in SETTINGS:
        if setting.kind is Kind.RECIPE and new.value(setting).preset in removed:
            what = setting.name.replace("_", " ")
            raise InvalidInput(
                f"preset {new.value(setting).preset} is used by the {what}; change the {what} "
                "first",
                _catalogue_field(change),
            )
    check_settings(new)
    return new


def _recorded_values(project: Project) -> dict[str, Any]:
    """The recorded settings as `projects show --json` prints them."""
    s = settings_of(project)
    return {
        setting.name: to_json(setting, s.value(setting)) for setting in SETTINGS if setting.recorded
    }


def _record_changes(session: Session, project: Project, before: dict[str, Any]) -> None:
    after = _recorded_values(project)
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
            **_recorded_values(project),
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
        Experiment.status == ExperimentStatus.RUNNING
    )
    found: set[str] = set()
    for column in (Experiment.baseline_recipe_id, Experiment.variant_recipe_id):
        found.update(
            session.scalars(
                select(RecipeRow.preset).join(Experiment, column == RecipeRow.id).where(running)
            )
        )
    return found


def _write_settings(project: Project, s: ProjectSettings, inserting: bool = False) -> None:
    for setting in SETTINGS:
        for column, value in to_columns(setting, s.value(setting)).items():
            # An INSERT takes None for the column's default: null() is the value None.
            setattr(project, column, null() if value is None and inserting else value)


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


def planner_settings(project: Project) -> PlannerSettings:
    """The settings the planner reads, by their names."""
    s = settings_of(project)
    return PlannerSettings(**{f.name: getattr(s, f.name) for f in fields(PlannerSettings)})


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
