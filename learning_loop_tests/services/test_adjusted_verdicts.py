"""The final look's pooled contrast adjusted for the publication time (contract §7): the database
groups a project's rewarded videos by recipe and (weekday, block of the day) as the domain would
from the videos one by one, and the evaluation's final looks are judged on that contrast.
Checked against the domain recomputed from what the listings show, on both databases."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from learning_loop.db.models import Project, RecipeModel
from learning_loop.domain.additive_model import EvidenceSummary, catalogue_hashes
from learning_loop.domain.decay import decay_weight
from learning_loop.domain.experiments import (
    RULE_FIXED_LOOK,
    RULE_POOLED_FINAL,
    WITH_POOLED,
    decide,
)
from learning_loop.domain.pooled import adjusted_test, cell_evidence, pooled_tests, time_cells
from learning_loop.services.experiments import evaluate_experiments, list_experiments
from learning_loop.services.pooled import _hour, _weekday, read_cells
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.recipes import compute_recipe_stats
from learning_loop.services.rewards import compute_rewards_for_date
from learning_loop.services.video_jobs import list_videos
from learning_loop_tests.services.test_planning import _run_experiment_round, arms_of
from learning_loop_tests.services.test_pooled_verdicts import assert_is_the_verdict

JOBS = 16
FINAL_RULES = (RULE_FIXED_LOOK, RULE_POOLED_FINAL)  # the rules of the final look
MAX_DAYS = 5


def _spread_channel(db):
    """A project whose first batch is published over a day, a video every 86 minutes (every
    block of the day, two weekdays), and the date, past every experiment's deadline, on which
    it is judged."""
    pid = create_project(
        db, "spread", ProjectSettings(min_samples=3, explore_rate=0.5, max_days=MAX_DAYS)
    ).id
    # The block of the day pulls the reward: the adjustment has something to remove.
    out, first = _run_experiment_round(db, pid, JOBS, 5, minutes_apart=86, block_pull=300)
    late = first + dt.timedelta(days=MAX_DAYS + 1)
    compute_rewards_for_date(db, late)
    return pid, out, late


def _expected_cells(db, pid, as_of):
    """The project's cells computed in Python from its videos as the listing shows them."""
    with db.read() as s:
        project = s.get(Project, pid)
        assert project is not None
        presets, half_life = tuple(project.presets), project.half_life_days
    index = catalogue_hashes(presets)
    videos = [v for v in list_videos(db, pid) if v.reward is not None]
    stamps = [v.published_at for v in videos]
    return presets, cell_evidence(
        [index[v.recipe_hash] for v in videos],
        time_cells([t.weekday() for t in stamps], [t.hour for t in stamps]),
        [v.reward for v in videos],
        decay_weight(np.array([(as_of - t.date()).days for t in stamps], float), half_life),
    )


def _sorted(cells):
    order = np.lexsort((cells.cell, cells.index))
    return {name: getattr(cells, name)[order] for name in cells.__dataclass_fields__}


def test_weekday_and_hour_in_sql_are_pythons(db):
    """Every weekday (Monday 0) and hour, as each database reads a stored naive UTC time."""
    from sqlalchemy import literal, select

    from learning_loop.db.models.base import UTCDateTime

    monday = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    moments = [
        monday + dt.timedelta(days=d, hours=h, minutes=59)
        for d in range(7)
        for h in (0, 5, 6, 13, 23)
    ]
    with db.read() as s:
        for moment in moments:
            stamp = literal(moment, UTCDateTime())
            got = s.execute(select(_weekday(db.dialect, stamp), _hour(db.dialect, stamp))).one()
            assert tuple(got) == (moment.weekday(), moment.hour), moment


def test_the_database_groups_the_videos_by_recipe_weekday_and_hour(db):
    pid, _, late = _spread_channel(db)
    _, expected = _expected_cells(db, pid, late)
    with db.read() as s:
        project = s.get(Project, pid)
        got = read_cells(s, db.dialect, late, [project])[pid]
    want, have = _sorted(expected), _sorted(got)
    # 21.5 hours of publications cover every block of the day, over one or two weekdays: at
    # least 4 cells whatever the hour the test starts.
    assert len(np.unique(want["cell"])) >= 4
    assert int(want["videos"].sum()) == JOBS
    for name in ("index", "cell", "videos"):
        assert have[name].tolist() == want[name].tolist(), name
    for name in ("weight", "total", "squares"):
        assert have[name] == pytest.approx(want[name], rel=1e-9), name


def judged_spread_channel(db):
    """`_spread_channel` with its recipe stats and its experiments' evaluation of the date."""
    pid, out, late = _spread_channel(db)
    compute_recipe_stats(db, late, None, [pid])
    evaluate_experiments(db, late)
    return pid, out, late


def test_the_final_look_is_judged_on_the_contrast_adjusted_for_the_publication_time(db, cli):
    pid, out, late = _spread_channel(db)
    compute_recipe_stats(db, late, None, [pid])
    presets, cells = _expected_cells(db, pid, late)
    running = list_experiments(db, pid, "running")
    with db.read() as s:
        model = s.get(RecipeModel, pid)
        assert model is not None
        summary = EvidenceSummary.from_bytes(presets, model.summary)
    index = catalogue_hashes(presets)
    pairs = [(index[e.baseline_recipe_hash], index[e.variant_recipe_hash]) for e in running]
    early = dict(
        zip(
            [e.id for e in running],
            pooled_tests(summary, pairs, 0.05 * WITH_POOLED.pooled_early),
            strict=True,
        )
    )
    evaluate_experiments(db, late)
    rewards = {v.id: v.reward for v in list_videos(db, pid)}
    completed = {e.id: e for e in list_experiments(db, pid, "completed")}
    assert set(completed) == {e.id for e in running}  # past the deadline: every one is judged
    adjusted_shown = 0
    for exp, (b, v) in zip(running, pairs, strict=True):
        done = completed[exp.id]
        baseline, variant = arms_of(out.jobs, exp, rewards)
        test, rejected = early[exp.id]
        final = adjusted_test(cells, presets, b, v, 0.05 * WITH_POOLED.pooled_final)
        expected = decide(
            baseline,
            variant,
            0.05,
            3,
            True,
            pooled=test,
            pooled_rejected=rejected,
            final=lambda final=final: final,
        )
        assert_is_the_verdict(done, expected)
        assert done.pooled_time_adjusted == expected.pooled_time_adjusted
        if final is not None and test is not None and done.decision_rule in FINAL_RULES:
            # The shown contrast is the adjusted one, not the summary's, and says so.
            assert done.pooled_difference == pytest.approx(final.estimate)
            assert done.pooled_time_adjusted is True
            assert abs(final.estimate - test.estimate) > 1e-9
            adjusted_shown += 1
    assert adjusted_shown >= 1
    rows = json.loads(cli("learn", "experiments", "--project", str(pid), "--json").out)
    assert sum(r["pooled_time_adjusted"] is True for r in rows) == adjusted_shown
    assert "(time-adj.)" in cli("learn", "experiments", "--project", str(pid)).out
