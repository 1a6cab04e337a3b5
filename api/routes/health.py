"""`GET /health`: open, no token; says whether the database answers."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response

from api.schemas import HealthView
from learning_loop.db.engine import SchemaNotReady

router = APIRouter(tags=["health"])
log = logging.getLogger("learning_loop.api")


@router.get("/health", responses={503: {"model": HealthView, "description": "Database down"}})
def health(request: Request, response: Response) -> HealthView:
    try:
        db = request.app.state.database.get()
        # A raw DBAPI connection: no SQLAlchemy BEGIN, so a probe never queues behind a writer.
        conn = db.engine.raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        finally:
            conn.close()
    except SchemaNotReady:
        response.status_code = 503
        return HealthView(status="unavailable", database="schema_not_ready")
    except Exception as exc:
        log.warning("health: database unreachable (%s)", type(exc).__name__)
        response.status_code = 503
        return HealthView(status="unavailable", database="unreachable")
    return HealthView(status="ok", database="ok")
