"""The admin router's route class: a JSON body must come as JSON (415 otherwise)."""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from api.errors import ApiError


def is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class JSONBodyRoute(APIRoute):
    """Left alone, FastAPI treats a form or text body as "not an object" and answers a
    puzzling 422; this answers 415 naming the Content-Type instead."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def json_only(request: Request) -> Response:
            content_type = request.headers.get("content-type")
            if not is_json(content_type) and (content_type or await request.body()):
                raise ApiError(
                    415,
                    f"Content-Type must be application/json, got {(content_type or 'none')[:80]!r}",
                    "Content-Type",
                )
            try:
                await request.json()  # cached: FastAPI parses it no second time
            except json.JSONDecodeError:
                pass  # FastAPI reports it, with the position
            except (ValueError, RecursionError) as exc:
                # e.g. an integer past Python's 4300 digits, or nesting past the stack:
                # FastAPI would answer a bare 400.
                reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
                raise ApiError(
                    422, f"the body is not valid JSON ({str(reason)[:120]})", "body"
                ) from None
            return await handler(request)

        return json_only


def resource_router(**kwargs: Any) -> APIRouter:
    """A resource's router; included routes keep their class, so every one is a JSONBodyRoute."""
    return APIRouter(route_class=JSONBodyRoute, **kwargs)
