"""Planning a batch (contract §5-§6): read the project's state, run the sampler, preview or
write."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, case, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from learning_loop.db.engine import Database
from learning_loop.db.models import Experiment, PlannedBatch, Project, VideoJob
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import (
    BASELINE_RECIPE,
    VARIANT_RECIPE,
    chunks,
    ensure_recipes,
    recipe_of,
)
from learning_loop.domain.batch import MAX_BATCH_SIZE, is_new_experiment
from learning_loop.domain.estimates import RecipeEstimates, rank_recipes
from learning_loop.domain.recipe import RECIPE_FIELDS, Recipe
from learning_loop.domain.sampler import (
    BatchPlan,
    PlannerSettings,
    RunningExperiment,
    SamplerState,
    explore_baseline,
    plan_batch,
    ranked_depth,
)
from learning_loop.domain.statuses import (
    ExperimentStatus,
    ExploitScope,
    GenerationMode,
    JobStatus,
    PlannerBackend,
    PlanStatus,
    Policy,
)
from learning_loop.domain.topics import InvalidTopic, clean_topic, topic_hash
from learning_loop.errors import Conflict, InvalidInput
from learning_loop.planner.template import build_template_plan
from learning_loop.services.estimates import project_estimates, videos_of
from learning_loop.services.projects import get_project, no_such_project, planner_settings
from learning_loop.services.recipes import ranked_recipe_rows, recipe_views
from learning_loop.services.views import (
    BatchView,
    JobView,
    PlannedBatchView,
    PreviewView,
    RecipeFields,
    RecommendationView,
    SkippedTopicView,
)

MAX_N = MAX_BATCH_SIZE  # the domain planners' bound, under the name the API imports
MAX_TOPICS = 1000
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
                Experiment.status == ExperimentStatus.RUNNING.value,
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
            Experiment.status == ExperimentStatus.RUNNING.value,
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


def plan_seed(session: Session, project_id: uuid.UUID) -> int:
    """The seed of the project's next batch when none is given: its id and how many batches it
    has, hashed. The preview and the plan that follows it derive the same seed, so they agree
    while nothing changes in between (issue #29, point 1); each batch gets a new one."""
    batches = session.scalar(
        select(func.count()).select_from(PlannedBatch).where(PlannedBatch.project_id == project_id)
    )
    digest = hashlib.sha256(f"{project_id}:{batches or 0}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # within the 63 bits `check_request` takes


def _recipe_fields(recipe: Recipe) -> RecipeFields:
    return RecipeFields.of(recipe)


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
        found = session.execute(
            _PROJECT_WITH_RECENT, {"project_id": project_id, "since": since}
        ).one_or_none()
        if found is None:
            raise no_such_project(project_id)
        project, recent = found
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
                    recipe=_recipe_fields(r.recipe),
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
            recent_batches=recent or 0,
            skipped_topics=[
                SkippedTopicView(topic=s.topic, reason=s.reason) for s in plan.skipped_topics
            ],
            note=plan.note,
        )


def _lock_project(session: Session, project_id: uuid.UUID) -> None:
    # Planners of one project queue here; the unique keys stay as the last line of defence.
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(project_id.bytes[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _write_plan(
    session: Session,
    project: Project,
    plan: BatchPlan,
    seed: int | None,
    plan_request_id: uuid.UUID | None,
    now: dt.datetime,
) -> PlannedBatchView:
    needed: list[Recipe] = [r.recipe for r in plan.recommendations]
    for new in plan.new_experiments:
        needed += [new.baseline, new.variant]
    recipes = ensure_recipes(session, project.id, needed)
    experiment_ids: dict[str, uuid.UUID] = {}
    for new in plan.new_experiments:
        exp = Experiment(
            id=uuid.uuid4(),
            project_id=project.id,
            baseline_recipe_id=recipes[new.baseline.recipe_hash].id,
            variant_recipe_id=recipes[new.variant.recipe_hash].id,
            variable_tested=new.variable_tested,
            baseline_value=new.baseline_value,
            variant_value=new.variant_value,
            status=ExperimentStatus.RUNNING.value,
            started_at=now,
        )
        session.add(exp)
        experiment_ids[new.key] = exp.id
    batch = PlannedBatch(
        id=uuid.uuid4(),
        project_id=project.id,
        batch_date=now.date(),
        requested=plan.requested,
        exploit_count=plan.exploit_count,
        explore_count=plan.explore_count,
        jobs_created=len(plan.recommendations),
        jobs_completed=0,
        seed=seed,
        note=plan.note,
        skipped_topics=[{"topic": s.topic, "reason": s.reason} for s in plan.skipped_topics],
        plan_request_id=plan_request_id,
        created_at=now,
    )
    session.add(batch)
    session.flush()
    jobs = []
    # The template backend is offline and takes a millisecond: its plans are written here, ready.
    # Any other backend is never waited on: its jobs start pending, and `video_plans` plans them
    # after this transaction (contract §8).
    inline = project.planner_backend == PlannerBackend.TEMPLATE
    for position, rec in enumerate(plan.recommendations):
        exp_id = None
        if rec.experiment is not None:
            exp_id = experiment_ids.get(rec.experiment) or uuid.UUID(rec.experiment)
        row = recipes[rec.recipe_hash]
        plan_doc = None
        if inline:
            plan_doc = build_template_plan(
                rec.topic or untitled_idea(rec.recipe), rec.recipe, project.target_duration_s
            ).model_dump(mode="json")
        job = VideoJob(
            id=uuid.uuid4(),
            project_id=project.id,
            recipe_id=row.id,
            recipe_hash=rec.recipe_hash,
            experiment_id=exp_id,
            generation_mode=rec.type,
            batch_id=batch.id,
            batch_position=position,
            topic=rec.topic,
            topic_hash=rec.topic_hash,
            status=JobStatus.QUEUED.value,
            plan=plan_doc,
            plan_status=(PlanStatus.READY if inline else PlanStatus.PENDING).value,
            plan_attempts=0,
            selection_probability=rec.probability,
            created_at=now,
        )
        session.add(job)
        jobs.append((job, rec.recipe))
    session.flush()
    for h, count in _count(r.recipe_hash for r in plan.recommendations).items():
        session.execute(
            update(RecipeRow)
            .where(RecipeRow.id == recipes[h].id)
            .values(
                times_used=RecipeRow.times_used + count,
                planned_videos=RecipeRow.planned_videos + count,
            )
        )
    return PlannedBatchView(
        batch=BatchView.model_validate(batch),
        jobs=[_job_view(job, recipe) for job, recipe in jobs],
        skipped_topics=[
            SkippedTopicView(topic=s.topic, reason=s.reason) for s in plan.skipped_topics
        ],
    )


def untitled_idea(recipe: Recipe) -> str:
    """The idea of a job planned without a topic: the writers fill it in later."""
    return f"An untitled {recipe.hook_type} short in the {recipe.preset.lower()} style"


def _is_hashable_topic(topic: str) -> bool:
    try:
        topic_hash(topic)
    except InvalidTopic:
        return False
    return True


def existing_batch(session: Session, plan_request_id: uuid.UUID) -> PlannedBatchView | None:
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
        jobs=[_job_view(job, recipe_of(recipe)) for job, recipe in jobs],
        skipped_topics=[SkippedTopicView(**s) for s in batch.skipped_topics],
    )


def _job_view(job: VideoJob, recipe: Recipe) -> JobView:
    return JobView(
        id=job.id,
        batch_id=job.batch_id,
        generation_mode=GenerationMode(job.generation_mode),
        status=JobStatus(job.status),
        topic=job.topic,
        recipe=_recipe_fields(recipe),
        recipe_hash=job.recipe_hash,
        experiment_id=job.experiment_id,
        external_id=job.external_id,
        published_at=job.published_at,
        plan=job.plan,
        plan_status=PlanStatus(job.plan_status) if job.plan_status else None,
        plan_error=job.plan_error,
        selection_probability=job.selection_probability,
    )


def _count(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


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
                    used = {r.topic_hash for r in plan.recommendations}
                    used |= {
                        topic_hash(s.topic)
                        for s in plan.skipped_topics
                        if _is_hashable_topic(s.topic)
                    }
                    project.topic_backlog = [
                        t for t in (cleaned or []) if topic_hash(t) not in used
                    ]
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
