"""Where running experiments stand (issue #16, point 3): the arms, the always-valid interval and
the expected days to the verdict, in the listing (CLI, API and report read the same views)."""

from __future__ import annotations

import pytest

from learning_loop.domain import sequential
from learning_loop.domain.experiments import expected_days_to_verdict
from learning_loop.services.experiments import evaluate_experiments, list_experiments
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.report import report_data
from learning_loop.services.rewards import compute_rewards_for_date
from learning_loop.services.video_jobs import list_videos
from learning_loop_tests.services.test_planning import _run_experiment_round, arms_of


def test_running_experiments_show_their_arms_interval_and_days(db):
    # min_samples far away: after one round every experiment is still running.
    pid = create_project(db, "standing", ProjectSettings(min_samples=40, explore_rate=0.5)).id
    out, day = _run_experiment_round(db, pid, 16, seed=5)
    compute_rewards_for_date(db, day)
    evaluate_experiments(db, day)
    rewards = {v.id: v.reward for v in list_videos(db, pid)}
    running = list_experiments(db, pid, "running")
    assert running
    both_arms = 0
    for exp in running:
        now = exp.standing
        assert now is not None and exp.mde is None
        baseline, variant = arms_of(out.jobs, exp, rewards)
        assert (now.baseline_n, now.variant_n) == (len(baseline), len(variant))
        expected = sequential.standing(baseline, variant, 0.05)
        assert now.difference == pytest.approx(expected.difference)
        assert now.ci_low == pytest.approx(expected.ci_low)
        assert now.ci_high == pytest.approx(expected.ci_high)
        assert now.expected_days_to_decision is not None
        # Started moments ago: the projection is at most the deadline (28 days) away.
        assert 0.0 <= now.expected_days_to_decision <= 28.0
        both_arms += expected.ci_low is not None
    assert both_arms >= 1  # an interval was checked
    # A page reads the standing of its own experiments only, and the report shows them.
    page = list_experiments(db, pid, "running", limit=1, offset=0)
    assert [e.id for e in page] == [running[0].id]
    shown = {"expected_days_to_decision"}  # projected from the moment of the read
    assert page[0].standing is not None and running[0].standing is not None
    assert page[0].standing.model_dump(exclude=shown) == running[0].standing.model_dump(
        exclude=shown
    )
    assert len(report_data(db, pid).running) == len(running)


def test_expected_days_follow_the_traffic():
    # Each arm got 2 videos in 2 days; the variant needs 10, the baseline 20: 18 more days at 1 a
    # day...
    days = expected_days_to_verdict([0.4, 0.5], [0.45, 0.55], 2.0, 0.05, 10, 28)
    assert days == pytest.approx(18.0)
    # ...8 more when the baseline arm had 20 already...
    days = expected_days_to_verdict([0.4, 0.5] * 10, [0.45, 0.55], 2.0, 0.05, 10, 28)
    assert days == pytest.approx(8.0)
    # ...or 40, 38 more days: the deadline (28 days from the start) comes first.
    days = expected_days_to_verdict([0.4, 0.5], [0.45, 0.55], 2.0, 0.05, 40, 28)
    assert days == pytest.approx(26.0)


def test_learn_experiments_shows_where_running_ones_stand(cli, db):
    import json

    pid = create_project(db, "cli", ProjectSettings(min_samples=40, explore_rate=0.5)).id
    _, day = _run_experiment_round(db, pid, 16, seed=5)
    compute_rewards_for_date(db, day)
    rows = json.loads(cli("learn", "experiments", "--project", str(pid), "--json").out)
    assert rows and all(r["status"] == "running" for r in rows)
    for row in rows:
        assert row["standing"]["variant_n"] >= 0 and row["mde"] is None
    text = cli("learn", "experiments", "--project", str(pid))
    assert text.code == 0
    assert "days to verdict" in text.out and "MDE" in text.out
    shown = [r for r in rows if r["standing"]["ci_low"] is not None]
    assert shown and f"{shown[0]['standing']['ci_low']:.3f}" in text.out
