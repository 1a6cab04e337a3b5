"""Migration 0006 (issue #16): completed experiments keep their verdicts, marked as decided by
the former Welch rule with that test's minimum detectable effect; running ones are untouched."""

from __future__ import annotations

import datetime as dt

import pytest
from scipy import stats
from sqlalchemy import select, update

from learning_loop.db.engine import Database, make_engine, upgrade
from learning_loop.db.models import Experiment
from learning_loop.services.planning import plan_and_write
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop_tests.db.test_reward_history_migration import _downgrade, own_url

__all__ = ["own_url"]  # the fixture, imported for this module's tests


def test_completed_verdicts_are_kept_and_running_ones_continue(own_url):
    db = Database.from_url(own_url)
    pid = create_project(
        db, "verdicts", ProjectSettings(explore_rate=1.0, alpha=0.1, min_samples=2)
    ).id
    plan_and_write(db, pid, 6, list("abcdef"), seed=4)
    with db.transaction() as session:
        ids = list(session.scalars(select(Experiment.id).order_by(Experiment.id)))
        assert len(ids) >= 2
        done, running = ids[0], ids[1]
        session.execute(
            update(Experiment)
            .where(Experiment.id == done)
            .values(
                status="completed",
                completed_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                winner="variant",
                reason="significant",
                baseline_n=8,
                variant_n=8,
                difference=0.2,
                ci_low=0.05,
                ci_high=0.35,
                p_value=0.01,
            )
        )
    db.dispose()

    _downgrade(own_url, "0005")
    engine = make_engine(own_url)
    upgrade(engine)
    engine.dispose()

    db = Database.from_url(own_url)
    try:
        with db.read() as session:
            rows = {e.id: e for e in session.scalars(select(Experiment))}
        kept = rows[done]
        assert (kept.status, kept.winner, kept.p_value, kept.ci_low) == (
            "completed",
            "variant",
            0.01,
            0.05,
        )
        assert kept.decision_rule == "welch"
        se = (0.35 - 0.05) / 2 / stats.norm.ppf(0.975)
        assert kept.mde == pytest.approx(se * (stats.norm.ppf(1 - 0.1 / 2) + stats.norm.ppf(0.8)))
        assert rows[running].status == "running"
        assert rows[running].decision_rule is None and rows[running].mde is None
    finally:
        db.dispose()
