"""The project report: what the loop learned, queried here as a typed `ProjectReportData` and
rendered by `learning_loop.reporting.page` as a self-contained HTML page."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import defaultdict

from sqlalchemy import func, select

from learning_loop.db.engine import Database
from learning_loop.db.models import PlannedBatch, VideoJob
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.reward_history import current_rewards
from learning_loop.domain.experiments import ALLOCATION_ALPHA, REASON_ALLOCATION
from learning_loop.domain.guardrail import REASON_GUARDRAIL, state_text
from learning_loop.domain.statuses import ExperimentStatus, GenerationMode, Winner
from learning_loop.reporting.data import (
    GENERATION_MODES,
    SMOOTHING_DAYS,
    BatchMix,
    ExperimentRow,
    FieldEffects,
    LeaderboardRow,
    PlanRow,
    PooledRow,
    ProjectReportData,
    RewardSeries,
    RunningExperimentRow,
    ValueEffect,
)
from learning_loop.reporting.page import render_report
from learning_loop.services.estimates import insights
from learning_loop.services.experiments import experiment_views
from learning_loop.services.projects import get_project
from learning_loop.services.recipes import ranked_recipe_rows, recipe_views
from learning_loop.services.views import InsightsView, RecipeView

LEADERBOARD_ROWS = 15
PLAN_ROWS = 20


def _leaderboard_row(recipe: RecipeView) -> LeaderboardRow:
    assert recipe.estimate is not None  # the rows read are the estimated ones
    return LeaderboardRow(
        recipe_hash=recipe.recipe_hash,
        preset=recipe.preset,
        hook_type=recipe.hook_type,
        scene_count=recipe.scene_count,
        narration_wpm_bucket=recipe.narration_wpm_bucket,
        caption_density_bucket=recipe.caption_density_bucket,
        ending_type=recipe.ending_type,
        n=recipe.evidence_videos,
        mean=recipe.estimate,
        ci_low=recipe.estimate_low,
        ci_high=recipe.estimate_high,
    )


def _field_effects(found: InsightsView) -> tuple[FieldEffects, ...]:
    if found.videos == 0:
        return ()
    return tuple(
        FieldEffects(
            field=f.field,
            reference=str(f.reference),
            summary=f.summary,
            values=tuple(
                ValueEffect(str(v.value), v.effect, v.low, v.high, v.videos, v.p_best)
                for v in f.values
            ),
        )
        for f in found.fields
    )


def _reward_series(
    mode: GenerationMode, days: tuple[dt.date, ...], rewards: dict[dt.date, list[float]]
) -> RewardSeries:
    """A mode's daily averages, and their trailing `SMOOTHING_DAYS`-day average: the rewards of
    the videos published in the days (d - 6 .. d), each video weighing the same."""
    means = tuple(math.fsum(rewards[d]) / len(rewards[d]) if rewards[d] else None for d in days)
    smoothed: list[float | None] = []
    total, count, first = 0.0, 0, 0  # the sums of the days first..i, the window
    for d in days:
        total, count = total + math.fsum(rewards[d]), count + len(rewards[d])
        while days[first] <= d - dt.timedelta(days=SMOOTHING_DAYS):
            total, count = (
                total - math.fsum(rewards[days[first]]),
                count - len(rewards[days[first]]),
            )
            first += 1
        smoothed.append(total / count if count else None)
    return RewardSeries(mode=mode, means=means, smoothed=tuple(smoothed))


def report_data(db: Database, project_id: uuid.UUID) -> ProjectReportData:
    with db.read() as session:
        project = get_project(session, project_id)
        current = current_rewards(db.dialect, None, [project.id])
        videos = session.execute(
            select(
                VideoJob.generation_mode,
                VideoJob.published_at,
                current.c.reward,
            )
            .join(current, current.c.video_id == VideoJob.id)
            .where(VideoJob.project_id == project.id)
        ).all()
        # The project's recipes by estimate (one planned but not rewarded yet is predicted,
        # n=0).
        estimated = session.scalar(
            select(func.count(RecipeRow.estimate)).where(RecipeRow.project_id == project.id)
        )
        leaderboard = [
            _leaderboard_row(r)
            for r in recipe_views(
                ranked_recipe_rows(session, project.id, LEADERBOARD_ROWS, estimated_only=True)
            )
        ]
        batches = list(
            session.scalars(
                select(PlannedBatch)
                .where(PlannedBatch.project_id == project.id)
                .order_by(PlannedBatch.created_at, PlannedBatch.id)
            )
        )
        experiments = experiment_views(session, project.id)
        plan_counts = tuple(
            (str(status), int(n))
            for status, n in session.execute(
                select(VideoJob.plan_status, func.count())
                .where(VideoJob.project_id == project.id, VideoJob.plan_status.is_not(None))
                .group_by(VideoJob.plan_status)
                .order_by(VideoJob.plan_status)
            ).tuples()
        )
        not_ready = tuple(
            PlanRow(topic or "(no topic)", str(status), error, attempts)
            for topic, status, error, attempts in session.execute(
                select(
                    VideoJob.topic,
                    VideoJob.plan_status,
                    VideoJob.plan_error,
                    VideoJob.plan_attempts,
                )
                .where(
                    VideoJob.project_id == project.id,
                    VideoJob.plan_status.in_(("pending", "failed")),
                )
                .order_by(VideoJob.created_at.desc(), VideoJob.batch_position, VideoJob.id)
                .limit(PLAN_ROWS)
            ).tuples()
        )
        name = project.name
    daily: dict[dt.date, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for mode, published_at, reward in videos:
        if published_at is not None:
            daily[published_at.date()][mode].append(float(reward))
    days = tuple(sorted(daily))
    series = tuple(
        _reward_series(mode, days, {d: daily[d][mode] for d in days})
        for mode in GENERATION_MODES
        if any(daily[d][mode] for d in days)
    )
    decided = tuple(
        ExperimentRow(
            variable_tested=e.variable_tested,
            baseline_value=e.baseline_value,
            variant_value=e.variant_value,
            winner=e.winner or Winner.INCONCLUSIVE,
            difference=e.difference,
            ci_low=e.ci_low,
            ci_high=e.ci_high,
            mde=e.mde,
            decided_by=e.decision_rule,
            pooled=_pooled_row(e.pooled_difference, e.pooled_ci_low, e.pooled_ci_high),
            allocation_mismatch=e.reason == REASON_ALLOCATION,
            guardrail=state_text(e.guardrail, e.guardrail_p_value, e.reason),
            guardrail_held=e.reason == REASON_GUARDRAIL,
        )
        for e in experiments
        if e.status == ExperimentStatus.COMPLETED
        and e.difference is not None
        and e.ci_low is not None
        and e.ci_high is not None
    )
    return ProjectReportData(
        project_name=name,
        generated_at=dt.datetime.now(dt.UTC),
        videos_rewarded=len(videos),
        days=days,
        reward_per_day=series,
        leaderboard=tuple(leaderboard),
        recipes_estimated=estimated or 0,
        experiments=decided,
        experiments_running=sum(1 for e in experiments if e.status == ExperimentStatus.RUNNING),
        experiments_completed=sum(1 for e in experiments if e.status == ExperimentStatus.COMPLETED),
        batches=tuple(BatchMix(b.batch_date, b.exploit_count, b.explore_count) for b in batches),
        plan_counts=plan_counts,
        plans_not_ready=not_ready,
        insights=_field_effects(insights(db, project_id)),
        running=tuple(
            RunningExperimentRow(
                variable_tested=e.variable_tested,
                baseline_value=e.baseline_value,
                variant_value=e.variant_value,
                baseline_n=e.standing.baseline_n,
                variant_n=e.standing.variant_n,
                difference=e.standing.difference,
                ci_low=e.standing.ci_low,
                ci_high=e.standing.ci_high,
                expected_days=e.standing.expected_days_to_decision,
                pooled=_pooled_row(
                    e.standing.pooled_difference,
                    e.standing.pooled_ci_low,
                    e.standing.pooled_ci_high,
                ),
                allocation_mismatch=e.standing.allocation_p_value is not None
                and e.standing.allocation_p_value < ALLOCATION_ALPHA,
            )
            for e in experiments
            if e.standing is not None
        ),
    )


def _pooled_row(
    difference: float | None, low: float | None, high: float | None
) -> PooledRow | None:
    return None if difference is None else PooledRow(difference, low, high)


def project_report(db: Database, project_id: uuid.UUID) -> str:
    """The report page of one project (the demo's report.html, the API's `GET /report`)."""
    return render_report(report_data(db, project_id))
