"""A plan request's business rules (contract §5): its size, its seed and its topics."""

from __future__ import annotations

from collections.abc import Sequence

from learning_loop.domain.batch import MAX_BATCH_SIZE
from learning_loop.domain.topics import InvalidTopic, clean_topic
from learning_loop.errors import InvalidInput

MAX_N = MAX_BATCH_SIZE  # the domain planners' bound, under the name the API imports
MAX_TOPICS = 1000


def check_request(
    n: int, topics: Sequence[str] | None, seed: int | None = None
) -> list[str] | None:
    """Check a plan request's business rules; return the cleaned topics."""
    if not 1 <= n <= MAX_N:
        raise InvalidInput(f"n must be a whole number within 1..{MAX_N}, got {n!r}", "n")
    if seed is not None and not -(2**63) <= seed < 2**63:
        raise InvalidInput("seed must fit in 64 bits", "seed")
    if topics is None:
        return None
    if len(topics) > MAX_TOPICS:
        raise InvalidInput(f"at most {MAX_TOPICS} topics per request, got {len(topics)}", "topics")
    cleaned = []
    for i, topic in enumerate(topics):
        try:
            cleaned.append(clean_topic(topic))
        except InvalidTopic as exc:
            raise InvalidInput(f"topics[{i}]: {exc}", "topics") from None
    return cleaned
