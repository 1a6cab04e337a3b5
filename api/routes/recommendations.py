"""The next batch as it would be planned now: a preview that writes nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from api.deps import ProjectIdQuery, ReadsDep
from api.errors import ApiError, responses
from api.routing import resource_router
from api.schemas import INT64_MAX, INT64_MIN
from learning_loop.services import planning
from learning_loop.services.views import PreviewView

router = resource_router(tags=["recommendations"])


def split_topics(topics: str | None) -> list[str] | None:
    if topics is None:
        return None
    if not topics.strip():
        raise ApiError(422, "topics must name at least one topic (omit it for none)", "topics")
    # The service checks each topic (empty, too long, control characters) and the count.
    return topics.split(",")


@router.get("/recommendations", responses=responses(404), summary="Preview the next batch")
async def recommendations(
    reads: ReadsDep,
    project_id: ProjectIdQuery,
    n: Annotated[int, Query(ge=1, le=planning.MAX_N, description="Videos to plan")] = 5,
    topics: Annotated[
        str | None,
        Query(
            description=f"Comma-separated topics in order of use (at most {planning.MAX_TOPICS})"
        ),
    ] = None,
    seed: Annotated[int | None, Query(ge=INT64_MIN, le=INT64_MAX)] = None,
) -> PreviewView:
    """`recommendations` (exploit/explore, recipe, topic, reason, experiment), `top_recipes`,
    `running_experiments`, `recent_batches` (last 7 days), and topics it had to skip."""
    return await reads(planning.preview, project_id, n, split_topics(topics), seed)
