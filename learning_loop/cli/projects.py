"""`shorts-engine projects`: create, list, configure and show projects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from learning_loop.cli import collect, output
from learning_loop.cli.common import JsonOpt, ProjectOpt, database
from learning_loop.cli.output import fmt, print_table
from learning_loop.cli.services import projects as service
from learning_loop.cli.setting_options import settings_change, with_setting_options
from learning_loop.domain.project_settings import SETTINGS, Kind, Setting
from learning_loop.domain.setting_rules import ProjectSettings

if TYPE_CHECKING:
    from learning_loop.services.views import ProjectSettingsView, ProjectView

app = typer.Typer(help="Projects (channels) the loop learns for.", no_args_is_help=True)
app.command("connect-youtube")(collect.connect_youtube)
app.command("disconnect-youtube")(collect.disconnect_youtube)


@app.command("create")
@with_setting_options(creating=True)
def create(
    name: Annotated[str, typer.Option("--name", help="A unique project name.")],
    json_: JsonOpt = False,
    **settings: Any,
) -> None:
    """Create a project (contract defaults for every setting not given) and print its id."""

    merged = service.merge_settings(ProjectSettings(), settings_change(settings))
    project = service.create_project(database(), name, merged)
    output.show(json_, project, [str(project.id)])


@app.command("list")
def list_(json_: JsonOpt = False) -> None:
    """List projects."""

    projects = service.list_projects(database())
    output.show(json_, projects, lambda: _table(projects))


def _table(projects: list[ProjectView]) -> None:
    listed = [s for s in SETTINGS if s.listed]
    print_table(
        "Projects",
        ["id", "name", "created", *(str(s.listed) for s in listed)],
        [
            (
                p.id,
                p.name,
                p.created_at.strftime("%Y-%m-%d %H:%M"),
                *(_cell(getattr(p, s.name)) for s in listed),
            )
            for p in projects
        ],
    )


def _cell(value: object) -> object:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else value


@app.command("configure")
@with_setting_options(creating=False)
def configure(
    project: ProjectOpt,
    add_preset: Annotated[
        list[str] | None,
        typer.Option("--add-preset", help="Add a preset to the catalogue (repeatable)."),
    ] = None,
    remove_preset: Annotated[
        list[str] | None,
        typer.Option("--remove-preset", help="Remove a preset from the catalogue (repeatable)."),
    ] = None,
    json_: JsonOpt = False,
    **settings: Any,
) -> None:
    """Change any of a project's settings and its nightly auto-planning."""

    change = settings_change(settings, add_preset, remove_preset)
    p = service.configure_project(database(), project, change=change)
    summary = (
        f"project {p.name}: policy {p.policy}, auto-plan "
        f"{'on' if p.auto_plan else 'off'} ({p.auto_plan_count} a night), "
        f"{len(p.topic_backlog)} topic(s) in the backlog"
    )
    output.show(json_, p, [summary])


def _shown(setting: Setting, value: Any) -> object:
    """A setting's value (its JSON form) in `projects show`."""
    if setting.kind is Kind.PRESETS:
        return ", ".join(value)
    if setting.kind is Kind.WEIGHTS:
        return ",".join(f"{w:g}" for w in value.values())
    if setting.kind is Kind.RECIPE:
        return "/".join(str(f) for f in value.values())
    if setting.kind is Kind.NUMBER:
        return f"{value:g}"
    if setting.kind is Kind.DAYS_OR_NEVER and value is None:
        return "never"
    if setting.kind is Kind.SWITCH:
        return "on" if value else "off"
    return value


@app.command("show")
def show(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Print every setting of a project and the recorded changes."""

    v = service.show_settings(database(), project)
    output.show(json_, v, lambda: _settings_tables(v))


def _settings_tables(v: ProjectSettingsView) -> None:
    doc = v.model_dump(mode="json")
    rows: list[tuple[str, object]] = [
        ("id", v.id),
        ("name", v.name),
        *((s.name, _shown(s, doc[s.name])) for s in SETTINGS if s.recorded),
        ("youtube", collect.connection_text(v.connection)),
    ]
    print_table(f"Project {v.name}", ["setting", "value"], rows)
    print_table(
        "Changes",
        ["when (UTC)", "setting", "old", "new"],
        [
            (
                c.changed_at.strftime("%Y-%m-%d %H:%M:%S"),
                c.setting,
                _value(c.old_value),
                _value(c.new_value),
            )
            for c in v.changes
        ],
    )


def _value(value: object) -> str:
    if isinstance(value, dict):
        return (
            "/".join(str(x) for x in value.values())
            if "preset" in value
            else ",".join(fmt(x) for x in value.values())
        )
    if isinstance(value, list):
        return ",".join(str(x) for x in value)
    return f"{value:g}" if isinstance(value, float) else fmt(value)
