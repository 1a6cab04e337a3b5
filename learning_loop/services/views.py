"""The shapes the services hand out: what the CLI prints as JSON and the API answers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, create_model

from learning_loop.domain.project_settings import SETTINGS, Kind, Setting
from learning_loop.domain.statuses import (
    ConnectionStatus,
    ExperimentStatus,
    GenerationMode,
    JobStatus,
    PlanRequestStatus,
    PlanStatus,
    Winner,
)

# The one model of the six recipe fields, shared with the planner's plans (re-exported here).
from learning_loop.planner.models import RecipeFields as RecipeFields


class View(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RewardWeightsView(BaseModel):
    avg_view_duration: float
    views_6h: float
    engagement: float


class SettingChangeView(View):
    changed_at: dt.datetime
    setting: str
    old_value: Any
    new_value: Any


class ConnectionView(BaseModel):
    """A project's connection, without its secret: only where it leads and whether it works."""

    platform: str
    channel_id: str
    channel_title: str
    status: ConnectionStatus
    problem: str | None
    connected_at: dt.datetime
    checked_at: dt.datetime | None
    videos_polling: int = 0
    videos_done: int = 0
    videos_gone: int = 0


def _view_type(setting: Setting) -> Any:
    """The type of a setting's value in the views (its JSON form)."""
    if setting.kind is Kind.CHOICE:
        return setting.choices
    return {
        Kind.WHOLE: int,
        Kind.NUMBER: float,
        Kind.DAYS_OR_NEVER: int | None,  # None: never
        Kind.WEIGHTS: RewardWeightsView,
        Kind.PRESETS: list[str],
        Kind.RECIPE: RecipeFields,
        Kind.SWITCH: bool,
        Kind.TOPICS: list[str],
    }[setting.kind]


class _ProjectRow(View):
    id: uuid.UUID
    name: str
    created_at: dt.datetime
    if TYPE_CHECKING:  # the settings' fields, added below from their declarations

        def __getattr__(self, name: str) -> Any: ...


class _ProjectDocument(BaseModel):
    id: uuid.UUID
    name: str
    if TYPE_CHECKING:  # added below, after the settings' fields
        changes: list[SettingChangeView]
        connection: ConnectionView | None

        def __getattr__(self, name: str) -> Any: ...


if TYPE_CHECKING:
    ProjectView = _ProjectRow
    ProjectSettingsView = _ProjectDocument
else:
    # A project as stored: every setting's columns (the three reward weights apart).
    ProjectView = create_model(
        "ProjectView",
        __base__=_ProjectRow,
        __module__=__name__,
        **{
            column: (float if s.kind is Kind.WEIGHTS else _view_type(s), ...)
            for s in SETTINGS
            for column in s.columns
        },
    )
    # Every recorded setting of a project (`projects show`, `GET /admin/projects/{id}`), the
    # recorded changes and the project's connection to its platform (contract §12; null when
    # not connected).
    ProjectSettingsView = create_model(
        "ProjectSettingsView",
        __base__=_ProjectDocument,
        __module__=__name__,
        **{s.name: (_view_type(s), ...) for s in SETTINGS if s.recorded},
        changes=(list[SettingChangeView], []),
        connection=(ConnectionView | None, None),
    )


class RecipeView(RecipeFields):
    # A view like the others: built from ORM rows, not frozen (RecipeFields itself is).
    model_config = ConfigDict(from_attributes=True, frozen=False)

    id: uuid.UUID
    recipe_hash: str
    # The videos of the recipe, each count with one meaning (contract §14): `times_used` every
    # job made with it (planned or imported, the seed's column), `planned_videos` the jobs the
    # planner made with it, `published_videos` those published (imported ones included), and
    # `evidence_videos` (below) those with a reward.
    times_used: int
    planned_videos: int = 0
    published_videos: int = 0
    # The window's raw stats (contract §4): mean and best reward of the recipe's videos
    # published in the stats window, and how many there are.
    avg_reward_score: float | None
    best_reward_score: float | None
    rewarded_videos: int
    stats_as_of: dt.date | None
    # The whole history (contract §4, estimates): the model's expected reward with its 95%
    # interval, and the rewarded videos made with the recipe, however old.
    estimate: float | None = None
    estimate_low: float | None = None
    estimate_high: float | None = None
    evidence_videos: int = 0


class ValueInsightView(BaseModel):
    value: str | int
    effect: float
    low: float
    high: float
    videos: int
    p_best: float


class FieldInsightView(BaseModel):
    field: str
    reference: str | int
    summary: str
    values: list[ValueInsightView]


class InsightsView(BaseModel):
    """What each value of each recipe field does to the expected reward (`learn insights`)."""

    project_id: uuid.UUID
    as_of: dt.date | None
    videos: int
    half_life_days: int | None
    fields: list[FieldInsightView]


class VideoView(View):
    id: uuid.UUID
    external_id: str | None
    topic: str | None
    recipe_hash: str | None
    recipe: RecipeFields | None
    generation_mode: GenerationMode
    status: JobStatus
    published_at: dt.datetime | None
    batch_id: uuid.UUID | None
    experiment_id: uuid.UUID | None
    reward: float | None
    reward_date: dt.date | None
    pct_avg_view_duration: float | None
    pct_views_6h: float | None
    pct_engagement: float | None
    # The video plan (contract §8): its state (null for imported history), the last failure in
    # one line, the failed attempts so far; `plan` itself when the listing asks for it.
    plan_status: PlanStatus | None = None
    plan_error: str | None = None
    plan_attempts: int = 0
    plan: dict[str, Any] | None = None


class ExperimentStanding(BaseModel):
    """A running experiment now: its arms, the difference with an always-valid interval (valid
    however often it is looked at) and the expected days to its verdict at the current traffic."""

    as_of: dt.date  # rewards as of this date
    baseline_n: int
    variant_n: int
    baseline_avg_reward: float | None
    variant_avg_reward: float | None
    difference: float | None  # variant - baseline
    ci_low: float | None  # always-valid 95% interval of the difference
    ci_high: float | None
    # Days until the verdict (an early decision if the current difference holds, else the look at
    # min_samples, else the deadline) at each arm's traffic so far; None when unknown.
    expected_days_to_decision: float | None
    # The pooled, adjusted contrast (every rewarded video, as of the project's last recipe-stats
    # run) with its always-valid 95% interval and p-value; None without one.
    pooled_difference: float | None = None
    pooled_ci_low: float | None = None
    pooled_ci_high: float | None = None
    pooled_p_value: float | None = None
    # False: a running experiment's contrast is the stored evidence's (the time adjustment is
    # the final look's).
    pooled_time_adjusted: bool | None = None
    # The allocation check: the p-value that both arms had the same share of their planned
    # videos rewarded; below 0.001 the arms are not comparable (sample-ratio mismatch).
    allocation_p_value: float | None = None


class ExperimentView(View):
    id: uuid.UUID
    project_id: uuid.UUID
    status: ExperimentStatus
    variable_tested: str
    baseline_value: str
    variant_value: str
    baseline_recipe_id: uuid.UUID
    variant_recipe_id: uuid.UUID
    baseline_recipe_hash: str
    variant_recipe_hash: str
    started_at: dt.datetime
    completed_at: dt.datetime | None
    decided_as_of: dt.date | None
    variant_jobs: int
    baseline_avg_reward: float | None
    variant_avg_reward: float | None
    baseline_n: int | None
    variant_n: int | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    winner: Winner | None
    reason: str | None
    # The rule that gave the verdict: "welch" (before revision 0006), "sequential" (the arms'
    # early, always-valid look), "pooled" (the pooled, adjusted contrast, with the arms agreeing)
    # or "fixed_look" (the Welch look at min_samples); None while running.
    decision_rule: str | None = None
    # Completed: the smallest true difference the verdict's test detected with 80% power.
    mde: float | None = None
    # Completed: the pooled, adjusted contrast the verdict was judged with (every rewarded video,
    # adjusted for the other fields), its always-valid 95% interval and p-value (from 0011).
    pooled_difference: float | None = None
    pooled_ci_low: float | None = None
    pooled_ci_high: float | None = None
    pooled_p_value: float | None = None
    # Whether that contrast was also adjusted for the publication weekday and block of the day
    # (a final look where they explain the reward; from 0017, null without a pooled contrast).
    pooled_time_adjusted: bool | None = None
    # The allocation check: the p-value that both arms had the same share of their planned
    # videos rewarded; below 0.001 the arms are not comparable (sample-ratio mismatch).
    allocation_p_value: float | None = None
    # Completed (from 0016): the guardrail the verdict was judged with (the project's setting:
    # a reward component, or "none") and its one-sided p-value that the variant hurt it, when
    # tested (a verdict that would have named the variant). Below alpha it held the variant's
    # win back: reason "guardrail".
    guardrail: str | None = None
    guardrail_p_value: float | None = None
    # Running: where the experiment stands now (None for a completed one).
    standing: ExperimentStanding | None = None


class RecommendationView(View):
    type: str
    recipe: RecipeFields
    recipe_hash: str
    topic: str | None
    reason: str
    experiment: str | None  # a running experiment's id; None for exploit and new experiments
    new_experiment: bool = False  # explores a new experiment, which the plan would open
    probability: float | None = None


class SkippedTopicView(View):
    topic: str
    reason: str


class BatchView(View):
    id: uuid.UUID
    project_id: uuid.UUID
    batch_date: dt.date
    requested: int
    exploit_count: int
    explore_count: int
    jobs_created: int
    jobs_completed: int
    seed: int | None
    note: str | None
    skipped_topics: list[SkippedTopicView]
    created_at: dt.datetime


class JobView(View):
    id: uuid.UUID
    batch_id: uuid.UUID | None
    generation_mode: GenerationMode
    status: JobStatus
    topic: str | None
    recipe: RecipeFields | None
    recipe_hash: str | None
    experiment_id: uuid.UUID | None
    external_id: str | None
    published_at: dt.datetime | None
    plan: dict[str, Any] | None = None
    plan_status: PlanStatus | None = None
    plan_error: str | None = None
    # Probability with which the policy chose this recipe (Thompson sampling), for later
    # off-policy evaluation; None for the seed policy.
    selection_probability: float | None = None


class PlannedBatchView(View):
    batch: BatchView
    jobs: list[JobView]
    skipped_topics: list[SkippedTopicView]


class PreviewView(View):
    recommendations: list[RecommendationView]
    top_recipes: list[RecipeView]
    running_experiments: int
    recent_batches: int
    skipped_topics: list[SkippedTopicView]
    note: str | None


class StatsView(View):
    project_id: uuid.UUID
    videos: int
    published_videos: int
    rewarded_videos: int
    recipes: int
    rewarded_recipes: int
    estimated_recipes: int = 0  # with an estimate from the whole history
    experiments_running: int
    experiments_completed: int
    verdicts: dict[str, int]
    batches: int
    jobs_queued: int
    # Planned jobs whose video plan is still to be made, and those whose plan failed.
    plans_pending: int = 0
    plans_failed: int = 0
    mean_reward_exploit: float | None
    mean_reward_explore: float | None
    latest_reward_date: dt.date | None
    best_recipe: RecipeView | None
    # The project's connection to its platform (contract §12), broken ones included.
    connection: ConnectionView | None = None


class PlanRequestView(View):
    id: uuid.UUID
    project_id: uuid.UUID
    n: int
    topics: list[str] | None
    seed: int | None
    source: str
    status: PlanRequestStatus
    run_id: str | None
    batch_id: uuid.UUID | None
    error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    attempts: int = 0  # runs of the request that died before finishing it
    batch: BatchView | None = None
    jobs: list[JobView] | None = None
    # Set when the request would wait: no Dagster daemon runs the plan sensor.
    note: str | None = None
