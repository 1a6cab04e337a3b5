"""The project report: its typed data, its charts' ticks and intervals, and the page, which
renders in a real headless Chromium, every chart included."""

import dataclasses
import datetime as dt
import math
import re
import struct
import subprocess
import uuid
from html import escape
from pathlib import Path

import pytest
from sqlalchemy import select

from learning_loop.db.models import Experiment, PlannedBatch
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.domain.recipe import RECIPE_FIELDS
from learning_loop.reporting.data import (
    BatchMix,
    ExperimentRow,
    FieldEffects,
    LeaderboardRow,
    ProjectReportData,
    RewardSeries,
    RunningExperimentRow,
    ValueEffect,
)
from learning_loop.reporting.page import render_report
from learning_loop.reporting.svg import (
    interval_chart,
    line_chart,
    nice_ticks,
    stacked_bars,
    wrap_label,
)
from learning_loop.services.recipes import list_recipes
from learning_loop.services.report import project_report, report_data
from learning_loop_tests.browser import FLAGS, browser_or_skip, dump_dom
from learning_loop_tests.factories import channel, metric_row, video_row

FIELDS = RECIPE_FIELDS
AXES = {"x_title": "x", "y_title": "y"}


def recipe_row(i: int, n: int, mean: float, low: float | None, high: float | None):
    return LeaderboardRow(
        recipe_hash=f"{i:064x}",
        preset="DARK_DYSTOPIAN_ANIME",
        hook_type="question",
        scene_count=7,
        narration_wpm_bucket="medium",
        caption_density_bucket="medium",
        ending_type="cliffhanger",
        n=n,
        mean=mean,
        ci_low=low,
        ci_high=high,
    )


def full_data() -> ProjectReportData:
    days = tuple(dt.date(2026, 10, d) for d in range(1, 11))
    return ProjectReportData(
        project_name="Report <test> & co",
        generated_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        videos_rewarded=42,
        days=days,
        reward_per_day=(
            RewardSeries(
                "exploit",
                tuple(0.5 + i / 40 for i in range(10)),
                tuple(0.5 + i / 80 for i in range(10)),
            ),
            RewardSeries(
                "explore",
                tuple(0.4 + (i % 3) / 10 if i % 4 else None for i in range(10)),
                (None, *(0.45 for _ in range(9))),
            ),
        ),
        leaderboard=tuple(
            recipe_row(i, 3, 0.7 - i / 20, 0.6 - i / 20, 0.8 - i / 20) for i in range(5)
        )
        + (recipe_row(9, 1, 0.3, None, None),),
        experiments=(
            ExperimentRow("hook_type", "question", "story", "variant", 0.12, 0.03, 0.21),
            ExperimentRow("scene_count", "7", "8", "inconclusive", -0.02, -0.43, 0.30),
            ExperimentRow(
                "narration_wpm_bucket",
                "medium",
                "fast",
                "inconclusive",
                0.01,
                -0.1,
                0.12,
                mde=0.081,
                decided_by="pooled_always_valid",
            ),
        ),
        experiments_running=2,
        experiments_completed=2,
        batches=tuple(BatchMix(d, 3 + i % 2, 2 - i % 2) for i, d in enumerate(days)),
        recipes_estimated=28,
        insights=tuple(
            FieldEffects(
                field,
                "ref",
                f"{field}: `b` beats `ref` by 0.05 [0.01, 0.09]; 90% likely the best",
                (
                    ValueEffect("ref", 0.0, 0.0, 0.0, 20, 0.1),
                    ValueEffect("b", 0.05, 0.01, 0.09, 22, 0.9),
                ),
            )
            for field in FIELDS
        ),
    )


def chart(html: str, name: str) -> str:
    match = re.search(rf'<svg class="chart" data-chart="{name}".*?</svg>', html, re.S)
    assert match, name
    return match.group(0)


def labels(svg: str) -> list[str]:
    """The row labels of an interval chart, each with its wrapped lines joined again."""
    return [
        " ".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", text))
        for text in re.findall(r'<text class="label".*?</text>', svg)
    ]


def tick_values(svg: str) -> list[float]:
    return [float(t) for t in re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', svg)]


def assert_round(ticks: list[float]) -> None:
    """Evenly spaced multiples of a step of 1, 2 or 5 times a power of ten."""
    assert len(ticks) >= 2
    step = ticks[1] - ticks[0]
    power = 10.0 ** math.floor(math.log10(step) + 1e-9)
    assert any(math.isclose(step, f * power, rel_tol=1e-9) for f in (1, 2, 5)), ticks
    for k, t in enumerate(ticks):
        assert math.isclose(t, ticks[0] + k * step, rel_tol=1e-9, abs_tol=1e-12), ticks
        assert math.isclose(t / step, round(t / step), abs_tol=1e-6), ticks


def render_in_browser(html: str, tmp_path: Path) -> tuple[dict[str, int], Path]:
    exe = browser_or_skip()
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    dom = dump_dom(page.as_uri(), tmp_path / "profile-dom")
    counts = {
        k: int(v) for k, v in re.findall(r'data-charts-(total|rendered|clipped)="(\d+)"', dom)
    }
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


@pytest.mark.parametrize(
    ("low", "high", "step"),
    [
        (-0.43, 0.30, 0.1),
        (0.0, 1.0, 0.2),
        (-0.0123, 0.0456, 0.01),
        (0.0, 13.0, 2.0),
        (3.0, 480.0, 100.0),
    ],
)
def test_nice_ticks_are_round_and_cover_the_range(low, high, step):
    ticks = nice_ticks(low, high)
    assert_round(ticks)
    assert math.isclose(ticks[1] - ticks[0], step, rel_tol=1e-9)
    assert ticks[0] <= low and ticks[-1] >= high
    assert ticks[0] > low - step - 1e-9 and ticks[-1] < high + step + 1e-9  # no spare step
    assert 4 <= len(ticks) <= 11


def test_nice_ticks_edge_cases():
    assert nice_ticks(-0.43, 0.30) == [-0.5, -0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3]
    assert nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 1, integer=True) == [0.0, 1.0]  # counts never get a 0.2 step
    assert nice_ticks(0, 7, integer=True) == [float(k) for k in range(8)]
    flat = nice_ticks(0.3, 0.3)  # a single value still gets an axis around it
    assert_round(flat) and flat[0] < 0.3 < flat[-1]
    assert all(str(t) != "-0.0" for t in nice_ticks(-0.3, -0.1) + nice_ticks(-1, 0))
    with pytest.raises(ValueError):
        nice_ticks(0, math.inf)


def test_every_numeric_axis_has_round_ticks():
    charts = [
        line_chart("l", "l", ["a", "b"], {"exploit": [0.13, 0.71]}, **AXES),
        line_chart("l", "l", ["a", "b"], {"exploit": [-0.2, 1.37]}, **AXES),  # outside [0, 1]
        interval_chart("i", "i", [("a", 0.5, 0.31, 0.77)], (0.0, 1.0), x_title="x"),
        interval_chart("e", "e", [("a", -0.07, -0.43, 0.30)], zero_line=True, x_title="x"),
        interval_chart("e", "e", [("a", 0.5, None, None)], x_title="x"),  # a dot, no bar
        stacked_bars("s", "s", ["a", "b"], {"exploit": [3, 5], "explore": [4, 2]}, **AXES),
    ]
    for svg in charts:
        assert_round(tick_values(svg))
    assert tick_values(charts[1])[0] <= -0.2 and tick_values(charts[1])[-1] >= 1.37
    labels = re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', charts[3])
    assert labels == ["-0.5", "-0.4", "-0.3", "-0.2", "-0.1", "0.0", "0.1", "0.2", "0.3"]
    assert 'class="mark interval"' not in charts[4] and 'class="mark"' in charts[4]
    assert tick_values(charts[5]) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


def test_report_is_self_contained_and_escaped():
    html = render_report(full_data())
    assert html.count('<svg class="chart"') == 10  # four, and a forest plot per field
    for name in ("reward-per-day", "leaderboard", "experiments", "mix"):
        assert_round(tick_values(chart(html, name)))
    for field in FIELDS:
        forest = chart(html, f"insight-{field}")
        assert_round(tick_values(forest))
        assert forest.count('class="mark interval"') == 2 and "b (22 rewarded, 90% best)" in forest
        assert f"{field}: `b` beats `ref` by 0.05" in html
    assert "Report &lt;test&gt; &amp; co" in html and "<test>" not in html
    assert "hook_type: question → story (variant)" in html
    # Presets by their full names; a long label wrapped onto lines, none lost.
    label = "DARK_DYSTOPIAN_ANIME · question · 7 · medium · medium · cliffhanger (1 rewarded)"
    lines = wrap_label(label)
    assert len(lines) == 2 and " ".join(lines) == label
    assert all(f">{escape(line)}</tspan>" in html for line in lines)
    long = chart(html, "experiments")
    assert ">narration_wpm_bucket: medium → fast (inconclusive,</tspan>" in long
    # Every chart has its axis titles: two on the line and bar charts, one on the others.
    for name in ("reward-per-day", "mix"):
        assert chart(html, name).count('class="axis-title"') == 2
    for name in ("leaderboard", "experiments", *(f"insight-{f}" for f in FIELDS)):
        assert chart(html, name).count('class="axis-title"') == 1
    assert ">publication day</text>" in html and ">jobs planned</text>" in html
    # The leaderboard says how many recipes it leaves out.
    assert "The best 6 of the 28 recipes with an estimate" in html
    # The daily chart names the lines it has, and draws the 7-day average over faint days.
    assert "exploit (the best recipes) and explore (one-variable variations)" in html
    assert "manual" not in chart(html, "reward-per-day")
    assert chart(html, "reward-per-day").count('class="mark dot"') == 10 + 7
    # Five recipes with an interval bar, the single-video one as a dot alone.
    assert chart(html, "leaderboard").count('class="mark interval"') == 5
    assert "Each recipe&#39;s estimate" in html and "data-charts-rendered" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_empty_report_still_has_five_charts():
    empty = ProjectReportData(
        "empty", dt.datetime(2026, 11, 1, tzinfo=dt.UTC), 0, (), (), (), (), 0, 0, ()
    )
    html = render_report(empty)
    assert html.count('<svg class="chart"') == 5  # the insights one says there is nothing yet
    for message in ("No rewarded videos yet.", "No recipe has a reward yet.", "No batch planned"):
        assert message in html


def test_every_chart_renders_in_chromium(tmp_path):
    counts, shot = render_in_browser(render_report(full_data()), tmp_path)
    # Every chart drew, and no label, tick or title runs off its chart (long experiment and
    # recipe labels are wrapped: issue #29, point 6).
    assert counts == {"total": 10, "rendered": 10, "clipped": 0}
    assert png_size(shot) == (900, 2200) and shot.stat().st_size > 20_000


def seeded(db) -> uuid.UUID:
    """Three rewarded videos (two share the story recipe), a batch and a decided experiment."""
    at = dt.datetime(2026, 10, 6, 12, tzinfo=dt.UTC)
    pid = channel(
        db,
        [video_row(i, hook_type=h) for i, h in enumerate(["story", "story", "question"])],
        [metric_row(f"v{i}", at, avg_view_duration_s=10 + i) for i in range(3)],
    )
    from learning_loop.services.stats import update_stats

    update_stats(db, pid, dt.date(2026, 10, 10), 30)
    project_id = pid
    with db.transaction() as session:
        recipes = {
            r.hook_type: r.id
            for r in session.scalars(select(RecipeRow).where(RecipeRow.project_id == project_id))
        }
        session.add(
            PlannedBatch(
                project_id=project_id,
                batch_date=dt.date(2026, 10, 11),
                requested=5,
                exploit_count=3,
                explore_count=2,
                jobs_created=5,
            )
        )
        session.add(
            Experiment(
                project_id=project_id,
                baseline_recipe_id=recipes["story"],
                variant_recipe_id=recipes["question"],
                variable_tested="hook_type",
                baseline_value="story",
                variant_value="question",
                status="completed",
                difference=0.25,
                ci_low=-0.43,
                ci_high=0.30,
                winner="inconclusive",
                reason="not_significant",
            )
        )
    return pid


def test_report_data_of_a_seeded_project(db):
    pid = seeded(db)
    data = report_data(db, pid)
    assert isinstance(data, ProjectReportData)
    assert data.project_name == "channel" and data.generated_at.tzinfo is not None
    assert data.videos_rewarded == 3
    assert data.days == (dt.date(2026, 10, 1), dt.date(2026, 10, 2), dt.date(2026, 10, 3))
    # Imported videos are manual: one series, one video per day, so each mean is its reward.
    (series,) = data.reward_per_day
    assert series.mode == "manual" and len(series.means) == 3
    assert all(isinstance(v, float) and 0 <= v <= 1 for v in series.means)
    # The leaderboard: the recipes by estimate, with their intervals and videos behind them.
    by_hook = {row.hook_type: row for row in data.leaderboard}
    assert set(by_hook) == {"story", "question"}
    assert [r.mean for r in data.leaderboard] == sorted(
        (r.mean for r in data.leaderboard), reverse=True
    )
    listed = {r.hook_type: r for r in list_recipes(db, pid)}
    for hook, row in by_hook.items():
        assert (row.mean, row.ci_low, row.ci_high, row.n) == (
            listed[hook].estimate,
            listed[hook].estimate_low,
            listed[hook].estimate_high,
            listed[hook].evidence_videos,
        )
    assert by_hook["story"].n == 2 and by_hook["story"].label.endswith("(2 rewarded)")
    assert len(by_hook["story"].recipe_hash) == 64
    # The insights: a forest plot's rows per field, as `learn insights` gives them.
    assert [f.field for f in data.insights] == list(FIELDS)
    hooks = data.insights[1]
    assert hooks.reference == "question" and len(hooks.values) == 6
    assert sum(v.videos for v in hooks.values) == 3
    assert data.experiments == (
        ExperimentRow("hook_type", "story", "question", "inconclusive", 0.25, -0.43, 0.30),
    )
    assert (data.experiments_running, data.experiments_completed) == (0, 1)
    assert data.batches == (BatchMix(dt.date(2026, 10, 11), 3, 2),)


def test_project_report_from_the_database(db, tmp_path):
    pid = seeded(db)
    html = project_report(db, pid)
    assert html.count('<svg class="chart"') == 10
    assert "question" in html and "(2 rewarded)" in html  # the two story videos share a recipe
    assert "hook_type: story → question (inconclusive)" in html
    assert tick_values(chart(html, "experiments")) == [
        -0.5,
        -0.4,
        -0.3,
        -0.2,
        -0.1,
        0.0,
        0.1,
        0.2,
        0.3,
    ]
    for name in ("reward-per-day", "leaderboard", "mix"):
        assert_round(tick_values(chart(html, name)))
    counts, _ = render_in_browser(html, tmp_path)
    assert counts == {"total": 10, "rendered": 10, "clipped": 0}


def test_project_report_without_batches_or_verdicts(db, tmp_path):
    at = dt.datetime(2026, 10, 6, 12, tzinfo=dt.UTC)
    pid = channel(db, [video_row(0)], [metric_row("v0", at)])
    html = project_report(db, pid)
    assert "No experiment has a verdict yet." in html and "No batch planned yet." in html
    counts, _ = render_in_browser(html, tmp_path)
    # Without batches, verdicts or a stats run those charts say so: still drawn, never blank
    # (the insights as one chart until the stats run has estimated the fields).
    assert "No rewarded videos yet." in html
    assert counts == {"total": 5, "rendered": 5, "clipped": 0}


def test_running_experiments_show_where_they_stand_and_decided_ones_their_mde():
    data = dataclasses.replace(
        full_data(),
        experiments=(
            ExperimentRow("hook_type", "question", "story", "variant", 0.12, 0.03, 0.21, 0.09),
        ),
        running=(
            RunningExperimentRow("scene_count", "7", "8", 5, 4, -0.05, -0.31, 0.21, 6.4),
            RunningExperimentRow("ending_type", "cta", "loop", 1, 0, None, None, None, None),
        ),
    )
    svg = chart(render_report(data), "experiments")
    assert "(variant, MDE 0.090)" in svg
    assert "scene_count: 7 → 8 (running, n 5/4, verdict in ~6 d)" in labels(svg)
    assert "ending_type" not in svg  # no difference yet: nothing to draw
    assert svg.count('class="mark interval"') == 2


def test_a_verdict_says_what_held_it_back_and_how_its_guardrail_stood():
    held = ExperimentRow(
        "hook_type", "question", "story", "inconclusive", 0.12, 0.03, 0.21,
        guardrail="engagement: hurt, p=1.8e-05", guardrail_held=True,
    )  # fmt: skip
    passed = ExperimentRow(
        "ending_type", "cta", "loop", "variant", 0.1, 0.02, 0.18,
        guardrail="engagement: not hurt, p=0.41",
    )  # fmt: skip
    mismatched = ExperimentRow(
        "scene_count", "7", "8", "inconclusive", 0.01, -0.2, 0.22, allocation_mismatch=True
    )
    waiting = RunningExperimentRow(
        "preset", "a", "b", 9, 2, 0.05, -0.2, 0.3, 3.0, allocation_mismatch=True
    )
    svg = chart(
        render_report(
            dataclasses.replace(
                full_data(), experiments=(held, passed, mismatched), running=(waiting,)
            )
        ),
        "experiments",
    )
    drawn = " ".join(labels(svg))
    assert "(inconclusive: guardrail, guardrail engagement: hurt, p=1.8e-05)" in drawn
    assert "(variant, guardrail engagement: not hurt, p=0.41)" in drawn
    assert "scene_count: 7 → 8 (inconclusive: allocation mismatch)" in drawn
    assert "preset: a → b (running, n 9/2, waits: allocation mismatch)" in drawn
