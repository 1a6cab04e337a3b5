"""Imports at bulk size: each rule of the all-rows-or-none import holds when the rows are
checked a column at a time and written through a staging table (contract §6, issue 17)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from learning_loop.db.models import MetricSnapshot, VideoJob
from learning_loop.errors import InvalidFile
from learning_loop.services import ingest, row_files
from learning_loop.services.ingest import (
    METRIC_COLUMNS,
    VIDEO_COLUMNS,
    backfill_recipes,
    import_videos,
    ingest_metrics,
)
from learning_loop.services.row_files import RowFile, read_rows
from learning_loop_tests.factories import project

BIG = 100_000
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def video(i: int, **over: object) -> list[object]:
    row: dict[str, object] = {
        "external_id": f"yt_{i:07d}",
        "topic": f"History video {i}",
        "published_at": f"{START + dt.timedelta(minutes=i):%Y-%m-%dT%H:%M:%SZ}",
        "preset": "DARK_DYSTOPIAN_ANIME" if i % 3 else "VIBRANT_MOTION_GRAPHICS",
        "hook_type": ("question", "statement", "story")[i % 3],
        "scene_count": 5 + i % 6,
        "narration_wpm": 100 + (i % 90),
        "caption_density": round(0.1 + (i % 8) / 10, 2),
        "ending_type": ("loop", "cliffhanger", "resolve")[i % 3],
    }
    row.update(over)
    return [row[c] for c in VIDEO_COLUMNS]


def snapshot(i: int, day: int = 0, **over: object) -> list[object]:
    captured = START + dt.timedelta(minutes=i, hours=6 + 24 * day)
    row: dict[str, object] = {
        "external_id": f"yt_{i:07d}",
        "captured_at": f"{captured:%Y-%m-%dT%H:%M:%SZ}",
        "views": 1000 + i,
        "views_6h": 100 + i % 50,
        "avg_view_duration_s": 12.5,
        "likes": i % 70,
        "comments": i % 9,
    }
    row.update(over)
    return [row[c] for c in METRIC_COLUMNS]


def write(path: Path, header: tuple[str, ...], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def count(db, model) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


class Statements:
    """Counts the SQL statements sent while it is active."""

    def __init__(self, db) -> None:
        self.n = 0
        self.engine = db.engine

    def _count(self, *_args: object) -> None:
        self.n += 1

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


@pytest.fixture(scope="module")
def big_videos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bulk")
    return write(folder / "videos.csv", VIDEO_COLUMNS, [video(i) for i in range(BIG)])


@pytest.fixture
def row_checks(monkeypatch) -> list[int]:
    """How many rows went through the row-by-row checks (the rest were checked as columns)."""
    calls = [0]
    by_row = ingest.videos._check_video_row

    def counting(presets, project_id):
        check = by_row(presets, project_id)

        def counted(row):
            calls[0] += 1
            return check(row)

        return counted

    monkeypatch.setattr(ingest.videos, "_check_video_row", counting)
    return calls


def test_a_large_file_with_one_bad_last_row_is_rejected_whole(db, tmp_path, big_videos, row_checks):
    rows = big_videos.read_text().splitlines()
    rows[-1] = (
        rows[-1]
        .replace("DARK_DYSTOPIAN_ANIME", "NO_SUCH_PRESET")
        .replace("VIBRANT_MOTION_GRAPHICS", "NO_SUCH_PRESET")
    )
    bad = tmp_path / "videos.csv"
    bad.write_text("\n".join(rows) + "\n")
    pid = project(db)
    with Statements(db) as sent, pytest.raises(InvalidFile) as info:
        import_videos(db, pid, RowFile(bad, VIDEO_COLUMNS), what="videos.csv")
    assert [(e.line, e.reason.split(" is not")[0]) for e in info.value.errors] == [
        (BIG + 1, "preset NO_SUCH_PRESET")
    ]
    assert "videos.csv rejected, 1 invalid row(s), nothing written: line 100001" in (
        info.value.message
    )
    assert count(db, VideoJob) == 0
    # Bulk: a handful of statements for 100,000 rows, and only the chunk holding the bad row
    # went through the row-by-row checks.
    assert sent.n < 30
    assert 0 < row_checks[0] <= row_files.CHUNK_ROWS


def test_a_large_file_loads_once_and_a_second_load_adds_nothing(db, big_videos, row_checks):
    pid = project(db)
    with Statements(db) as sent:
        first = import_videos(db, pid, RowFile(big_videos, VIDEO_COLUMNS))
    assert (first.rows, first.imported, first.unchanged) == (BIG, BIG, 0)
    assert sent.n < 30 and row_checks[0] == 0
    again = import_videos(db, pid, RowFile(big_videos, VIDEO_COLUMNS))
    assert (again.rows, again.imported, again.unchanged) == (BIG, 0, BIG)
    assert count(db, VideoJob) == BIG
    backfilled = backfill_recipes(db, pid)
    assert backfilled.videos_backfilled == BIG
    with db.read() as s:
        assert s.scalar(select(func.count()).where(VideoJob.recipe_id.is_(None))) == 0
        # The ids are time-ordered (version 7) UUIDs in the file's order, all distinct.
        ids = list(s.scalars(select(VideoJob.id).order_by(VideoJob.batch_position)))
    assert {i.version for i in ids} == {7} and len(set(ids)) == BIG
    assert ids == sorted(ids) and ids[0].int >> 80 == ids[-1].int >> 80


def test_columns_and_rows_store_the_same_values(db, tmp_path):
    """The column checks and the row checks agree on every stored value (offsets, blanks
    around cells, numbers written differently)."""
    rows = [
        video(1, published_at="2025-03-01T10:00:00+02:00", narration_wpm=" 140.50 "),
        video(2, topic="  Spaced   topic  ", scene_count=" 7", caption_density="3e-1"),
        video(3, published_at="2025-03-01 08:00:00.250000", external_id=" yt_x "),
    ]
    path = write(tmp_path / "v.csv", VIDEO_COLUMNS, rows)
    as_columns, as_rows = project(db, "columns"), project(db, "rows")
    import_videos(db, as_columns, RowFile(path, VIDEO_COLUMNS))
    import_videos(db, as_rows, read_rows(path, VIDEO_COLUMNS))  # rows in memory: row checks

    def stored(pid):
        with db.read() as s:
            return [
                tuple(r)
                for r in s.execute(
                    select(
                        VideoJob.external_id,
                        VideoJob.topic,
                        VideoJob.topic_hash,
                        VideoJob.published_at,
                        VideoJob.source_scene_count,
                        VideoJob.source_narration_wpm,
                        VideoJob.source_caption_density,
                    )
                    .where(VideoJob.project_id == pid)
                    .order_by(VideoJob.external_id)
                )
            ]

    got = stored(as_columns)
    assert got == stored(as_rows)
    assert got[0][3] == dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)
    assert got[1][1] == "Spaced   topic" and got[1][6] == 0.3
    assert got[2][0] == "yt_x" and got[2][3] == dt.datetime(2025, 3, 1, 8, 0, 0, 250000, dt.UTC)


def test_repeats_and_changed_data_are_found_across_chunks(db, tmp_path):
    pid = project(db)
    first = write(tmp_path / "a.csv", VIDEO_COLUMNS, [video(i) for i in range(10)])
    import_videos(db, pid, RowFile(first, VIDEO_COLUMNS, chunk_rows=3))
    rows = [video(i) for i in range(10, 30)]
    rows[15] = video(12)  # line 17 repeats line 4 (another chunk)
    rows[18] = video(5, topic="Changed")  # line 20: stored with other data
    second = write(tmp_path / "b.csv", VIDEO_COLUMNS, rows)
    with pytest.raises(InvalidFile) as info:
        import_videos(db, pid, RowFile(second, VIDEO_COLUMNS, chunk_rows=4))
    assert [str(e) for e in info.value.errors] == [
        "line 17: external_id yt_0000012 repeats line 4",
        "line 20: external_id yt_0000005 already exists in the project with different data",
    ]
    assert count(db, VideoJob) == 10


def test_metrics_rules_at_bulk_size(db, tmp_path):
    pid = project(db)
    n = 20_000
    videos = write(tmp_path / "v.csv", VIDEO_COLUMNS, [video(i) for i in range(n)])
    import_videos(db, pid, RowFile(videos, VIDEO_COLUMNS))
    snaps = [snapshot(i, day) for i in range(n) for day in (0, 1)]
    path = write(tmp_path / "m.csv", METRIC_COLUMNS, snaps)
    with Statements(db) as sent:
        first = ingest_metrics(db, pid, RowFile(path, METRIC_COLUMNS))
    assert (first.rows, first.ingested, first.unchanged) == (2 * n, 2 * n, 0)
    assert sent.n < 30
    again = ingest_metrics(db, pid, RowFile(path, METRIC_COLUMNS))
    assert (again.ingested, again.unchanged) == (0, 2 * n)

    bad = [snapshot(i, 2) for i in range(n)]
    bad[100] = snapshot(7, 0, views=999_999)  # stored with other values
    bad[200] = snapshot(3, 2)  # repeats line 5
    bad[300] = snapshot(10, 0, external_id="nowhere")  # no such video
    bad[400] = snapshot(400, -1)  # before publication
    bad[-1] = snapshot(n - 1, 2, views_6h=10**9)  # more views in 6 h than in all
    with pytest.raises(InvalidFile) as info:
        ingest_metrics(db, pid, RowFile(write(tmp_path / "bad.csv", METRIC_COLUMNS, bad), []))
    reasons = {e.line: e.reason for e in info.value.errors}
    assert sorted(reasons) == [102, 202, 302, 402, n + 1]
    assert reasons[102].startswith("a different snapshot of yt_0000007 at 2025-01-01T06:07:00")
    assert reasons[202] == "same external_id and captured_at as line 5"
    assert reasons[302] == "external_id nowhere is not a published video of the project"
    assert reasons[402].startswith("captured_at 2024-12-31T12:40:00+00:00 is before")
    assert reasons[n + 1].startswith("views_6h (1000000000) must not exceed views")
    assert count(db, MetricSnapshot) == 2 * n


def test_the_reader_keeps_lines_across_blocks(tmp_path, monkeypatch):
    """Tiny read blocks cut lines, CRLF pairs and quoted cells anywhere: the rows and their
    line numbers are those of a whole-file read."""
    rows = [video(i) for i in range(40)]
    rows[7][1] = "A topic, with a comma"
    rows[9][1] = 'Quoted "twice"'
    rows[11][1] = "A line\u2028separator and a form\x0cfeed are not line ends"
    text_crlf = tmp_path / "crlf.csv"
    with text_crlf.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(VIDEO_COLUMNS)
        w.writerows(rows)
        f.write("\r\n   \r\n")  # blank lines at the end
    expected = read_rows(text_crlf, VIDEO_COLUMNS)
    assert [line for line, _ in expected] == list(range(2, 42))
    assert expected[11][1]["topic"] == rows[11][1]
    for block in (1, 2, 3, 7, 64):
        monkeypatch.setattr(row_files, "BLOCK_BYTES", block)
        assert read_rows(text_crlf, VIDEO_COLUMNS) == expected
        source = RowFile(text_crlf, VIDEO_COLUMNS, chunk_rows=6)
        chunks = list(source)
        assert [len(c) for c in chunks] == [6] * 6 + [4]
        assert source.bytes_read == source.size


def test_form_errors_anywhere_reject_the_file_before_any_row_check(db, tmp_path, monkeypatch):
    monkeypatch.setattr(row_files, "BLOCK_BYTES", 5)
    rows = [video(i) for i in range(30)]
    path = write(tmp_path / "v.csv", VIDEO_COLUMNS, rows)
    path.write_text(path.read_text() + "yt_extra,only three,cells\n")
    pid = project(db)
    with pytest.raises(InvalidFile) as info:
        import_videos(db, pid, RowFile(path, VIDEO_COLUMNS, chunk_rows=4))
    assert [str(e) for e in info.value.errors] == ["line 32: has 3 cells, the header has 9"]
    assert count(db, VideoJob) == 0


def test_two_imports_of_one_file_at_once_both_succeed(db, tmp_path):
    """The second waits for the first and finds its rows stored: no unique-key failure, no row
    twice, and the counts add up."""
    from concurrent.futures import ThreadPoolExecutor

    pid = project(db)
    n = 20_000
    videos = write(tmp_path / "v.csv", VIDEO_COLUMNS, [video(i) for i in range(n)])
    snaps = write(tmp_path / "m.csv", METRIC_COLUMNS, [snapshot(i) for i in range(n)])
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(lambda _: import_videos(db, pid, RowFile(videos, VIDEO_COLUMNS)), range(2))
        )
    assert sorted((r.imported, r.unchanged) for r in results) == [(0, n), (n, 0)]
    with ThreadPoolExecutor(2) as pool:
        jobs = [
            pool.submit(ingest_metrics, db, pid, RowFile(snaps, METRIC_COLUMNS)),
            pool.submit(ingest_metrics, db, pid, RowFile(snaps, METRIC_COLUMNS)),
            pool.submit(backfill_recipes, db, pid),
        ]
        ingested = [j.result() for j in jobs[:2]]
        backfilled = jobs[2].result()
    assert sorted((r.ingested, r.unchanged) for r in ingested) == [(0, n), (n, 0)]
    assert backfilled.videos_backfilled == n
    assert count(db, VideoJob) == n and count(db, MetricSnapshot) == n


TIMESTAMP_CELLS = [
    "2025-03-01T10:00:00Z",
    " 2025-03-01T10:00:00.250000Z ",
    "2025-03-01T10:00Z",
    "2025-03-01T10Z",
    "2025-03-01T10:00:00+02:00",
    "2025-03-01T10:00:00",
    "2025-03-01 10:00:00Z",
    "2025-03-01",
    "2025-03-01Z",
    "2025-03-01TZ",
    "2025-03-01T10:00:00+02:00Z",
    "2025-W09-6T10:00Z",
    "20250301T1000Z",
    "Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+01:00",
]


@pytest.mark.parametrize("cell", TIMESTAMP_CELLS)
def test_a_timestamp_column_accepts_no_more_than_the_row_check(cell):
    """The column check (with its fast path for `...T...Z`) gives the row check's value, or
    sends the chunk to the row checks; it never accepts a cell the row check refuses."""
    from learning_loop.services.columns import timestamp
    from learning_loop.services.rows import RowProblem, parse_timestamp

    try:
        expected = parse_timestamp(cell, "at").replace(tzinfo=None)
    except RowProblem:
        expected = None
    got = timestamp([cell])
    if expected is None:
        assert got is None
    else:
        assert got in (None, [expected])


def test_long_rows_make_smaller_chunks(tmp_path):
    """Issue #30, finding 5: a chunk ends at CHUNK_CHARS of text as well as at CHUNK_ROWS
    rows, so memory is bounded by the chunk whatever the rows' length."""
    from learning_loop.services.row_files import CHUNK_CHARS, RowFile

    path = tmp_path / "long.csv"
    cell = "x" * 120_000  # under the csv module's field limit
    with path.open("w") as out:
        out.write("external_id,note\n")
        for i in range(300):
            out.write(f"v{i},{cell}\n")
    sizes = [len(chunk) for chunk in RowFile(path, ["external_id"])]
    assert sum(sizes) == 300
    most = (CHUNK_CHARS + (1 << 20)) // len(cell) + 2  # the budget, plus one block read ahead
    assert max(sizes) <= most < 300
