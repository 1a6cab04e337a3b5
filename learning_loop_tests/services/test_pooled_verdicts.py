"""Verdicts from all the evidence (contract §7): the daily evaluation judges each experiment with
the pooled, adjusted contrast of the project's stored evidence beside its arms, stores both, and
the listings show both. Checked against the domain rule recomputed from what the database
holds."""

from __future__ import annotations

import json

import pytest

from learning_loop.db.models import Project, RecipeModel
from learning_loop.domain.additive_model import EvidenceSummary, catalogue_hashes
from learning_loop.domain.experiments import WITH_POOLED, decide
from learning_loop.domain.pooled import pooled_tests
from learning_loop.services.experiments import evaluate_experiments, list_experiments
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.recipes import compute_recipe_stats
from learning_loop.services.rewards import compute_rewards_for_date
from learning_loop.services.video_jobs import list_videos
from learning_loop_tests.services.test_planning import _run_experiment_round, arms_of


def _expected_pooled(db, pid, experiments):
    """The domain's pooled tests of these experiments from the project's stored summary."""
    with db.read() as s:
        model = s.get(RecipeModel, pid)
        project = s.get(Project, pid)
        assert model is not None and project is not None
        summary = EvidenceSummary.from_bytes(project.presets, model.summary)
        alpha = project.alpha
    index = catalogue_hashes(summary.presets)
    pairs = [(index[e.baseline_recipe_hash], index[e.variant_recipe_hash]) for e in experiments]
    tests = pooled_tests(summary, pairs, alpha * WITH_POOLED.pooled_early)
    return {e.id: test for e, test in zip(experiments, tests, strict=True)}


def assert_is_the_verdict(stored, expected):
    """A completed experiment as listed holds the verdict the domain rule gives."""
    assert expected is not None
    assert (stored.winner, stored.reason, stored.decision_rule) == (
        expected.winner,
        expected.reason,
        expected.rule,
    )
    assert stored.p_value == pytest.approx(expected.p_value)
    assert stored.mde == pytest.approx(expected.mde)
    assert stored.pooled_difference == pytest.approx(expected.pooled_difference)
    assert stored.pooled_ci_low == pytest.approx(expected.pooled_ci_low)
    assert stored.pooled_p_value == pytest.approx(expected.pooled_p_value)


def test_running_experiments_show_the_pooled_contrast(db, cli):
    pid = create_project(db, "pooled", ProjectSettings(min_samples=40, explore_rate=0.5)).id
    _, day = _run_experiment_round(db, pid, 16, seed=5)
    compute_rewards_for_date(db, day)
    compute_recipe_stats(db, day, None, [pid])
    running = list_experiments(db, pid, "running")
    expected = _expected_pooled(db, pid, running)
    shown = 0
    for exp in running:
        test, _ = expected[exp.id]
        assert exp.standing is not None
        assert (exp.standing.pooled_difference is None) == (test is None)
        if test is not None:
            shown += 1
            assert exp.standing.pooled_difference == pytest.approx(test.estimate)
            assert exp.standing.pooled_p_value == pytest.approx(test.p_value)
    assert shown >= 1
    rows = json.loads(cli("learn", "experiments", "--project", str(pid), "--json").out)
    assert any(r["standing"]["pooled_difference"] is not None for r in rows)
    table = cli("learn", "experiments", "--project", str(pid)).out
    assert "pooled diff" in table and "decided by" in table


def test_verdicts_are_the_rule_on_the_arms_and_the_stored_evidence(db):
    pid = create_project(db, "ab", ProjectSettings(min_samples=3, explore_rate=0.5)).id
    out, day = _run_experiment_round(db, pid, 16, seed=5)
    compute_rewards_for_date(db, day)
    compute_recipe_stats(db, day, None, [pid])
    before = list_experiments(db, pid, "running")
    pooled = _expected_pooled(db, pid, before)
    result = evaluate_experiments(db, day)
    assert result.completed >= 1
    rewards = {v.id: v.reward for v in list_videos(db, pid)}
    completed = list_experiments(db, pid, "completed")
    assert len(completed) == result.completed
    judged_with_pooled = 0
    for exp in completed:
        baseline, variant = arms_of(out.jobs, exp, rewards)
        test, rejected = pooled[exp.id]
        expected = decide(baseline, variant, 0.05, 3, False, pooled=test, pooled_rejected=rejected)
        assert_is_the_verdict(exp, expected)
        judged_with_pooled += test is not None
    assert judged_with_pooled >= 1


def test_without_the_dates_evidence_the_arms_decide_alone(db):
    """Recipe stats not run for the date: no pooled contrast of that date, the arms' rule."""
    pid = create_project(db, "arms", ProjectSettings(min_samples=3, explore_rate=0.5)).id
    out, day = _run_experiment_round(db, pid, 16, seed=5)
    compute_rewards_for_date(db, day)
    evaluate_experiments(db, day)
    completed = list_experiments(db, pid, "completed")
    assert completed
    assert all(e.pooled_difference is None for e in completed)
    assert {e.decision_rule for e in completed} <= {"sequential", "fixed_look"}


def test_an_arm_that_lost_its_planned_videos_is_flagged_and_its_verdict_says_why(db):
    """Variant jobs planned and never published: the allocation check flags the experiment,
    the listing says its verdict waits, and at the deadline the verdict names the cause."""
    import datetime as dt

    from learning_loop.services import planning
    from learning_loop.services.ingest import ingest_metrics
    from learning_loop.services.video_jobs import publish_job
    from learning_loop_tests.factories import metric_row, numbered

    pid = create_project(db, "lost", ProjectSettings(min_samples=40, explore_rate=0.5)).id
    now = dt.datetime.now(dt.UTC)
    snaps = []
    for round_ in range(4):
        out = planning.plan_and_write(
            db, pid, 16, [f"r{round_}-{i}" for i in range(16)], seed=round_
        )
        for i, job in enumerate(out.jobs):
            if job.generation_mode != "exploit":
                continue  # the explore jobs are never published
            external = f"x{round_}-{i}"
            publish_job(db, pid, job.id, external, now + dt.timedelta(seconds=1))
            snaps.append(metric_row(external, now + dt.timedelta(seconds=30), views=1000 + i))
    ingest_metrics(db, pid, numbered(snaps))
    day = (now + dt.timedelta(minutes=1)).date()
    compute_rewards_for_date(db, day)
    running = list_experiments(db, pid, "running")
    flagged = [
        e
        for e in running
        if e.standing is not None
        and e.standing.allocation_p_value is not None
        and e.standing.allocation_p_value < 0.001
    ]
    assert flagged
    late = day + dt.timedelta(days=40)  # past every deadline
    evaluate_experiments(db, late)
    done = {e.id: e for e in list_experiments(db, pid, "completed")}
    for exp in flagged:
        verdict = done[exp.id]
        assert (verdict.winner, verdict.reason) == ("inconclusive", "sample_ratio_mismatch")
        assert verdict.allocation_p_value is not None and verdict.allocation_p_value < 0.001
