"""`shorts-engine projects`: create and list projects."""

from __future__ import annotations

from typing import Annotated

import typer

from learning_loop.cli.common import JsonOpt, database
from learning_loop.cli.output import print_json, print_table
from learning_loop.services.projects import create_project, list_projects

app = typer.Typer(help="Projects (channels) the loop learns for.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="A unique project name.")],
    json_: JsonOpt = False,
) -> None:
    """Create a project with the default settings and print its id."""
    project = create_project(database(), name)
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
