"""What planning writes (contract §5-§6, §8): a batch, its jobs, its new recipes and
experiments, and the recipes' counts, in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

from sqlalchemy import update
from sqlalchemy.orm import Session

from learning_loop.db.models import Experiment, PlannedBatch, Project, VideoJob
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import ensure_recipes
from learning_loop.domain.recipe import Recipe
from learning_loop.domain.sampler import BatchPlan
from learning_loop.domain.statuses import ExperimentStatus, JobStatus, PlannerBackend, PlanStatus
from learning_loop.planner.template import build_template_plan
from learning_loop.services.planning.reads import job_view
from learning_loop.services.views import BatchView, PlannedBatchView, SkippedTopicView


def write_plan(
    session: Session,
    project: Project,
    plan: BatchPlan,
    seed: int | None,
    plan_request_id: uuid.UUID | None,
    now: dt.datetime,
) -> PlannedBatchView:
    """Write `plan` as the project's next batch, dated `now`; the unique keys fail it when
    another planner of the project wrote the same topic and recipe first."""
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
            status=ExperimentStatus.RUNNING,
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
            status=JobStatus.QUEUED,
            plan=plan_doc,
            plan_status=PlanStatus.READY if inline else PlanStatus.PENDING,
            plan_attempts=0,
            selection_probability=rec.probability,
            created_at=now,
        )
        session.add(job)
        jobs.append((job, rec.recipe))
    session.flush()
    for h, count in Counter(r.recipe_hash for r in plan.recommendations).items():
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
        jobs=[job_view(job, recipe) for job, recipe in jobs],
        skipped_topics=[
            SkippedTopicView(topic=s.topic, reason=s.reason) for s in plan.skipped_topics
        ],
    )


def untitled_idea(recipe: Recipe) -> str:
    """The idea of a job planned without a topic: the writers fill it in later."""
    return f"An untitled {recipe.hook_type} short in the {recipe.preset.lower()} style"
