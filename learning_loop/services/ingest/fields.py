"""The fields of the import files and their rules, in both forms: row by row (`rows`, which
names each bad row and reason) and column by column (`columns`, for a clean CSV chunk). The two
must accept the same rows with the same values; the column checks may only be stricter
(`test_field_rules` runs both on generated rows).

The rules of a whole row (a recipe's values, the project's catalogue, `views_6h` at most
`views`) are the jobs' own: `videos._check_video_row`, `metrics._checked_views_6h`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from learning_loop.domain.recipe import ENDING_TYPES, HOOK_TYPES, SCENE_COUNT_MAX, SCENE_COUNT_MIN
from learning_loop.domain.statuses import Views6hBasis
from learning_loop.domain.topics import TOPIC_MAX_LENGTH, InvalidTopic, clean_topic
from learning_loop.services import columns
from learning_loop.services.row_files import CsvChunk
from learning_loop.services.rows import (
    RowProblem,
    float_field,
    int_field,
    text_field,
    timestamp_field,
)

# A field's row rule: its value in a row, or RowProblem naming the field.
FieldRule = Callable[[Mapping[str, Any], str], Any]

# Existing videos -----------------------------------------------------------------------------

VIDEO_COLUMNS = (
    "external_id",
    "topic",
    "published_at",
    "preset",
    "hook_type",
    "scene_count",
    "narration_wpm",
    "caption_density",
    "ending_type",
)


def topic_field(row: Mapping[str, Any], key: str) -> str:
    try:
        return clean_topic(text_field(row, key, max_len=500))
    except InvalidTopic as exc:
        raise RowProblem(f"topic: {exc}") from None


VIDEO_FIELDS: dict[str, FieldRule] = {
    "external_id": text_field,
    "topic": topic_field,
    "published_at": timestamp_field,
    "preset": lambda row, key: text_field(row, key, 64),
    "hook_type": lambda row, key: text_field(row, key, 20),
    "scene_count": int_field,
    "narration_wpm": float_field,
    "caption_density": float_field,
    "ending_type": lambda row, key: text_field(row, key, 20),
}


def video_columns(chunk: CsvChunk, presets: list[str]) -> list[list[Any]] | None:
    """A clean CSV chunk's staged columns, checked a column at a time; None if a row may be bad."""
    cells = chunk.cells
    # The cheap checks first: a bad chunk goes to the row checks as soon as it is seen.
    preset = columns.choice(cells("preset"), presets)
    hook = preset and columns.choice(cells("hook_type"), HOOK_TYPES)
    ending = hook and columns.choice(cells("ending_type"), ENDING_TYPES)
    scenes = ending and columns.whole(cells("scene_count"), SCENE_COUNT_MIN, SCENE_COUNT_MAX)
    wpm = scenes and columns.number(cells("narration_wpm"))
    density = wpm and columns.number(cells("caption_density"))
    external = density and columns.text(cells("external_id"), 200)
    published = external and columns.timestamp(cells("published_at"))
    topic = published and columns.text(cells("topic"), min(500, TOPIC_MAX_LENGTH))
    hashes = topic and columns.topic_hashes(topic)
    if not (hashes and topic and published and external and density and wpm and scenes):
        return None
    assert preset and hook and ending
    return [external, topic, hashes, published, preset, hook, scenes, wpm, density, ending]


# Metric snapshots --------------------------------------------------------------------------

METRIC_COLUMNS = (
    "external_id",
    "captured_at",
    "views",
    "views_6h",
    "avg_view_duration_s",
    "likes",
    "comments",
)


SNAPSHOT_FIELDS: dict[str, FieldRule] = {
    "external_id": text_field,
    "captured_at": timestamp_field,
    "views": int_field,
    "views_6h": int_field,
    "avg_view_duration_s": float_field,
    "likes": int_field,
    "comments": int_field,
}


def unless_unknown(
    parse: Callable[[Mapping[str, Any], str], Any],
) -> Callable[[Mapping[str, Any], str], Any]:
    """`parse`, but a value the platform has not given yet (null) stays null."""

    def parse_known(row: Mapping[str, Any], key: str) -> Any:
        return None if row.get(key) is None else parse(row, key)

    return parse_known


# A collector's row: the same checks, but `views_6h` before the 6-hour mark and the duration
# before the platform's analytics are null.
COLLECTED_FIELDS = {
    **SNAPSHOT_FIELDS,
    "views_6h": unless_unknown(int_field),
    "avg_view_duration_s": unless_unknown(float_field),
}


def snapshot_columns(chunk: CsvChunk) -> list[list[Any]] | None:
    """A clean CSV chunk's staged columns, checked a column at a time; None if a row may be bad."""
    cells = chunk.cells
    views = columns.whole(cells("views"))
    views_6h = views and columns.whole(cells("views_6h"))
    likes = views_6h and columns.whole(cells("likes"))
    comments = likes and columns.whole(cells("comments"))
    duration = comments and columns.number(cells("avg_view_duration_s"))
    external = duration and columns.text(cells("external_id"), 200)
    captured = external and columns.timestamp(cells("captured_at"))
    if not (captured and external and duration and comments and likes and views_6h and views):
        return None
    if not columns.at_most(views_6h, views):
        return None
    reported = [Views6hBasis.REPORTED] * len(views)
    return [external, captured, views, views_6h, duration, likes, comments, reported]
