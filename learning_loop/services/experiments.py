"""A/B evaluation of running experiments (contract §7: an always-valid early look every day, then
one Welch look at min_samples) and experiment listings with where each experiment stands."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel
from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session, aliased

from learning_loop.db.engine import Database
from learning_loop.db.models import (
    Experiment,
    Project,
    RewardDate,
    VideoJob,
    VideoReward,
)
from learning_loop.db.queries import BASELINE_RECIPE, VARIANT_RECIPE, chunks
from learning_loop.db.reward_history import newest_reward_of
from learning_loop.domain import arms, guardrail, sequential
from learning_loop.domain.arms import BASELINE_MODE, baseline_arm, evaluation_end
from learning_loop.domain.experiments import (
    allocation_p_value,
    at_final_look,
    expected_days_to_verdict,
    past_deadline,
    pooled_fields,
)
from learning_loop.domain.guardrail import GuardrailArms
from learning_loop.domain.statuses import ExperimentStatus, Guardrail
from learning_loop.services.pooled import final_look, pooled_evidence, read_cells
from learning_loop.services.projects import get_project
from learning_loop.services.views import ExperimentStanding, ExperimentView


class Decision(BaseModel):
    experiment_id: uuid.UUID
    project_id: uuid.UUID
    variable_tested: str
    baseline_value: str
    variant_value: str
    winner: str
    reason: str
    difference: float | None
    p_value: float | None
    guardrail: str | None = None
    guardrail_p_value: float | None = None


class EvaluationResult(BaseModel):
    as_of: dt.date
    evaluated: int
    completed: int
    still_running: int
    decisions: list[Decision]


def _baseline_jobs(stamp: Any, end: dt.datetime) -> Any:
    """The join of an experiment (and its BASELINE_RECIPE) to the jobs that may make its
    baseline arm, by the index of exploit jobs `(project_id, recipe_hash, published_at)`: the
    read of the rule's candidates, which `arms.baseline_arm` then decides on (`stamp`:
    published_at for the arm, created_at for what was planned)."""
    return (
        (VideoJob.project_id == Experiment.project_id)
        & (VideoJob.generation_mode == BASELINE_MODE)
        & (VideoJob.recipe_hash == BASELINE_RECIPE.recipe_hash)
        & (stamp >= Experiment.started_at)
        & (stamp < end)
    )


# What `arms.baseline_arm` reads of each candidate job (with `stamp`): its mode and recipe, the
# experiment's baseline recipe and start.
def _candidate_columns(stamp: Any) -> tuple[Any, ...]:
    return (
        VideoJob.generation_mode,
        VideoJob.recipe_hash,
        stamp,
        BASELINE_RECIPE.recipe_hash,
        Experiment.started_at,
    )


def _in_arm(rows: Sequence[Any], end: dt.datetime) -> list[bool]:
    """`arms.baseline_arm` over candidate rows of one experiment (`_candidate_columns`)."""
    if not rows:
        return []
    modes, recipes, stamps, baselines, starts = zip(*rows, strict=True)
    taken: list[bool] = baseline_arm(modes, recipes, stamps, baselines[0], starts[0], end).tolist()
    return taken


# An arm's video as the verdict reads it: its current reward, and that reward row's components
# (the guardrail's values; None when they were not read).
class Scored(NamedTuple):
    reward: float
    components: dict[str, float] | None = None


Arms = dict[uuid.UUID, list[Scored]]


def _arm_rewards(
    session: Session,
    as_of: dt.date,
    scope: Sequence[uuid.UUID] | None,
    experiment_ids: Sequence[uuid.UUID] | None = None,
    components: bool = False,
) -> tuple[Arms, Arms]:
    """Current rewards (as of the date) of the arms of the experiments running on the date (only
    those of `experiment_ids` when given: a listed page), with each reward row's components
    when `components` (the guardrail's values).

    The arms' videos are found first (the variant arm's by their link, the baseline arm's by
    `arms.baseline_arm` over the candidates the index reads); each one's newest reward is then
    one primary-key lookup, instead of working out every video's current reward in the database.
    """
    end = evaluation_end(as_of)
    running = [Experiment.status == ExperimentStatus.RUNNING, Experiment.started_at < end]
    if scope is not None:
        running.append(Experiment.project_id.in_(scope))
    if experiment_ids is not None:
        running.append(Experiment.id.in_(list(experiment_ids)))
    variant_arm = (
        select(Experiment.id.label("experiment_id"), VideoJob.id.label("video_id"))
        .join(VideoJob, VideoJob.experiment_id == Experiment.id)
        .where(*running)
        .subquery("variant_arm")
    )
    candidates = (
        select(
            Experiment.id.label("experiment_id"),
            VideoJob.id.label("video_id"),
            *_candidate_columns(VideoJob.published_at),
        )
        .join(BASELINE_RECIPE, BASELINE_RECIPE.id == Experiment.baseline_recipe_id)
        .join(VideoJob, _baseline_jobs(VideoJob.published_at, end))
        .where(*running)
        .subquery("baseline_candidates")
    )
    read = COMPONENT_COLUMNS if components else ()
    rest = 3 + len(read)  # where a row's arm columns begin

    def scored(row: Any) -> Scored:
        values = dict(zip(read, map(float, row[3:rest]), strict=True)) if read else None
        return Scored(float(row[2]), values)

    variant: Arms = defaultdict(list)
    for row in session.execute(_scored(variant_arm, as_of, read)):
        variant[row[0]].append(scored(row))
    found: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in session.execute(_scored(candidates, as_of, read)):
        found[row[0]].append(row)
    baseline: Arms = defaultdict(list)
    for exp_id, rows in found.items():
        taken = _in_arm([row[rest:] for row in rows], end)
        baseline[exp_id] = [scored(row) for row, t in zip(rows, taken, strict=True) if t]
    return variant, baseline


# The reward components a guardrail may read, as the reward rows name them.
COMPONENT_COLUMNS: tuple[str, ...] = tuple(
    guardrail.column_of(g) for g in Guardrail if g is not Guardrail.NONE
)


def _scored(arm: Any, as_of: dt.date, components: Sequence[str] = ()) -> Any:
    """(experiment_id, video_id, current reward, its row's `components`..., the arm's other
    columns...) of the arm's videos with a reward as of the date, by video. The date's own row
    is the newest; only a video outside the date's window (or without a snapshot by its end)
    needs the probes of its newest older row."""
    today = aliased(VideoReward, name="today")
    reward = func.coalesce(today.reward, newest_reward_of(arm.c.video_id, as_of)).label("reward")
    values = [
        func.coalesce(getattr(today, name), newest_reward_of(arm.c.video_id, as_of, name)).label(
            name
        )
        for name in components
    ]
    rest = [c for c in arm.c if c.key not in ("experiment_id", "video_id")]
    scored = (
        select(arm.c.experiment_id, arm.c.video_id, reward, *values, *rest)
        .outerjoin(today, and_(today.video_id == arm.c.video_id, today.reward_date == as_of))
        .subquery("scored")
    )
    return select(*scored.c).where(scored.c.reward.is_not(None)).order_by(scored.c.video_id)


def _values(arm: Sequence[Scored]) -> list[float]:
    return [s.reward for s in arm]


def _guardrail_arms(
    component: Guardrail, baseline: Sequence[Scored], variant: Sequence[Scored]
) -> GuardrailArms:
    """The project's guardrail and its arms' values of the component (`domain.guardrail`)."""
    if component is Guardrail.NONE:
        return GuardrailArms(component)
    column = guardrail.column_of(component)

    def of(arm: Sequence[Scored]) -> list[float]:
        return [s.components[column] for s in arm if s.components is not None]

    return GuardrailArms(component, of(baseline), of(variant))


def _planned(
    session: Session, as_of: dt.date, experiment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Each experiment's planned videos by the end of the date, (baseline arm, variant arm): the
    jobs linked to it, and the jobs `arms.baseline_arm` takes by their creation (the exploit
    jobs with its baseline recipe made since it started); the allocation check compares them
    with the arms' rewarded videos."""
    end = evaluation_end(as_of)
    out: dict[uuid.UUID, tuple[int, int]] = {}
    for ids in chunks(list(experiment_ids)):
        variant = dict(
            session.execute(
                select(VideoJob.experiment_id, func.count())
                .where(VideoJob.experiment_id.in_(list(ids)), VideoJob.created_at < end)
                .group_by(VideoJob.experiment_id)
            )
            .tuples()
            .all()
        )
        found: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for row in session.execute(
            select(Experiment.id, *_candidate_columns(VideoJob.created_at))
            .join(BASELINE_RECIPE, BASELINE_RECIPE.id == Experiment.baseline_recipe_id)
            .join(VideoJob, _baseline_jobs(VideoJob.created_at, end))
            .where(Experiment.id.in_(list(ids)))
        ):
            found[row[0]].append(row[1:])
        out.update(
            (eid, (sum(_in_arm(found.get(eid, []), end)), variant.get(eid, 0))) for eid in ids
        )
    return out


def evaluate_experiments(
    db: Database, as_of: dt.date, project_ids: Sequence[uuid.UUID] | None = None
) -> EvaluationResult:
    """Complete the experiments that reached their samples or deadline; the verdict is final."""
    end = evaluation_end(as_of)
    with db.transaction() as session:
        stmt = (
            select(Experiment, Project)
            .join(Project, Project.id == Experiment.project_id)
            .where(Experiment.status == ExperimentStatus.RUNNING, Experiment.started_at < end)
            .order_by(Experiment.started_at, Experiment.id)
        )
        if project_ids is not None:
            stmt = stmt.where(Experiment.project_id.in_(list(project_ids)))
        pairs = session.execute(stmt).all()
        scope = None if project_ids is None else list(project_ids)
        variant, baseline = (
            _arm_rewards(session, as_of, scope, components=True) if pairs else ({}, {})
        )
        pooled, indices = pooled_evidence(session, as_of, pairs)
        # The time cells of the projects with an experiment at its final look, read at once.
        cells = read_cells(
            session,
            db.dialect,
            as_of,
            list(
                {
                    project.id: project
                    for experiment, project in pairs
                    if experiment.id in indices
                    and at_final_look(
                        len(baseline.get(experiment.id, [])),
                        len(variant.get(experiment.id, [])),
                        project.min_samples,
                        past_deadline(experiment.started_at, end, project.max_days),
                    )
                }.values()
            ),
        )
        planned = _planned(session, as_of, [experiment.id for experiment, _ in pairs])
        decisions = []
        completed: list[dict[str, Any]] = []
        now = dt.datetime.now(dt.UTC)
        for experiment, project in pairs:
            b_arm, v_arm = baseline.get(experiment.id, []), variant.get(experiment.id, [])
            b, v = _values(b_arm), _values(v_arm)
            planned_arms = planned[experiment.id]
            verdict = arms.verdict(
                b,
                v,
                experiment.started_at,
                end,
                arms.VerdictRule(project.alpha, project.min_samples, project.max_days),
                pooled.get(experiment.id),
                planned_arms,
                _guardrail_arms(project.guardrail, b_arm, v_arm),
                final_look(cells.get(project.id), indices.get(experiment.id), project.alpha),
            )
            if verdict is None:
                continue
            completed.append(
                {
                    "id": experiment.id,
                    "status": ExperimentStatus.COMPLETED,
                    "completed_at": now,
                    "decided_as_of": as_of,
                    "baseline_avg_reward": verdict.baseline_mean,
                    "variant_avg_reward": verdict.variant_mean,
                    "baseline_n": verdict.baseline_n,
                    "variant_n": verdict.variant_n,
                    "difference": verdict.difference,
                    "ci_low": verdict.ci_low,
                    "ci_high": verdict.ci_high,
                    "p_value": verdict.p_value,
                    "winner": verdict.winner,
                    "reason": verdict.reason,
                    "decision_rule": verdict.rule,
                    "mde": verdict.mde,
                    "pooled_difference": verdict.pooled_difference,
                    "pooled_ci_low": verdict.pooled_ci_low,
                    "pooled_ci_high": verdict.pooled_ci_high,
                    "pooled_p_value": verdict.pooled_p_value,
                    "pooled_time_adjusted": verdict.pooled_time_adjusted,
                    "allocation_p_value": allocation_p_value(planned_arms, (len(b), len(v))),
                    "guardrail": verdict.guardrail,
                    "guardrail_p_value": verdict.guardrail_p_value,
                }
            )
            decisions.append(
                Decision(
                    experiment_id=experiment.id,
                    project_id=experiment.project_id,
                    variable_tested=experiment.variable_tested,
                    baseline_value=experiment.baseline_value,
                    variant_value=experiment.variant_value,
                    winner=verdict.winner,
                    reason=verdict.reason,
                    difference=verdict.difference,
                    p_value=verdict.p_value,
                    guardrail=verdict.guardrail,
                    guardrail_p_value=verdict.guardrail_p_value,
                )
            )
        if completed:
            # One batched UPDATE by primary key for every verdict of the date.
            session.execute(update(Experiment), completed)
        return EvaluationResult(
            as_of=as_of,
            evaluated=len(pairs),
            completed=len(decisions),
            still_running=len(pairs) - len(decisions),
            decisions=decisions,
        )


def experiment_views(
    session: Session,
    project_id: uuid.UUID,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ExperimentView]:
    base, variant = BASELINE_RECIPE, VARIANT_RECIPE
    # Counted per listed experiment (an index probe each), not over the project's jobs.
    jobs = (
        select(func.count())
        .where(VideoJob.experiment_id == Experiment.id)
        .correlate(Experiment)
        .scalar_subquery()
    )
    stmt = (
        select(Experiment, base.recipe_hash, variant.recipe_hash, jobs)
        .join(base, base.id == Experiment.baseline_recipe_id)
        .join(variant, variant.id == Experiment.variant_recipe_id)
        .where(Experiment.project_id == project_id)
        .order_by(Experiment.started_at, Experiment.id)
    )
    if status is not None:
        stmt = stmt.where(Experiment.status == status)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    rows = session.execute(stmt).all()
    standings = _standings(
        session, [exp for exp, *_ in rows if exp.status == ExperimentStatus.RUNNING]
    )
    out = []
    for exp, base_hash, variant_hash, n in rows:
        data: dict[str, Any] = {c.key: getattr(exp, c.key) for c in Experiment.__table__.columns}
        data.update(
            baseline_recipe_hash=base_hash,
            variant_recipe_hash=variant_hash,
            variant_jobs=n or 0,
            standing=standings.get(exp.id),
        )
        out.append(ExperimentView.model_validate(data))
    return out


def _standings(
    session: Session, running: Sequence[Experiment]
) -> dict[uuid.UUID, ExperimentStanding]:
    """Where the listed running experiments stand: their arms' current rewards (one query for the
    page's experiments only), the always-valid interval and the expected days to the verdict."""
    if not running:
        return {}
    project = session.get(Project, running[0].project_id)
    if project is None:
        return {}
    now = dt.datetime.now(dt.UTC)
    newest = session.execute(select(func.max(RewardDate.reward_date))).scalar()
    as_of = max(now.date(), newest) if newest is not None else now.date()
    variant, baseline = _arm_rewards(session, as_of, None, [e.id for e in running])
    pooled, _ = pooled_evidence(session, None, [(e, project) for e in running])
    planned = _planned(session, as_of, [e.id for e in running])
    out = {}
    for experiment in running:
        b = _values(baseline.get(experiment.id, []))
        v = _values(variant.get(experiment.id, []))
        now_stands = sequential.standing(b, v, project.alpha)
        test = pooled.get(experiment.id, (None, False))[0]
        days_running = max(0.0, (now - experiment.started_at).total_seconds() / 86400.0)
        out[experiment.id] = ExperimentStanding(
            as_of=as_of,
            baseline_n=len(b),
            variant_n=len(v),
            baseline_avg_reward=now_stands.baseline_mean,
            variant_avg_reward=now_stands.variant_mean,
            difference=now_stands.difference,
            ci_low=now_stands.ci_low,
            ci_high=now_stands.ci_high,
            expected_days_to_decision=expected_days_to_verdict(
                b, v, days_running, project.alpha, project.min_samples, project.max_days
            ),
            **pooled_fields(test),
            allocation_p_value=allocation_p_value(planned[experiment.id], (len(b), len(v))),
        )
    return out


def list_experiments(
    db: Database,
    project_id: uuid.UUID,
    status: ExperimentStatus | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ExperimentView]:
    with db.read() as session:
        project = get_project(session, project_id)
        return experiment_views(session, project.id, status, limit, offset)
