"""Request bodies and the API's own response shapes (pages, health, runs).

The services' views (`learning_loop.services.views`) are the response models of the resources;
the rows of an import or a metrics upload stay free-form objects here because the services
check them, exactly as they check the rows of a CLI file, and report every bad row at once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
)

from learning_loop.domain.recipe import InvalidRecipe, Recipe
from learning_loop.domain.rewards import RewardWeights
from learning_loop.domain.statuses import ExploitScope, PlannerBackend, Policy
from learning_loop.errors import InvalidInput
from learning_loop.services.ingest import BackfillResult, ImportResult, IngestResult
from learning_loop.services.planning import MAX_N, MAX_TOPICS
from learning_loop.services.projects import NAME_MAX, SettingsChange
from learning_loop.services.views import (
    ExperimentView,
    ProjectView,
    RecipeView,
    VideoView,
)

__all__ = ["BackfillResult", "ImportResult", "IngestResult"]

MAX_ROWS = 100_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _find_bad_text(value: Any, path: str) -> str | None:
    """The path of the first string (key or value) that UTF-8 cannot encode, e.g. a lone
    surrogate from a `\\ud800` JSON escape, which no database driver accepts."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_bad_text(key, path) or _find_bad_text(item, f"{path}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _find_bad_text(item, f"{path}[{i}]")
            if found:
                return found
    return None


def _valid_unicode(value: Any) -> Any:
    bad = _find_bad_text(value, "")
    if bad is not None:
        where = f" at {bad.lstrip('.')}" if bad else ""
        raise ValueError(f"text{where} is not valid Unicode (lone surrogate)")
    return value


Text = Annotated[str, AfterValidator(_valid_unicode)]
Row = Annotated[dict[str, Any], AfterValidator(_valid_unicode)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WeightsBody(Body):
    avg_view_duration: float
    views_6h: float
    engagement: float


def _days_or_never(value: object) -> object:
    """A half-life is a whole number or a word (the service reads it); anything else is named
    here, as one error of the field."""
    if (
        value is None
        or isinstance(value, str)
        or (isinstance(value, int) and not isinstance(value, bool))
    ):
        return value
    raise ValueError("must be a whole number of days or 'never'")


class SettingsBody(Body):
    """Settings to set; a field left out keeps its value (its default at creation)."""

    presets: list[Text] | None = Field(default=None, description="The whole preset catalogue")
    reward_weights: WeightsBody | None = Field(default=None, description="Each >= 0, sum 1")
    window_days: StrictInt | None = Field(default=None, description="1..3650")
    explore_rate: float | None = Field(default=None, description="0..1")
    top_k: StrictInt | None = Field(default=None, description="1..100")
    max_running_experiments: StrictInt | None = Field(default=None, description="1..100")
    min_samples: StrictInt | None = Field(default=None, description="2..10000")
    max_days: StrictInt | None = Field(default=None, description="1..3650")
    alpha: float | None = Field(default=None, description="(0, 0.5]")
    default_recipe: dict[str, Any] | None = Field(
        default=None, description="The six recipe fields; its preset must be in the catalogue"
    )
    target_duration_s: float | None = Field(default=None, description="1..600")
    policy: Policy | None = None
    planner_backend: PlannerBackend | None = Field(
        default=None,
        description="Who writes the jobs' video plans: `template` (offline, at planning) or "
        "`openai` (after planning, by the `video_plans` run)",
    )
    half_life_days: Annotated[int | str | None, BeforeValidator(_days_or_never)] = Field(
        default=None,
        description='How fast old evidence fades in the recipe estimates: 7..3650 days, or "never"',
    )
    exploit_scope: ExploitScope | None = Field(
        default=None,
        description="Recipes exploit slots may take: `catalogue` (every recipe, ranked by "
        "estimate) or `made` (only recipes with a rewarded video)",
    )

    def change(
        self, add: list[str] | None = None, remove: list[str] | None = None
    ) -> SettingsChange:
        recipe = None
        if self.default_recipe is not None:
            try:
                recipe = Recipe.from_dict(self.default_recipe)
            except InvalidRecipe as exc:
                raise InvalidInput(f"default_recipe: {exc}", "default_recipe") from None
        w = self.reward_weights
        return SettingsChange(
            presets=tuple(self.presets) if self.presets is not None else None,
            weights=RewardWeights(w.avg_view_duration, w.views_6h, w.engagement) if w else None,
            window_days=self.window_days,
            explore_rate=self.explore_rate,
            top_k=self.top_k,
            max_running_experiments=self.max_running_experiments,
            min_samples=self.min_samples,
            max_days=self.max_days,
            alpha=self.alpha,
            default_recipe=recipe,
            target_duration_s=self.target_duration_s,
            policy=self.policy,
            planner_backend=self.planner_backend,
            half_life_days=self.half_life_days,
            exploit_scope=self.exploit_scope,
            add_presets=tuple(add or ()),
            remove_presets=tuple(remove or ()),
        )


class ProjectCreate(SettingsBody):
    name: Text = Field(min_length=1, max_length=NAME_MAX, examples=["my-channel"])


class ProjectPatch(SettingsBody):
    add_presets: list[Text] | None = Field(default=None, description="Presets to add")
    remove_presets: list[Text] | None = Field(default=None, description="Presets to remove")
    auto_plan: StrictBool | None = None
    auto_plan_count: StrictInt | None = Field(default=None, description="1..100")
    topic_backlog: list[Text] | None = Field(default=None, description="Replaces the backlog")


VIDEO_ROW_DOC = (
    "One existing video per object, as a row of the import file: `external_id`, `topic`, "
    "`published_at` (ISO 8601; without an offset it is UTC), `preset`, `hook_type`, "
    "`scene_count`, `narration_wpm` (raw words per minute), `caption_density` (raw captions "
    "per second), `ending_type`. Values may be strings, as in a CSV file. Any bad row rejects "
    "the whole list; the error lists every bad row with its 1-based position as `line`."
)
METRIC_ROW_DOC = (
    "One metric snapshot per object, as a row of the metrics file: `external_id` (a published "
    "video of the project), `captured_at` (ISO 8601), `views`, `views_6h` (<= views), "
    "`avg_view_duration_s`, `likes`, `comments`. Any bad row rejects the whole list; the error "
    "lists every bad row with its 1-based position as `line`. Sending the same snapshots "
    "again adds nothing."
)


class VideoImport(Body):
    videos: list[Row] = Field(
        min_length=1,
        max_length=MAX_ROWS,
        description=VIDEO_ROW_DOC,
        examples=[
            [
                {
                    "external_id": "yt_0001",
                    "topic": "Why octopuses dream",
                    "published_at": "2026-10-02T03:53:00Z",
                    "preset": "DARK_DYSTOPIAN_ANIME",
                    "hook_type": "question",
                    "scene_count": 7,
                    "narration_wpm": 137.4,
                    "caption_density": 0.454,
                    "ending_type": "cliffhanger",
                }
            ]
        ],
    )


class MetricsUpload(Body):
    snapshots: list[Row] = Field(
        min_length=1,
        max_length=MAX_ROWS,
        description=METRIC_ROW_DOC,
        examples=[
            [
                {
                    "external_id": "yt_0001",
                    "captured_at": "2026-10-02T09:53:00Z",
                    "views": 2271,
                    "views_6h": 2271,
                    "avg_view_duration_s": 29.89,
                    "likes": 127,
                    "comments": 12,
                }
            ]
        ],
    )


class PublishBody(Body):
    external_id: Text = Field(
        min_length=1, max_length=200, description="The platform's video id, unique per project"
    )
    published_at: Text | None = Field(
        default=None, description="ISO 8601; without an offset it is UTC; default: now"
    )


class PlanRequestCreate(Body):
    project_id: uuid.UUID
    n: StrictInt = Field(default=5, ge=1, le=MAX_N, description="Videos to plan")
    topics: list[Text] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TOPICS,
        description="Topics in order of use, each used at most once (omit for none)",
    )
    seed: StrictInt | None = Field(default=None, ge=INT64_MIN, le=INT64_MAX)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list in a stable order; `next_offset` is null on the last page."""

    items: list[T]
    limit: int
    offset: int
    next_offset: int | None


class ProjectPage(Page[ProjectView]):
    pass


class RecipePage(Page[RecipeView]):
    pass


class ExperimentPage(Page[ExperimentView]):
    pass


class VideoJobPage(Page[VideoView]):
    pass


P = TypeVar("P", bound=Page[Any])


def page(cls: type[P], rows: list[Any], limit: int, offset: int) -> P:
    """`rows` was fetched with limit + 1, so a next page is known to exist, not guessed."""
    more = len(rows) > limit
    return cls(
        items=rows[:limit], limit=limit, offset=offset, next_offset=offset + limit if more else None
    )


class HealthView(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable", "schema_not_ready"]


class ReplanView(BaseModel):
    """A job sent back for a fresh video plan, and the `video_plans` run that will make it."""

    job: VideoView
    run_id: str
    status: str
    note: str | None = None


class EvaluateRunView(BaseModel):
    """The Dagster run that `evaluate-experiments` submitted (it goes on in the background)."""

    run_id: str
    status: str
    job_name: str
    partition_key: str | None
    project_id: uuid.UUID
    as_of: dt.date
    note: str | None = None


class StatsRunView(EvaluateRunView):
    """The Dagster run that `update-stats` submitted (it goes on in the background)."""

    days: int
