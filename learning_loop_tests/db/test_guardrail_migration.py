"""Migration 0016 (issue #26, point 4): the project setting `guardrail` and each verdict's
guardrail, down and up again on a database holding projects, jobs and verdicts."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect, select

from learning_loop.db.engine import Database, make_engine
from learning_loop.db.models import Experiment, Project, VideoJob
from learning_loop.domain.statuses import Guardrail
from learning_loop.services.experiments import evaluate_experiments
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop_tests.db.test_reward_history_migration import _downgrade, own_url, upgraded
from learning_loop_tests.services.test_guardrail import better_on_reward_worse_on_engagement

__all__ = ["own_url"]  # the fixture, imported for this module's tests


def _columns(url: str, table: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def _counts(db: Database) -> tuple[int, int, int]:
    with db.read() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(sa.func.count()).select_from(m))
            for m in (Project, VideoJob, Experiment)
        )


def test_down_and_up_keep_every_row_and_the_default_is_engagement(own_url):
    db = Database.from_url(own_url)
    settings = ProjectSettings(min_samples=3, explore_rate=0.5, guardrail=Guardrail.VIEWS_6H)
    pid = create_project(db, "guarded", settings).id
    day = better_on_reward_worse_on_engagement(db, pid)
    evaluate_experiments(db, day + dt.timedelta(days=40))
    with db.read() as s:
        judged = s.scalars(select(Experiment.guardrail)).all()
    assert judged and set(judged) == {"views_6h"}
    counts = _counts(db)
    db.dispose()

    _downgrade(own_url, "0015")
    assert "guardrail" not in _columns(own_url, "projects")
    assert not {"guardrail", "guardrail_p_value"} & _columns(own_url, "experiments")
    db = upgraded(own_url)
    try:
        assert _counts(db) == counts  # nothing cascaded
        with db.read() as s:
            assert s.scalars(select(Project.guardrail)).all() == [Guardrail.ENGAGEMENT]
            assert set(s.scalars(select(Experiment.guardrail)).all()) == {None}
            assert set(s.scalars(select(Experiment.guardrail_p_value)).all()) == {None}
        with pytest.raises(sa.exc.IntegrityError), db.transaction() as s:
            s.execute(sa.text("UPDATE projects SET guardrail = 'reach'"))
    finally:
        db.dispose()
