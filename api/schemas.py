"""Request bodies and the API's own response shapes (pages, health, runs).

The services' views (`learning_loop.services.views`) are the response models of the resources;
the rows of an import or a metrics upload stay free-form objects here because the services
check them, exactly as they check the rows of a CLI file, and report every bad row at once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictInt,
    create_model,
)

from learning_loop.domain.project_settings import SETTINGS, Kind, Setting
from learning_loop.domain.setting_rules import SettingsChange, from_json
from learning_loop.services.ingest import BackfillResult, ImportResult, IngestResult
from learning_loop.services.planning import MAX_N, MAX_TOPICS
from learning_loop.services.projects import NAME_MAX
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


def _body_field(setting: Setting) -> tuple[Any, Any]:
    """A setting as a body's field: optional (left out, it keeps its value), described by its
    help, its range in the schema (the service checks it, with the message of every layer)."""
    types: dict[Kind, Any] = {
        Kind.WHOLE: StrictInt | None,
        Kind.NUMBER: float | None,
        Kind.CHOICE: setting.choices | None if setting.choices else None,
        Kind.DAYS_OR_NEVER: Annotated[int | str | None, BeforeValidator(_days_or_never)],
        Kind.WEIGHTS: WeightsBody | None,
        Kind.PRESETS: list[Text] | None,
        Kind.RECIPE: dict[str, Any] | None,
        Kind.SWITCH: StrictBool | None,
        Kind.TOPICS: list[Text] | None,
    }
    bounds: dict[str, JsonValue] = {}
    if setting.range is not None:
        low = "exclusiveMinimum" if setting.range.low_open else "minimum"
        bounds = {low: setting.range.low, "maximum": setting.range.high}
    return types[setting.kind], Field(
        default=None, description=setting.text, json_schema_extra=bounds or None
    )


class SettingsBody(Body):
    """Settings to set; a field left out keeps its value (its default at creation)."""

    def change(
        self, add: list[str] | None = None, remove: list[str] | None = None
    ) -> SettingsChange:
        asked = {}
        for setting in SETTINGS:
            value = getattr(self, setting.name, None)
            if isinstance(value, BaseModel):
                value = value.model_dump()
            if value is not None:
                asked[setting.keyword] = from_json(setting, value)
        return SettingsChange(
            add_presets=tuple(add or ()), remove_presets=tuple(remove or ()), **asked
        )


class _ProjectCreate(SettingsBody):
    name: Text = Field(min_length=1, max_length=NAME_MAX, examples=["my-channel"])


class _ProjectPatch(SettingsBody):
    add_presets: list[Text] | None = Field(default=None, description="Presets to add")
    remove_presets: list[Text] | None = Field(default=None, description="Presets to remove")


if TYPE_CHECKING:
    ProjectCreate = _ProjectCreate
    ProjectPatch = _ProjectPatch
else:  # the settings' fields, from their declarations
    ProjectCreate = create_model(
        "ProjectCreate",
        __base__=_ProjectCreate,
        __module__=__name__,
        **{s.name: _body_field(s) for s in SETTINGS if s.at_creation},
    )
    ProjectPatch = create_model(
        "ProjectPatch",
        __base__=_ProjectPatch,
        __module__=__name__,
        **{s.name: _body_field(s) for s in SETTINGS},
    )


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
