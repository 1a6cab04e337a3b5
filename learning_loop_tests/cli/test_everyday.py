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
