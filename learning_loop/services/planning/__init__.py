"""Planning a batch (contract §5-§6): read the project's state, run the sampler, preview or
write.

The package holds the service's two operations, `preview` and `plan_and_write` (its retry
loop), over one module per job: the request's checks (`checks`), the reads (`reads`), the
choice of the batch (`choice`) and the writes (`writes`).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.queries import PLANNING_LOCK, lock_project
from learning_loop.domain.batch import is_new_experiment
from learning_loop.errors import Conflict, InvalidInput
from learning_loop.services.planning.checks import MAX_N, MAX_TOPICS, check_request
from learning_loop.services.planning.choice import backlog_left, sample
from learning_loop.services.planning.reads import (
    existing_batch,
    plan_seed,
    project_with_recent,
    sampler_state,
)
from learning_loop.services.planning.writes import untitled_idea
from learning_loop.services.planning.writes import write_plan as _write_plan
from learning_loop.services.projects import get_project, planner_settings
from learning_loop.services.recipes import ranked_recipe_rows, recipe_views
from learning_loop.services.views import (
    PlannedBatchView,
    PreviewView,
    RecipeFields,
    RecommendationView,
    SkippedTopicView,
)

__all__ = [
    "CONFLICT_RECORD",
    "MAX_N",
    "MAX_TOPICS",
    "RECENT_BATCH_DAYS",
    "WRITE_ATTEMPTS",
    "check_request",
    "existing_batch",
    "plan_and_write",
    "plan_seed",
    "preview",
    "sample",
    "sampler_state",
    "untitled_idea",
]

RECENT_BATCH_DAYS = 7
# A unique key fails an attempt only when another planner of the project committed first, so
# each such failure is another batch written: 16 attempts outlast 15 rival batches in between.
WRITE_ATTEMPTS = 16
# Between attempts a planner waits a random time up to base * 2**attempt (capped), so rivals
# that planned the same recipes from the same state stop colliding in lockstep.
RETRY_BASE_S = 0.02
RETRY_CAP_S = 0.5

logger = logging.getLogger(__name__)
# The record of an attempt rolled back on a conflict (how often planners of a project collide).
CONFLICT_RECORD = "planning attempt %d of %d for project %s hit a conflict (%s)"
# The wait between attempts is not part of a plan: its randomness must not touch plan seeds.
_jitter = random.SystemRandom()


def preview(
    db: Database,
    project_id: uuid.UUID,
    n: int = 5,
    topics: Sequence[str] | None = None,
    seed: int | None = None,
) -> PreviewView:
    """What the next batch would be; writes nothing."""
    cleaned = check_request(n, topics, seed)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=RECENT_BATCH_DAYS)
    with db.read() as session:
        project, recent = project_with_recent(session, project_id, since)
        settings = planner_settings(project)
        state, estimates = sampler_state(session, project, settings, cleaned, n)
        if seed is None:
            seed = plan_seed(session, project.id)
        plan = sample(project, settings, n, cleaned, state, estimates, seed)
        top = ranked_recipe_rows(session, project.id, project.top_k, estimated_only=True)
        return PreviewView(
            recommendations=[
                RecommendationView(
                    type=r.type,
                    recipe=RecipeFields.of(r.recipe),
                    recipe_hash=r.recipe_hash,
                    topic=r.topic,
                    reason=r.reason,
                    # A new experiment has no id before the batch is written.
                    experiment=None if is_new_experiment(r.experiment) else r.experiment,
                    new_experiment=is_new_experiment(r.experiment),
                    probability=r.probability,
                )
                for r in plan.recommendations
            ],
            top_recipes=recipe_views(top),
            running_experiments=len(state.running),
            recent_batches=recent,
            skipped_topics=[
                SkippedTopicView(topic=s.topic, reason=s.reason) for s in plan.skipped_topics
            ],
            note=plan.note,
        )


def _lock_project(session: Session, project_id: uuid.UUID) -> None:
    # Planners of one project queue here; the unique keys stay as the last line of defence.
    lock_project(session, PLANNING_LOCK, project_id)


def plan_and_write(
    db: Database,
    project_id: uuid.UUID,
    n: int = 5,
    topics: Sequence[str] | None = None,
    seed: int | None = None,
    plan_request_id: uuid.UUID | None = None,
    planned_at: dt.datetime | None = None,
    from_backlog: bool = False,
) -> PlannedBatchView:
    """Plan a batch and write it, its jobs and any new recipes/experiments in one transaction.

    A concurrent planner that wrote first makes our insert hit a unique key; the whole
    transaction then rolls back and we plan again from the new state, so no batch is lost.
    With `from_backlog`, the topics come from the project's backlog, and the ones planned or
    skipped as used up leave it in the same transaction. A plan request yields one batch only:
    asked again, the batch already written is returned. `planned_at` (default: now) dates the
    batch, its jobs and its new experiments, for replaying history (the demo does).
    """
    cleaned = None if from_backlog else check_request(n, topics, seed)
    if from_backlog:
        check_request(n, None, seed)
    when = planned_at or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        raise InvalidInput("planned_at must carry a time zone", "planned_at")
    last: Exception | None = None
    # `_lock_project` and `_write_plan` are read from this module at each call: a test replaces
    # them to take the lock away, or to hold a write back.
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            with db.transaction() as session:
                project = get_project(session, project_id)
                _lock_project(session, project.id)
                if plan_request_id is not None:
                    done = existing_batch(session, plan_request_id)
                    if done is not None:
                        return done
                if from_backlog:
                    cleaned = list(project.topic_backlog or [])
                settings = planner_settings(project)
                state, estimates = sampler_state(session, project, settings, cleaned, n)
                batch_seed = plan_seed(session, project.id) if seed is None else seed
                plan = sample(project, settings, n, cleaned, state, estimates, batch_seed)
                if from_backlog:
                    project.topic_backlog = backlog_left(cleaned or [], plan)
                return _write_plan(session, project, plan, batch_seed, plan_request_id, when)
        except (IntegrityError, OperationalError) as exc:
            last = exc
            # One record per rolled-back attempt: how often planners of a project collide.
            logger.info(
                CONFLICT_RECORD,
                attempt,
                WRITE_ATTEMPTS,
                project_id,
                type(exc).__name__,
            )
            if attempt < WRITE_ATTEMPTS:
                time.sleep(_jitter.uniform(0.0, min(RETRY_BASE_S * 2**attempt, RETRY_CAP_S)))
    raise Conflict(f"could not write the batch after {WRITE_ATTEMPTS} attempts: {last}", "batch")
