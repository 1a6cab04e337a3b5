"""Migration 0017 (issue #26, point 1): whether a verdict's pooled contrast was adjusted for the
publication time, down and up again on a database holding verdicts."""

from __future__ import annotations

from sqlalchemy import select

from learning_loop.db.engine import Database
from learning_loop.db.models import Experiment
from learning_loop_tests.db.test_guardrail_migration import _columns, _counts
from learning_loop_tests.db.test_reward_history_migration import _downgrade, own_url, upgraded
from learning_loop_tests.services.test_adjusted_verdicts import judged_spread_channel

__all__ = ["own_url"]  # the fixture, imported for this module's tests


def _verdicts(db: Database) -> list[tuple[object, ...]]:
    with db.read() as s:
        return [
            tuple(row)
            for row in s.execute(
                select(
                    Experiment.id,
                    Experiment.winner,
                    Experiment.decision_rule,
                    Experiment.pooled_difference,
                ).order_by(Experiment.id)
            )
        ]


def test_down_and_up_keep_every_verdict_and_forget_only_the_flag(own_url):
    db = Database.from_url(own_url)
    judged_spread_channel(db)
    with db.read() as s:
        flags = set(s.scalars(select(Experiment.pooled_time_adjusted)).all())
    assert True in flags  # some final look was adjusted
    counts, verdicts = _counts(db), _verdicts(db)
    db.dispose()

    _downgrade(own_url, "0016")
    assert "pooled_time_adjusted" not in _columns(own_url, "experiments")
    db = upgraded(own_url)
    try:
        assert _counts(db) == counts
        assert _verdicts(db) == verdicts
        with db.read() as s:
            assert set(s.scalars(select(Experiment.pooled_time_adjusted)).all()) == {None}
    finally:
        db.dispose()
