"""Hostile input is one `error:` line and a non-zero exit, never a traceback (issue #30,
finding 6): a JSONL line nested thousands deep, an integer of thousands of digits, a database
URL of an unsupported kind (whose password is not echoed)."""

from __future__ import annotations

import json

from learning_loop_tests.factories import video_row


def _one_line(result) -> str:
    assert result.code != 0
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


def test_hostile_rows_are_row_errors(cli, tmp_path):
    pid = cli("projects", "create", "--name", "hostile").out.strip()
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"external_id": ' + "[" * 5000 + "]" * 5000 + "}\n")
    line = _one_line(cli("learn", "import-videos", "--project", pid, "--file", deep))
    assert "line 1: not valid JSON (nested too deeply)" in line
    huge = tmp_path / "huge.jsonl"
    row = json.dumps(video_row(1)).replace('"scene_count": 7', '"scene_count": ' + "7" * 5000)
    huge.write_text(row + "\n")
    line = _one_line(cli("learn", "import-videos", "--project", pid, "--file", huge))
    assert "line 1: not valid JSON" in line and len(line) < 400
    metrics = tmp_path / "huge_metrics.csv"
    metrics.write_text(
        "external_id,captured_at,views,views_6h,avg_view_duration_s,likes,comments\n"
        f"v1,2026-10-02T00:00:00Z,{'9' * 5000},1,1.0,1,1\n"
    )
    line = _one_line(cli("learn", "ingest-metrics", "--project", pid, "--file", metrics))
    assert "line 2" in line and len(line) < 400


def test_an_unsupported_database_url_is_one_line_without_its_password(cli, monkeypatch):
    from learning_loop.cli import common

    monkeypatch.setenv("LEARNING_LOOP_DATABASE_URL", "mysql://user:pw-not-shown@db/loop")
    common.reset()
    line = _one_line(cli("projects", "list"))
    assert "LEARNING_LOOP_DATABASE_URL" in line and "mysql" in line
    assert "pw-not-shown" not in line


def test_a_file_without_line_breaks_is_refused_without_reading_it_whole(cli, tmp_path):
    """Issue #30, finding 5: one row may not be longer than the limit; the file is refused
    in one line naming the line, after reading about the limit, not the whole file."""
    from learning_loop.services.row_files import MAX_LINE_CHARS

    pid = cli("projects", "create", "--name", "long").out.strip()
    path = tmp_path / "no_breaks.csv"
    header = "external_id,captured_at,views,views_6h,avg_view_duration_s,likes,comments\n"
    path.write_text(header + "v1," * (MAX_LINE_CHARS // 2))
    line = _one_line(cli("learn", "ingest-metrics", "--project", pid, "--file", path))
    assert "line 2 is longer than" in line and "the limit of one row" in line
