"""Every failure as JSON `{"detail": ..., "field": ...}`: a message a person can act on, never
an internal (no traceback, no SQL, no URL, no token)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import (
    DataError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from learning_loop.db.engine import SchemaNotReady
from learning_loop.errors import InvalidFile, LearningLoopError

# The database's faults that mean "unavailable, try again": a 503, never a 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
UNAVAILABLE_DETAIL = "the database is unavailable; try again later"

log = logging.getLogger("learning_loop.api")


class RowErrorView(BaseModel):
    line: int = Field(description="1-based position of the row in the list sent")
    reason: str


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer."""

    detail: str = Field(description="What is wrong, naming the field")
    field: str | None = Field(default=None, description="The field at fault, when one is")
    errors: list[RowErrorView] | None = Field(
        default=None, description="For a rejected list of rows: every bad row and why"
    )


class ApiError(HTTPException):
    """An HTTPException that also names the field at fault."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.field = field


def error_response(
    status_code: int,
    detail: str,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail, "field": field}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status_code, headers=headers)


def field_path(loc: Sequence[Any]) -> str:
    """`("body", "videos", 2, "topic")` -> `videos[2].topic`; `("query", "n")` -> `n`."""
    parts = list(loc)
    if parts[:1] == ["body"] and len(parts) == 2 and isinstance(parts[1], int):
        return "body"  # a JSON decode error: the int is a character offset
    if parts and parts[0] in ("body", "query", "path", "header", "cookie") and len(parts) > 1:
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "json_invalid":
        return f"the body is not valid JSON ({ctx.get('error', 'decode error')})"
    if kind == "missing" and tuple(error.get("loc", ())) == ("body",):
        return "a JSON body is required"
    msg = str(error.get("msg", "is invalid"))
    return msg.removeprefix("Value error, ")


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    shown = [f"{field_path(e.get('loc', ()))}: {_message(e)}" for e in errors[:10]]
    if len(errors) > 10:
        shown.append(f"and {len(errors) - 10} more")
    first = field_path(errors[0].get("loc", ())) if errors else None
    return error_response(422, "; ".join(shown) or "invalid request", first)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(
        exc.status_code,
        str(exc.detail),
        getattr(exc, "field", None),
        headers=getattr(exc, "headers", None),
    )


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LearningLoopError)
    rows = None
    if isinstance(exc, InvalidFile):
        rows = [{"line": e.line, "reason": e.reason} for e in exc.errors]
    return error_response(exc.status_code, exc.message, exc.field, rows)


async def _schema_not_ready(_request: Request, exc: Exception) -> JSONResponse:
    return error_response(503, str(exc), "database")


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # The driver's message can quote the host, user or URL: log the type only.
    log.warning(
        "database unavailable (%s) on %s %s", type(exc).__name__, request.method, request.url.path
    )
    return error_response(503, UNAVAILABLE_DETAIL, "database")


async def _integrity(_request: Request, _exc: Exception) -> JSONResponse:
    return error_response(
        409, "the request conflicts with data written at the same time; try again", None
    )


async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
    # Last line of defence (e.g. a row value past float range): the services should name the field.
    log.warning(
        "rejected out-of-range input (%s) on %s %s",
        type(exc).__name__,
        request.method,
        request.url.path,
    )
    return error_response(422, "a number or date in the request is out of range", None)


async def _bad_text(_request: Request, _exc: Exception) -> JSONResponse:
    return error_response(422, "the request holds text that is not valid Unicode", None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(LearningLoopError, _service_error)
    app.add_exception_handler(SchemaNotReady, _schema_not_ready)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(UnicodeError, _bad_text)


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing or wrong bearer token",
    404: "No such project, or no such object in the project",
    409: "Conflicts with stored data",
    413: "Body larger than the limit",
    415: "Body not sent as application/json",
    422: "Invalid input; `field` names the culprit",
    503: "Database unavailable",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error answers, all with the `ErrorBody` shape."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}
