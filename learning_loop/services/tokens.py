"""Tokens of the admin API scoped to one project (contract §13): made and revoked from the
CLI, stored as digests, shown once.

The admin token (`LEARNING_LOOP_ADMIN_TOKEN`) opens every project and route. A project token
opens its project alone: a route of another project answers 404 (as if it did not exist),
lists hold its project only, and it cannot create projects. A read-only token cannot write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import select

from learning_loop.db.engine import Database
from learning_loop.db.models import ApiToken, utcnow
from learning_loop.errors import Conflict, InvalidInput, NotFound
from learning_loop.services.projects import get_project, no_such_project

TOKEN_PREFIX = "llp_"  # a project token starts so, to tell it from the admin token at a glance
SHOWN = 10  # characters of a token a listing shows


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the admin (every project), or one project's token."""

    project_id: uuid.UUID | None = None
    read_only: bool = False

    @property
    def is_admin(self) -> bool:
        return self.project_id is None

    def reaches(self, project_id: uuid.UUID) -> bool:
        return self.project_id is None or self.project_id == project_id

    def check_project(self, project_id: uuid.UUID, field: str = "project_id") -> uuid.UUID:
        """The project, if this principal reaches it; else the 404 of a project that does not
        exist (a token does not learn which projects exist)."""
        if not self.reaches(project_id):
            raise no_such_project(project_id, field)
        return project_id


ADMIN = Principal()


class TokenView(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    name: str | None
    read_only: bool
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class NewToken(TokenView):
    token: str  # shown once, never stored


def _view(row: ApiToken) -> TokenView:
    return TokenView(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        read_only=row.read_only,
        prefix=row.prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def create_token(
    db: Database, project_id: uuid.UUID, read_only: bool = False, name: str | None = None
) -> NewToken:
    if name is not None:
        name = name.strip()
        if not name or len(name) > 100 or not name.isprintable():
            raise InvalidInput("name must be 1..100 printable characters", "name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.transaction() as session:
        pid = get_project(session, project_id).id
        row = ApiToken(
            id=uuid.uuid4(),
            project_id=pid,
            name=name,
            read_only=read_only,
            digest=digest(token),
            prefix=token[:SHOWN],
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        view = _view(row)
    return NewToken(**view.model_dump(), token=token)


def list_tokens(db: Database, project_id: uuid.UUID | None = None) -> list[TokenView]:
    with db.read() as session:
        query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
        if project_id is not None:
            query = query.where(ApiToken.project_id == get_project(session, project_id).id)
        return [_view(r) for r in session.scalars(query)]


def revoke_token(db: Database, token_id: uuid.UUID) -> TokenView:
    with db.transaction() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"no token {token_id}", "token_id")
        if row.revoked_at is not None:
            raise Conflict(f"token {token_id} is already revoked", "token_id")
        row.revoked_at = utcnow()
        session.flush()
        return _view(row)


def principal_of(db: Database, token: str) -> Principal | None:
    """The project a (not revoked) project token opens; None for any other token."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with db.read() as session:
        row = session.execute(
            select(ApiToken.project_id, ApiToken.read_only).where(
                ApiToken.digest == digest(token), ApiToken.revoked_at.is_(None)
            )
        ).first()
    return Principal(row.project_id, row.read_only) if row is not None else None
