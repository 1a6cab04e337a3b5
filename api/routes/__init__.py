"""One router per resource; `admin_router` gathers them behind the admin token."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ADMIN_PREFIX, AdminDep
from api.errors import responses
from api.routes import (
    collector,
    experiments,
    metrics,
    plan_requests,
    projects,
    recipes,
    recommendations,
    report,
    runs,
    stats,
    video_jobs,
    videos,
)
from api.routing import JSONBodyRoute

__all__ = ["ADMIN_PREFIX", "admin_router"]


def admin_router() -> APIRouter:
    router = APIRouter(
        prefix=ADMIN_PREFIX,
        dependencies=[AdminDep],
        route_class=JSONBodyRoute,
        responses=responses(401, 422, 503),
    )
    for module in (
        recommendations,
        recipes,
        experiments,
        stats,
        projects,
        videos,
        metrics,
        video_jobs,
        plan_requests,
        report,
        runs,
        collector,
    ):
        router.include_router(module.router)
    return router
