"""Every field rule of the import files, run both ways on generated cells and rows: row by row
(`services.rows`, the rules that name each bad row) and column by column (`services.columns`,
the fast path of a clean CSV chunk). The two must take the same decision with the same value.
The column checks may refuse more (the chunk then takes the row checks, which decide), but
only where this file says so: a C1 control character in a text cell, a record blank in every
cell. Anything else they refuse, the row checks must refuse too (issue #28, point 2).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from learning_loop.domain.recipe import ENDING_TYPES, HOOK_TYPES
from learning_loop.domain.topics import topic_hash
from learning_loop.services import columns
from learning_loop.services.ingest import fields
from learning_loop.services.ingest.metrics import _check_snapshot
from learning_loop.services.ingest.videos import _check_video_row
from learning_loop.services.row_files import CsvChunk
from learning_loop.services.rows import (
    RowProblem,
    check_rows,
    float_field,
    int_field,
    text_field,
    timestamp_field,
)

PRESETS = ["DARK_DYSTOPIAN_ANIME", "VIBRANT_MOTION_GRAPHICS"]
PROJECT = uuid.UUID(int=1)
# What the column checks refuse and the row checks may take: C1 control characters.
C1 = {chr(c) for c in range(0x80, 0xA0)}

# Cells -------------------------------------------------------------------------------------

SPECIAL = [
    "\x00", "\t", "\n", "\x1c", "\x1f", "\x7f", "\x80", "\x85", "\x9f", "\xa0", "\u2028",
    "\u3000", "\u200b", "\ufeff", "\ud800", "\udfff", " ", "Z", "T", "-", "_", "0", "9",
]  # fmt: skip
CHARACTER = st.one_of(st.characters(), st.sampled_from(SPECIAL))
TEXT = st.one_of(
    st.text(CHARACTER, max_size=12),
    st.builds(
        lambda n, pad: pad + "x" * n + pad, st.integers(195, 205), st.sampled_from(["", " "])
    ),
    st.builds(lambda n: "t" * n, st.integers(495, 505)),
)
NUMBER_EDGES = [
    "", " ", "0", "-0", "+0", "-1", "1.5", " 7 ", "5.0", "1e3", "1e400", "-1e-400", "inf",
    "-inf", "nan", "NaN", "Infinity", "1_000", "_1", "0x10", "\u0663", "\u0661\u0660", "True",
    str(2**62), str(2**62 + 1), str(-(2**62)), "1.7976931348623157e308", "4.9e-324", "5", "10",
    "11", "4", "\u3000 8\u3000",
]  # fmt: skip
NUMBER = st.one_of(
    st.sampled_from(NUMBER_EDGES),
    st.integers(-10, 2**63).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(0, 1e6).map(str),
    st.text(CHARACTER, max_size=6),
)
TIMESTAMP_EDGES = [
    "2025-03-01T10:00:00Z", " 2025-03-01T10:00:00.250000Z ", "2025-03-01T10:00Z",
    "2025-03-01T10Z", "2025-03-01T10:00:00+02:00", "2025-03-01T10:00:00", "2025-03-01 10:00:00Z",
    "2025-03-01", "2025-03-01Z", "2025-03-01TZ", "2025-03-01T10:00:00+02:00Z", "2025-W09-6T10:00Z",
    "20250301T1000Z", "Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00",
    "1969-12-31T23:59:59Z", "2199-01-01T00:00:00Z", "", "2005-01-01T00:00:00Z",
    "2004-12-31T23:59:59.999999Z", "2004-12-31T23:00:00-01:00", "2005-01-01T00:30:00+01:00",
]  # fmt: skip
# The accepted times run from 2005 to tomorrow (UTC): moments on both sides of each end.
NEAR_ACCEPTED = {
    "min_value": dt.datetime(2004, 12, 30),
    "max_value": dt.datetime.now() + dt.timedelta(days=3),
}
ZONES = st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))])


def _timestamp_text(moment: dt.datetime, form: int) -> str:
    if form == 0 and moment.tzinfo in (None, dt.UTC):
        return f"{moment.replace(tzinfo=None).isoformat()}Z"
    return moment.isoformat(" " if form == 1 else "T")


TIMESTAMP = st.one_of(
    st.sampled_from(TIMESTAMP_EDGES),
    st.builds(_timestamp_text, st.datetimes(timezones=ZONES), st.integers(0, 2)),
    st.builds(_timestamp_text, st.datetimes(**NEAR_ACCEPTED, timezones=ZONES), st.integers(0, 2)),
    st.text(CHARACTER, max_size=20),
)


def choice_cell(allowed: Sequence[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(list(allowed)),
        st.sampled_from(list(allowed)).map(lambda v: f" {v}\t"),
        st.sampled_from(list(allowed)).map(str.lower),
        TEXT,
    )


# Each rule, one cell at a time -------------------------------------------------------------


def by_row(rule: Callable[[dict[str, Any], str], Any], cell: str) -> tuple[bool, Any]:
    try:
        return True, rule({"f": cell}, "f")
    except RowProblem:
        return False, None


def agree(column: list[Any] | None, row: tuple[bool, Any], cell: str, stricter: bool) -> None:
    accepted, value = row
    event(f"by row: {'taken' if accepted else 'refused'}; by column: {column is not None}")
    if column is not None:
        assert accepted, f"the column check takes {cell!r}, the row check refuses it"
        assert column == [value], f"{cell!r}: {column[0]!r} by column, {value!r} by row"
    else:
        assert not accepted or stricter, f"the row check takes {cell!r}, the column check not"


def has_c1(text: str) -> bool:
    return not C1.isdisjoint(text)


@settings(max_examples=400)
@given(TEXT, st.sampled_from([20, 64, 200]))
def test_text(cell, max_len):
    row = by_row(lambda r, k: text_field(r, k, max_len), cell)
    agree(columns.text([cell], max_len), row, cell, has_c1(cell))


@settings(max_examples=300)
@given(st.one_of(choice_cell(PRESETS), choice_cell(HOOK_TYPES)))
def test_choice(cell):
    allowed = {*PRESETS, *HOOK_TYPES}
    accepted, value = by_row(lambda r, k: text_field(r, k, 64), cell)
    agree(columns.choice([cell], allowed), (accepted and value in allowed, value), cell, False)


@settings(max_examples=400)
@given(NUMBER, st.sampled_from([(0, columns.LARGEST_WHOLE), (5, 10)]))
@example("1.0", (0, columns.LARGEST_WHOLE))
def test_whole_number(cell, bounds):
    low, high = bounds
    accepted, value = by_row(int_field, cell)
    within = accepted and low <= value <= high
    agree(columns.whole([cell], low, high), (within, value), cell, False)


@settings(max_examples=400)
@given(NUMBER)
def test_number(cell):
    agree(columns.number([cell]), by_row(float_field, cell), cell, False)


@settings(max_examples=400)
@given(TIMESTAMP)
def test_timestamp(cell):
    accepted, value = by_row(timestamp_field, cell)
    naive = value.replace(tzinfo=None) if accepted else None
    agree(columns.timestamp([cell]), (accepted, naive), cell, False)


@settings(max_examples=400)
@given(TEXT)
def test_topic(cell):
    accepted, value = by_row(fields.topic_field, cell)
    texts = columns.text([cell], 500)
    hashes = texts and columns.topic_hashes(texts)
    column = [(texts[0], hashes[0])] if texts and hashes else None
    agree(column, (accepted, (value, topic_hash(value)) if accepted else None), cell, has_c1(cell))


@given(st.lists(st.tuples(st.integers(0, 2**62), st.integers(0, 2**62)), min_size=1, max_size=4))
def test_views_6h_at_most_views(pairs):
    by_rows = all(v6 <= v for v, v6 in pairs)
    assert columns.at_most([v6 for _, v6 in pairs], [v for v, _ in pairs]) == by_rows


# Whole rows, as an import checks them ------------------------------------------------------

VALID_VIDEO = {
    "external_id": "yt_1",
    "topic": "Why cities glow",
    "published_at": "2025-03-01T10:00:00Z",
    "preset": PRESETS[0],
    "hook_type": HOOK_TYPES[0],
    "scene_count": "7",
    "narration_wpm": "140.5",
    "caption_density": "0.4",
    "ending_type": ENDING_TYPES[0],
}
VIDEO_CELLS = {
    "external_id": TEXT,
    "topic": TEXT,
    "published_at": TIMESTAMP,
    "preset": choice_cell(PRESETS),
    "hook_type": choice_cell(HOOK_TYPES),
    "scene_count": NUMBER,
    "narration_wpm": NUMBER,
    "caption_density": NUMBER,
    "ending_type": choice_cell(ENDING_TYPES),
}
VALID_SNAPSHOT = {
    "external_id": "yt_1",
    "captured_at": "2025-03-02T10:00:00Z",
    "views": "1000",
    "views_6h": "100",
    "avg_view_duration_s": "12.5",
    "likes": "7",
    "comments": "2",
}
SNAPSHOT_CELLS = {
    "external_id": TEXT,
    "captured_at": TIMESTAMP,
    "views": NUMBER,
    "views_6h": NUMBER,
    "avg_view_duration_s": NUMBER,
    "likes": NUMBER,
    "comments": NUMBER,
}


def records(valid: dict[str, str], cells: dict[str, Any]) -> st.SearchStrategy[list[list[str]]]:
    """1 to 3 records: each the valid row with up to 2 of its cells drawn from `cells`."""
    header = list(valid)

    @st.composite
    def record(draw: st.DrawFn) -> list[str]:
        row = dict(valid)
        for name in draw(st.sets(st.sampled_from(header), max_size=2)):
            row[name] = draw(cells[name])
        return [row[name] for name in header]

    return st.lists(record(), min_size=1, max_size=3)


def chunk_of(header: list[str], rows: list[list[str]]) -> CsvChunk:
    return CsvChunk(header, rows, list(range(2, len(rows) + 2)))


def agree_on_chunk(
    chunk: CsvChunk, column: list[list[Any]] | None, check: Callable[[Any], Any], text: list[str]
) -> None:
    good, errors = check_rows(chunk.rows(), check)
    event(f"by row: {'refused' if errors else 'taken'}; by column: {column is not None}")
    if column is not None:
        assert not errors, f"the column checks take rows the row checks refuse: {errors}"
        staged = [value.staged() for _, value in good]
        assert [list(c) for c in zip(*staged, strict=True)] == column
        return
    stricter = any(has_c1(chunk.cells(name)[i]) for name in text for i in range(len(chunk))) or any(
        not any(cell.strip() for cell in record) for record in chunk.records
    )
    assert errors or stricter, "the column checks refuse rows that the row checks take"


@settings(max_examples=300)
@given(records(VALID_VIDEO, VIDEO_CELLS))
def test_a_videos_chunk(rows):
    chunk = chunk_of(list(VALID_VIDEO), rows)
    column = fields.video_columns(chunk, PRESETS)
    agree_on_chunk(chunk, column, _check_video_row(PRESETS, PROJECT), ["external_id", "topic"])


@settings(max_examples=300)
@given(records(VALID_SNAPSHOT, SNAPSHOT_CELLS))
def test_a_metrics_chunk(rows):
    chunk = chunk_of(list(VALID_SNAPSHOT), rows)
    agree_on_chunk(chunk, fields.snapshot_columns(chunk), _check_snapshot, ["external_id"])


def test_the_rows_that_the_generated_ones_vary_pass_both_ways():
    """The generated chunks start from these rows (so some are taken whole by both checks)."""
    videos = chunk_of(list(VALID_VIDEO), [list(VALID_VIDEO.values())])
    snapshots = chunk_of(list(VALID_SNAPSHOT), [list(VALID_SNAPSHOT.values())])
    assert fields.video_columns(videos, PRESETS) is not None
    assert fields.snapshot_columns(snapshots) is not None
    assert not check_rows(videos.rows(), _check_video_row(PRESETS, PROJECT))[1]
    assert not check_rows(snapshots.rows(), _check_snapshot)[1]
