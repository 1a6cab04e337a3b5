"""Looking up what a person typed for an id (`domain.refs`): a project by its name, its id, or
a unique start or end of its id; a video job or a token by its id or a unique start or end of
it. An ambiguous or unknown reference is one line that names the candidates."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Text, cast, func, or_, select

from learning_loop.db.engine import Database
from learning_loop.db.models import ApiToken, Project, VideoJob
from learning_loop.domain.refs import parse_ref, short_id
from learning_loop.errors import InvalidInput, NotFound

SHOWN_CANDIDATES = 5


def _parse(what: str, ref: str, also: str = "") -> uuid.UUID | str:
    try:
        return parse_ref(ref)
    except ValueError as exc:
        raise InvalidInput(
            f"{what} {str(exc).replace('is not an id', f'is not {also}an id')}", _field(what)
        ) from None


def _field(what: str) -> str:
    return what.replace(" ", "_")


def _matching(db: Database, model: Any, digits: str, *where: Any, label: Any) -> list[Any]:
    """Rows (id, label) of `model` whose id starts or ends with `digits`, a few past one."""
    text = func.replace(func.lower(cast(model.id, Text)), "-", "")
    query = (
        select(model.id, label)
        .where(or_(text.like(f"{digits}%"), text.like(f"%{digits}")), *where)
        .limit(SHOWN_CANDIDATES + 1)
    )
    with db.read() as session:
        return list(session.execute(query).all())


def _one(what: str, ref: str, rows: list[Any], hint: str) -> uuid.UUID:
    if len(rows) == 1:
        return uuid.UUID(str(rows[0][0]))
    if not rows:
        raise NotFound(f"no {what} matches {ref!r}: {hint}", _field(what))
    shown = ", ".join(
        f"{short_id(i)} ({label})" if label else str(short_id(i))
        for i, label in rows[:SHOWN_CANDIDATES]
    )
    more = " and more" if len(rows) > SHOWN_CANDIDATES else ""
    raise InvalidInput(
        f"{ref!r} matches more than one {what}: {shown}{more}; give more of the id", _field(what)
    )


def resolve_project(db: Database, ref: str) -> uuid.UUID:
    """The project named by `ref`: its name, its id, or a unique start or end of its id."""
    with db.read() as session:
        named = session.scalar(select(Project.id).where(Project.name == ref.strip()))
    if named is not None:
        return named
    parsed = _parse("project", ref, also="a project's name, ")
    if isinstance(parsed, uuid.UUID):
        return parsed
    rows = _matching(db, Project, parsed, label=Project.name)
    return _one("project", ref, rows, "give its name or id (`shorts-engine projects list`)")


def resolve_job(db: Database, ref: str, project_id: uuid.UUID | None = None) -> uuid.UUID:
    """The video job named by `ref`, within the project when one is given."""
    parsed = _parse("video job", ref)
    if isinstance(parsed, uuid.UUID):
        return parsed
    scope = [] if project_id is None else [VideoJob.project_id == project_id]
    rows = _matching(db, VideoJob, parsed, *scope, label=VideoJob.external_id)
    return _one("video job", ref, rows, "see the ids with `shorts-engine learn videos`")


def resolve_token(db: Database, ref: str) -> uuid.UUID:
    parsed = _parse("token", ref)
    if isinstance(parsed, uuid.UUID):
        return parsed
    rows = _matching(db, ApiToken, parsed, label=ApiToken.name)
    return _one("token", ref, rows, "see the ids with `shorts-engine tokens list`")
