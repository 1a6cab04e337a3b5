"""The report renders in a real headless Chromium, every chart included."""

import datetime as dt
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from learning_loop.services.report import project_report, render_report
from learning_loop_tests.factories import channel, metric_row, video_row

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def full_data():
    days = [f"2026-10-{d:02d}" for d in range(1, 11)]
    return {
        "project": "Report <test> & co",
        "generated_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        "videos_rewarded": 42,
        "days": days,
        "daily": {
            "exploit": [0.5 + i / 40 for i in range(10)],
            "explore": [0.4 + (i % 3) / 10 if i % 4 else None for i in range(10)],
        },
        "leaderboard": [
            (f"recipe {i}", 0.7 - i / 20, 0.6 - i / 20, 0.8 - i / 20) for i in range(6)
        ],
        "experiments": [
            ("hook_type: question → story (variant)", 0.12, 0.03, 0.21),
            ("scene_count: 7 → 8 (inconclusive)", -0.02, -0.1, 0.06),
        ],
        "running": 2,
        "completed": 2,
        "batches": [(d, 3 + i % 2, 2 - i % 2) for i, d in enumerate(days)],
    }


def browser_or_skip():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("needs Debian's chromium: apt-get install chromium")
    return CHROMIUM


def render_in_browser(html: str, tmp_path: Path) -> tuple[dict[str, int], Path]:
    exe = browser_or_skip()
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    dom = subprocess.run(
        [
            exe,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile-dom'}",
            "--virtual-time-budget=3000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    counts = {k: int(v) for k, v in re.findall(r'data-charts-(total|rendered)="(\d+)"', dom)}
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            exe,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile-shot'}",
            "--window-size=900,2200",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    return counts, shot


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_report_is_self_contained_and_escaped():
    html = render_report(full_data())
    assert html.count('<svg class="chart"') == 4
    assert "Report &lt;test&gt; &amp; co" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_every_chart_renders_in_chromium(tmp_path):
    counts, shot = render_in_browser(render_report(full_data()), tmp_path)
    assert counts == {"total": 4, "rendered": 4}
    assert png_size(shot) == (900, 2200) and shot.stat().st_size > 20_000


def test_project_report_from_the_database(db, tmp_path):
    at = dt.datetime(2026, 10, 6, 12, tzinfo=dt.UTC)
    pid = channel(
        db,
        [video_row(i, hook_type=h) for i, h in enumerate(["story", "story", "question"])],
        [metric_row(f"v{i}", at, avg_view_duration_s=10 + i) for i in range(3)],
    )
    from learning_loop.services.stats import update_stats

    update_stats(db, pid, dt.date(2026, 10, 10), 30)
    html = project_report(db, pid)
    assert "question" in html and "(n=2)" in html  # the two story videos share a recipe
    counts, _ = render_in_browser(html, tmp_path)
    # Without batches or verdicts those charts say so: still drawn, never blank.
    assert counts == {"total": 4, "rendered": 4}
