"""What planning reads (contract §5): the project's sampler state, the seed of its next batch,
and a plan request's batch already written."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from learning_loop.db.models import Experiment, PlannedBatch, Project, VideoJob
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import BASELINE_RECIPE, VARIANT_RECIPE, chunks, recipe_of
from learning_loop.domain.estimates import RecipeEstimates, rank_recipes
from learning_loop.domain.recipe import RECIPE_FIELDS, Recipe
from learning_loop.domain.sampler import (
    PlannerSettings,
    RunningExperiment,
    SamplerState,
    explore_baseline,
    ranked_depth,
)
from learning_loop.domain.statuses import (
    ExperimentStatus,
    ExploitScope,
)
from learning_loop.domain.topics import topic_hash
from learning_loop.services.estimates import project_estimates, videos_of
from learning_loop.services.projects import no_such_project
from learning_loop.services.views import (
    BatchView,
    JobView,
    PlannedBatchView,
    RecipeFields,
    SkippedTopicView,
)

# The planner's reads, built once (a request binds its values; no statement is built anew).
# A taken pair's recipe is its job's `recipe_id`: a backfilled (imported) video has no
# `recipe_hash` of its own (migration 0009).
_TAKEN_PAIRS = (
    select(VideoJob.topic_hash, RecipeRow.recipe_hash)
    .join(RecipeRow, RecipeRow.id == VideoJob.recipe_id)
    .where(
        VideoJob.project_id == bindparam("project_id"),
        VideoJob.topic_hash.in_(bindparam("topic_hashes", expanding=True)),
    )
)
# The running experiments and every experiment opened on the explore baseline, in one read;
# the variant jobs are counted for the running ones only.
_EXPERIMENTS = (
    select(
        Experiment.id,
        Experiment.status,
        Experiment.variable_tested,
        Experiment.variant_value,
        BASELINE_RECIPE.recipe_hash,
        *(getattr(BASELINE_RECIPE, f) for f in RECIPE_FIELDS),
        *(getattr(VARIANT_RECIPE, f) for f in RECIPE_FIELDS),
        case(
            (
                Experiment.status == ExperimentStatus.RUNNING,
                select(func.count())
                .where(VideoJob.experiment_id == Experiment.id)
                .correlate(Experiment)
                .scalar_subquery(),
            ),
        ),
    )
    .join(BASELINE_RECIPE, BASELINE_RECIPE.id == Experiment.baseline_recipe_id)
    .join(VARIANT_RECIPE, VARIANT_RECIPE.id == Experiment.variant_recipe_id)
    .where(
        Experiment.project_id == bindparam("project_id"),
        or_(
            Experiment.status == ExperimentStatus.RUNNING,
            BASELINE_RECIPE.recipe_hash == bindparam("baseline_hash"),
        ),
    )
    .order_by(Experiment.started_at, Experiment.id)
)
_RECENT_BATCHES = (
    select(func.count())
    .select_from(PlannedBatch)
    .where(
        PlannedBatch.project_id == bindparam("project_id"),
        PlannedBatch.created_at >= bindparam("since", type_=PlannedBatch.created_at.type),
    )
)


# The project and its batches of the last days, in one read.
_PROJECT_WITH_RECENT = select(Project, _RECENT_BATCHES.scalar_subquery()).where(
    Project.id == bindparam("project_id")
)


def project_with_recent(
    session: Session, project_id: uuid.UUID, since: dt.datetime
) -> tuple[Project, int]:
    """The project and how many batches it planned since `since`; NotFound without it."""
    found = session.execute(
        _PROJECT_WITH_RECENT, {"project_id": project_id, "since": since}
    ).one_or_none()
    if found is None:
        raise no_such_project(project_id)
    project, recent = found
    return project, recent or 0


def sampler_state(
    session: Session,
    project: Project,
    settings: PlannerSettings,
    topics: Sequence[str] | None,
    n: int,
) -> tuple[SamplerState, RecipeEstimates]:
    """What a batch of `n` needs, and nothing more: the taken topic+recipe pairs of the
    requested topics, the best recipes it can reach by estimate (`ranked_depth` of them, from
    the model fitted on the recipes' stored evidence), the running experiments with their
    variant jobs, and the experiments ever opened on the explore baseline. Its cost does not
    grow with the project's videos; the fit reads the recipes that have evidence."""
    conn = session.connection()  # plain statements: Core's execution path, no ORM pass
    keys: set[tuple[str, str]] = set()
    if topics:
        hashes = sorted({topic_hash(t) for t in topics})
        for part in chunks(hashes):
            params = {"project_id": project.id, "topic_hashes": list(part)}
            rows = conn.execute(_TAKEN_PAIRS, params).tuples()
            keys.update((t, r) for t, r in rows if t is not None and r is not None)
    depth = ranked_depth(settings.top_k, len(keys), n)
    made_only = settings.exploit_scope == ExploitScope.MADE
    estimates = project_estimates(session, project, with_videos=made_only)
    ranked = rank_recipes(estimates, settings.default_recipe, depth, made_only)
    if estimates.videos is None:
        # The summary knows no recipe's videos: the reasons need those of the ranked few.
        counts = videos_of(session, project.id, [r.recipe.recipe_hash for r in ranked])
        ranked = [
            dataclasses.replace(r, rewarded_videos=counts.get(r.recipe.recipe_hash, 0))
            for r in ranked
        ]
    baseline_hash = explore_baseline(ranked, settings.default_recipe).recipe_hash
    width = len(RECIPE_FIELDS)
    running: list[RunningExperiment] = []
    tested: set[tuple[str, str, str]] = set()
    params = {"project_id": project.id, "baseline_hash": baseline_hash}
    for row in conn.execute(_EXPERIMENTS, params):
        exp_id, status, name, value, base_hash = row[:5]
        if base_hash == baseline_hash:
            tested.add((base_hash, name, value))
        if status == ExperimentStatus.RUNNING:
            running.append(
                RunningExperiment(
                    id=str(exp_id),
                    baseline=Recipe(*row[5 : 5 + width]),
                    variant=Recipe(*row[5 + width : 5 + 2 * width]),
                    variable_tested=name,
                    variant_value=value,
                    variant_jobs=row[-1] or 0,
                )
            )
    state = SamplerState(
        ranked=ranked, running=running, tested=frozenset(tested), existing_keys=frozenset(keys)
    )
    return state, estimates


def plan_seed(session: Session, project_id: uuid.UUID) -> int:
    """The seed of the project's next batch when none is given: its id and how many batches it
    has, hashed. The preview and the plan that follows it derive the same seed, so they agree
    while nothing changes in between (issue #29, point 1); each batch gets a new one."""
    batches = session.scalar(
        select(func.count()).select_from(PlannedBatch).where(PlannedBatch.project_id == project_id)
    )
    digest = hashlib.sha256(f"{project_id}:{batches or 0}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # within the 63 bits `check_request` takes


def existing_batch(session: Session, plan_request_id: uuid.UUID) -> PlannedBatchView | None:
    """The batch a plan request has already yielded, with its jobs; None before it has one."""
    batch = session.scalar(
        select(PlannedBatch).where(PlannedBatch.plan_request_id == plan_request_id)
    )
    if batch is None:
        return None
    jobs = session.execute(
        select(VideoJob, RecipeRow)
        .join(RecipeRow, RecipeRow.id == VideoJob.recipe_id)
        .where(VideoJob.batch_id == batch.id)
        .order_by(VideoJob.batch_position, VideoJob.id)
    ).all()
    return PlannedBatchView(
        batch=BatchView.model_validate(batch),
        jobs=[job_view(job, recipe_of(recipe)) for job, recipe in jobs],
        skipped_topics=[SkippedTopicView(**s) for s in batch.skipped_topics],
    )


def job_view(job: VideoJob, recipe: Recipe) -> JobView:
    """A planned job as the services show it (a batch just written, or one read back)."""
    return JobView(
        id=job.id,
        batch_id=job.batch_id,
        generation_mode=job.generation_mode,
        status=job.status,
        topic=job.topic,
        recipe=RecipeFields.of(recipe),
        recipe_hash=job.recipe_hash,
        experiment_id=job.experiment_id,
        external_id=job.external_id,
        published_at=job.published_at,
        plan=job.plan,
        plan_status=job.plan_status,
        plan_error=job.plan_error,
        selection_probability=job.selection_probability,
    )
