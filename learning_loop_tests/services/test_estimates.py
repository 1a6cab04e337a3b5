"""Estimates over the whole history, in the database: the daily run carries the history's sums
forward and must agree with reading every video, through skipped dates, late metrics, an old
history imported midway, a backfill and a setting changed."""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import select

from learning_loop.db.models import Project, RecipeModel, RewardBacklog
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.domain.additive_model import catalogue
from learning_loop.domain.recipe import RECIPE_FIELDS, Recipe
from learning_loop.services.estimates import project_estimates
from learning_loop.services.evidence import exact_evidence, id_text
from learning_loop.services.ingest import backfill_recipes, import_videos, ingest_metrics
from learning_loop.services.projects import SettingsChange, configure_project, get_project
from learning_loop.services.recipes import compute_recipe_stats
from learning_loop.services.rewards import compute_rewards_for_date
from learning_loop_tests.factories import T0, channel, metric_row, numbered, video_row

HOOKS = ("question", "story", "mystery", "visual")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def _videos(first: int, count: int, **over: object) -> list[dict[str, object]]:
    return [
        video_row(i, hook_type=HOOKS[i % 4], scene_count=5 + i % 3, **over)
        for i in range(first, first + count)
    ]


def _metrics(first: int, count: int, day_offset: int = 0) -> list[dict[str, object]]:
    return [
        metric_row(
            f"v{i}",
            T0 + dt.timedelta(days=i + day_offset, hours=7),
            views=900 + 53 * ((i * 7) % 13),
            views_6h=100 + 17 * ((i * 5) % 11),
            avg_view_duration_s=8.0 + (i * 3) % 19,
            likes=10 + i % 9,
            comments=i % 4,
        )
        for i in range(first, first + count)
    ]


def _agrees(db, pid, day: dt.date) -> None:
    """The stored evidence and history sums equal those read from every video."""
    with db.read() as session:
        every, history = exact_evidence(session, db.dialect, day, [pid])
        rows = session.execute(
            select(
                RecipeRow.id,
                RecipeRow.evidence_videos,
                RecipeRow.evidence_weight,
                RecipeRow.evidence_sum,
                RecipeRow.history_videos,
                RecipeRow.history_weight,
                RecipeRow.history_sumsq,
            ).where(RecipeRow.project_id == pid)
        ).all()
        as_of = session.scalar(select(Project.evidence_as_of).where(Project.id == pid))
    assert as_of == day
    _model_row_agrees(db, pid, day)
    for rid, n, w, total, hn, hw, hq in rows:
        key = id_text(db.dialect, rid)
        e = tuple(every.loc[key]) if key in every.index else (0, 0.0, 0.0, 0.0)
        h = tuple(history.loc[key]) if key in history.index else (0, 0.0, 0.0, 0.0)
        assert (n, hn) == (e[0], h[0]), day
        for mine, theirs in ((w or 0.0, e[1]), (total or 0.0, e[2]), (hw, h[1]), (hq, h[3])):
            assert math.isclose(mine, theirs, rel_tol=1e-9, abs_tol=1e-12), (day, mine, theirs)


def _model_row_agrees(db, pid, day: dt.date) -> None:
    """The stored evidence summary is the night's: a plan estimating from that one row gets
    the estimates written on the recipes, to the bit."""
    with db.read() as session:
        project = get_project(session, pid)
        stored = session.execute(
            select(RecipeModel.as_of, RecipeModel.presets).where(RecipeModel.project_id == pid)
        ).one()
        found = project_estimates(session, project)
        rows = session.execute(
            select(*(getattr(RecipeRow, f) for f in RECIPE_FIELDS), RecipeRow.estimate).where(
                RecipeRow.project_id == pid
            )
        ).all()
    assert stored.as_of == day and stored.presets == list(project.presets)
    assert found.videos is None  # read from the summary row alone
    cat = catalogue(tuple(project.presets))
    assert found.estimate is not None
    for row in rows:
        assert found.estimate[cat.index(Recipe(*row[:6]))] == row.estimate, day


def _day(db, day: dt.date) -> None:
    compute_rewards_for_date(db, day)
    compute_recipe_stats(db, day, None)


def test_carried_sums_agree_with_reading_every_video(db):
    # Window of 5 days, half-life of 7: ages matter at once. v10 and v11 have no metrics yet.
    pid = channel(db, _videos(0, 12), _metrics(0, 10))
    configure_project(db, pid, change=SettingsChange(window_days=5, half_life_days=7))
    days = [T0.date() + dt.timedelta(days=k) for k in range(4, 22)]
    old = [
        {**v, "published_at": utc(2026, 8, 1 + i).isoformat()}
        for i, v in enumerate(_videos(100, 6))
    ]
    for k, day in enumerate(days):
        if k == 2:
            # An old history imported, given its recipes; its metrics come later.
            import_videos(db, pid, numbered(old))
            backfill_recipes(db, pid)
        if k == 5:
            continue  # a night without a run
        if k == 9:
            # The old history's metrics: rewarded in their own windows, added to the sums.
            late = [
                {**m, "captured_at": utc(2026, 8, 3 + i).isoformat()}
                for i, m in enumerate(_metrics(100, 6))
            ]
            ingest_metrics(db, pid, numbered(late))
        if k == 13:
            # v10 and v11 measured after leaving the window, never rewarded before.
            ingest_metrics(db, pid, numbered(_metrics(10, 2, day_offset=5)))
        if k == 15:
            configure_project(db, pid, change=SettingsChange(half_life_days="never"))
        result = compute_rewards_for_date(db, day)
        if k in (9, 13):
            assert result.history_rewarded == (6 if k == 9 else 2)
        compute_recipe_stats(db, day, None)
        _agrees(db, pid, day)
    # Every measured video ended up rewarded, and the backlog is empty.
    with db.read() as session:
        assert session.scalars(select(RewardBacklog.video_id)).all() == []


def test_a_past_date_leaves_the_estimates_of_the_newest(db):
    pid = channel(db, _videos(0, 10), _metrics(0, 10))
    newest = T0.date() + dt.timedelta(days=12)
    _day(db, newest)
    with db.read() as session:
        before = session.execute(
            select(RecipeRow.id, RecipeRow.estimate).where(RecipeRow.project_id == pid)
        ).all()
    _day(db, newest - dt.timedelta(days=5))
    with db.read() as session:
        after = session.execute(
            select(RecipeRow.id, RecipeRow.estimate).where(RecipeRow.project_id == pid)
        ).all()
        as_of = session.scalar(select(Project.evidence_as_of).where(Project.id == pid))
    assert sorted(after) == sorted(before) and as_of == newest


def test_projects_estimated_a_few_at_a_time_agree(db, monkeypatch):
    """Projects are estimated in passes; passes of one project give every project's sums and
    estimates as one pass does, carried or read whole, and the staged tables are reused."""
    monkeypatch.setattr("learning_loop.services.estimates.PROJECTS_PER_PASS", 1)
    pids = [channel(db, _videos(0, 10 + k), _metrics(0, 10 + k), f"c{k}") for k in range(3)]
    configure_project(db, pids[1], change=SettingsChange(half_life_days=30))
    for k in range(3):
        day = T0.date() + dt.timedelta(days=12 + k)
        _day(db, day)
        for pid in pids:
            _agrees(db, pid, day)
