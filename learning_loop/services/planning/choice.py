"""The choice of a batch (contract §5-§6): the project's policy run on the state read, and the
backlog's topics it leaves. Reads and writes nothing."""

from __future__ import annotations

from collections.abc import Sequence

from learning_loop.db.models import Project
from learning_loop.domain.estimates import RecipeEstimates
from learning_loop.domain.sampler import BatchPlan, PlannerSettings, SamplerState, plan_batch
from learning_loop.domain.statuses import Policy
from learning_loop.domain.topics import InvalidTopic, topic_hash


def sample(
    project: Project,
    settings: PlannerSettings,
    n: int,
    topics: Sequence[str] | None,
    state: SamplerState,
    estimates: RecipeEstimates,
    seed: int | None,
) -> BatchPlan:
    """The project's policy: the seed's 70/30 (default) or Thompson sampling (opt-in), both
    learning from the same evidence."""
    if project.policy == Policy.THOMPSON:
        from learning_loop.domain.thompson import plan_batch_thompson

        return plan_batch_thompson(n, topics, state, settings, seed, summary=estimates.summary)
    return plan_batch(n, topics, state, settings, seed)


def backlog_left(backlog: Sequence[str], plan: BatchPlan) -> list[str]:
    """The backlog's topics that stay in it after `plan`: not planned, nor skipped as used up."""
    used = {r.topic_hash for r in plan.recommendations}
    used |= {topic_hash(s.topic) for s in plan.skipped_topics if _is_hashable_topic(s.topic)}
    return [t for t in backlog if topic_hash(t) not in used]


def _is_hashable_topic(topic: str) -> bool:
    try:
        topic_hash(topic)
    except InvalidTopic:
        return False
    return True
