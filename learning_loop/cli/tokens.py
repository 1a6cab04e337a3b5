"""`shorts-engine tokens`: tokens of the admin API scoped to one project (contract §13)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from learning_loop.cli.common import (
    JsonOpt,
    MaybeProjectOpt,
    ProjectOpt,
    database,
    parse_id_ref,
)
from learning_loop.cli.output import print_json, print_table
from learning_loop.lazy import lazy_module

if TYPE_CHECKING:
    from learning_loop.services import refs, tokens
else:
    refs = lazy_module("learning_loop.services.refs")
    tokens = lazy_module("learning_loop.services.tokens")

app = typer.Typer(help="Tokens of the admin API that open one project only.", no_args_is_help=True)


@app.command("create")
def create(
    project: ProjectOpt,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="The token can read, not write.")
    ] = False,
    name: Annotated[
        str | None, typer.Option("--name", help="A name to tell the token apart.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Make a token for one project; it is printed once and stored only as a digest."""
    made = tokens.create_token(database(), project, read_only, name)
    if json_:
        print_json(made)
        return
    kind = "read-only" if made.read_only else "read-write"
    typer.echo(f"token {made.id} ({kind}) for project {made.project_id}; shown once:")
    typer.echo(made.token)


@app.command("list")
def list_(
    project: MaybeProjectOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The project tokens (never the tokens themselves: their first characters)."""
    rows = tokens.list_tokens(database(), project)
    if json_:
        print_json(rows)
        return
    print_table(
        "API tokens",
        ["id", "project", "name", "access", "starts with", "created (UTC)", "revoked (UTC)"],
        [
            (
                t.id,
                t.project_id,
                t.name,
                "read-only" if t.read_only else "read-write",
                t.prefix + "…",
                t.created_at.strftime("%Y-%m-%d %H:%M"),
                t.revoked_at.strftime("%Y-%m-%d %H:%M") if t.revoked_at else "",
            )
            for t in rows
        ],
    )


@app.command("revoke")
def revoke(
    token_id: Annotated[
        str,
        typer.Option(
            "--id",
            parser=parse_id_ref,
            metavar="ID",
            help="The token's id, or a unique start or end of it.",
        ),
    ],
    json_: JsonOpt = False,
) -> None:
    """Revoke a token: it opens nothing from now on."""
    db = database()
    view = tokens.revoke_token(db, refs.resolve_token(db, token_id))
    if json_:
        print_json(view)
    else:
        typer.echo(f"token {view.id} revoked")
