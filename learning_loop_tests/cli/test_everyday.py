"""Everyday use (issue #29, in part): a report for any project from the CLI, and topics
files whose `#` lines are comments."""

from __future__ import annotations

import json


def test_learn_report_writes_the_projects_page(cli, samples, tmp_path):
    pid = cli("projects", "create", "--name", "reported").out.strip()
    assert (
        cli("learn", "import-videos", "--project", pid, "--file", samples / "videos.csv").code == 0
    )
    out = tmp_path / "mine.html"
    made = cli("learn", "report", "--project", pid, "--out", out)
    assert made.code == 0, made.err
    assert "wrote" in made.out and out.read_text().lstrip().lower().startswith("<!doctype html")
    bad = cli("learn", "report", "--project", pid, "--out", tmp_path / "missing" / "r.html")
    assert bad.code != 0 and bad.err.startswith("error: cannot write")
    assert len(bad.err.strip().splitlines()) == 1


def test_topics_files_skip_comments_and_blank_lines(cli, tmp_path):
    pid = cli("projects", "create", "--name", "topics").out.strip()
    topics = tmp_path / "topics.txt"
    topics.write_text("# this week's ideas\nWhy octopuses dream\n\n  # later?\nThe loudest sound\n")
    planned = cli(
        "learn", "plan-next", "--project", pid, "--topics-file", topics, "--count", "2",
        "--wait", "--json",
    )  # fmt: skip
    assert planned.code == 0, planned.err
    jobs = json.loads(planned.out)["jobs"]
    assert [j["topic"] for j in jobs] == ["Why octopuses dream", "The loudest sound"]


def test_a_missed_step_is_named(cli, samples):
    """Issue #29, point 4: forgetting `backfill` or the metrics is said, with the command."""
    pid = cli("projects", "create", "--name", "missed").out.strip()
    assert (
        cli("learn", "import-videos", "--project", pid, "--file", samples / "videos.csv").code == 0
    )
    stats = cli("learn", "update-stats", "--project", pid, "--as-of", "2026-10-30")
    assert stats.code == 0, stats.err
    assert "hint: 60 published video(s) have no recipe yet" in stats.out
    assert f"shorts-engine learn backfill --project {pid}" in stats.out
    assert "have no metrics yet" in stats.out and "learn ingest-metrics" in stats.out
    listed = cli("learn", "recipes", "--project", pid)
    assert "learn backfill" in listed.out
    as_json = json.loads(
        cli("learn", "update-stats", "--project", pid, "--as-of", "2026-10-30", "--json").out
    )
    assert len(as_json["hints"]) == 2
    assert cli("learn", "backfill", "--project", pid).code == 0
    metrics = samples / "metrics.csv"
    assert cli("learn", "ingest-metrics", "--project", pid, "--file", metrics).code == 0
    done = cli("learn", "update-stats", "--project", pid, "--as-of", "2026-10-30")
    assert "hint:" not in done.out
