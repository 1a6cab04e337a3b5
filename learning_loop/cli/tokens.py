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
from learning_loop.cli.output import print_table, show
from learning_loop.cli.services import refs, tokens

if TYPE_CHECKING:
    from learning_loop.services.tokens import TokenView

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
    kind = "read-only" if made.read_only else "read-write"
    show(
        json_,
        made,
        [f"token {made.id} ({kind}) for project {made.project_id}; shown once:", made.token],
    )


@app.command("list")
def list_(
    project: MaybeProjectOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The project tokens (never the tokens themselves: their first characters)."""
    rows = tokens.list_tokens(database(), project)
    show(json_, rows, lambda: _table(rows))


def _table(rows: list[TokenView]) -> None:
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
    show(json_, view, [f"token {view.id} revoked"])
