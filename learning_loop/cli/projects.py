"""`shorts-engine projects`: create and list projects."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from learning_loop.cli.common import JsonOpt, ProjectOpt, database, read_lines
from learning_loop.cli.output import print_json, print_table
from learning_loop.domain.statuses import Policy
from learning_loop.services.projects import (
    ProjectSettings,
    configure_project,
    create_project,
    list_projects,
)

app = typer.Typer(help="Projects (channels) the loop learns for.", no_args_is_help=True)


PolicyOpt = Annotated[
    Policy | None,
    typer.Option("--policy", help="seed (70% exploit / 30% explore, default) or thompson."),
]


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="A unique project name.")],
    policy: PolicyOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create a project with the default settings and print its id."""
    settings = ProjectSettings(policy=policy) if policy else None
    project = create_project(database(), name, settings)
    if json_:
        print_json(project)
    else:
        typer.echo(str(project.id))


@app.command("list")
def list_(json_: JsonOpt = False) -> None:
    """List projects."""
    projects = list_projects(database())
    if json_:
        print_json(projects)
        return
    print_table(
        "Projects",
        ["id", "name", "created", "window", "explore", "presets"],
        [
            (
                p.id,
                p.name,
                p.created_at.strftime("%Y-%m-%d %H:%M"),
                p.window_days,
                p.explore_rate,
                ", ".join(p.presets),
            )
            for p in projects
        ],
    )


@app.command("configure")
def configure(
    project: ProjectOpt,
    policy: PolicyOpt = None,
    auto_plan: Annotated[
        bool | None,
        typer.Option("--auto-plan/--no-auto-plan", help="Plan a batch every night (02:00 UTC)."),
    ] = None,
    auto_plan_count: Annotated[
        int | None, typer.Option("--auto-plan-count", help="Batch size of the nightly plan.")
    ] = None,
    backlog_file: Annotated[
        Path | None,
        typer.Option("--backlog-file", help="Replace the topic backlog: one topic per line."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Change a project's planning policy and its nightly auto-planning."""
    backlog = read_lines(backlog_file, "backlog_file") if backlog_file else None
    p = configure_project(
        database(),
        project,
        policy=policy,
        auto_plan=auto_plan,
        auto_plan_count=auto_plan_count,
        topic_backlog=backlog,
    )
    if json_:
        print_json(p)
    else:
        typer.echo(
            f"project {p.name}: policy {p.policy}, auto-plan "
            f"{'on' if p.auto_plan else 'off'} ({p.auto_plan_count} a night), "
            f"{len(p.topic_backlog)} topic(s) in the backlog"
        )
