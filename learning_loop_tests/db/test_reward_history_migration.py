"""Migration 0004 on a database holding several dates of history: nothing current changes."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, text

from learning_loop.db.engine import Database, make_engine, upgrade
from learning_loop.db.models import (
    Experiment,
    RewardDate,
    SettledReward,
    VideoJob,
    VideoReward,
)
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.services.estimates import WRITTEN_COLUMNS
from learning_loop.services.experiments import evaluate_experiments
from learning_loop.services.planning import plan_and_write
from learning_loop.services.recipes import compute_recipe_stats
from learning_loop.services.rewards import compute_rewards_for_date
from learning_loop.services.video_jobs import publish_job
from learning_loop_tests.conftest import BACKENDS
from learning_loop_tests.services.test_reward_history import DATES, _channel, _current, _shown


@pytest.fixture(params=BACKENDS)
def own_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of this test's own (it is downgraded and upgraded)."""
    if request.param == "sqlite":
        path = tmp_path / "migrated.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return str(request.getfixturevalue("fresh_pg_url"))


def _downgrade(url: str, revision: str) -> None:
    from alembic import command

    from learning_loop.db.engine import alembic_config

    engine = make_engine(url)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    engine.dispose()


def upgraded(url: str) -> Database:
    """The database at `url` upgraded to the head revision, opened."""
    from learning_loop.db.engine import current_revision, head_revision

    engine = make_engine(url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    return Database.from_url(url)


def _table(db: Database, model: type) -> list[tuple[object, ...]]:
    with db.read() as session:
        table = model.__table__  # type: ignore[attr-defined]
        rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
        return [tuple(r) for r in rows]


# The columns 0010 added to the recipes, which its downgrade drops.
ESTIMATE_COLUMNS = set(WRITTEN_COLUMNS)


def _close(a: object, b: object) -> bool:
    """Equal structures, floats equal to 1e-9 (relative)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "model_dump") and hasattr(b, "model_dump"):
        return _close(a.model_dump(), b.model_dump())
    return a == b


def _without(state: tuple, history: set) -> tuple:
    """A state with the history's own-window rewards and the recipes' estimates left out."""
    current, (videos, recipes, stats), recipe_rows, experiments = state
    names = [c.name for c in RecipeRow.__table__.columns]
    keep = [i for i, name in enumerate(names) if name not in ESTIMATE_COLUMNS]
    return (
        {k: v for k, v in current.items() if k not in history},
        (
            [v for v in videos if v[0] not in history],
            sorted(
                ({k: v for k, v in r.items() if k not in ESTIMATE_COLUMNS} for r in recipes),
                key=lambda r: r["recipe_hash"],
            ),
            {
                k: v
                for k, v in stats.items()
                if k not in ("best_recipe", "rewarded_videos", "estimated_recipes")
            },
        ),
        [tuple(row[i] for i in keep) for row in recipe_rows],
        experiments,
    )


def test_upgrading_a_database_with_history_keeps_rewards_stats_and_verdicts(own_url):
    db = Database.from_url(own_url)
    pid = _channel(db)
    # A running experiment whose arms hold published videos, judged along the way.
    batch = plan_and_write(db, pid, 4, [f"topic {k}" for k in range(4)], seed=3)
    for k, job in enumerate(batch.jobs):
        publish_job(db, pid, job.id, f"planned-{k}", dt.datetime(2026, 10, 4, 12, tzinfo=dt.UTC))
    for day in DATES:  # every date's rows kept, as the previous layout kept them
        compute_rewards_for_date(db, day, history_days=3650)
        compute_recipe_stats(db, day, None)
        evaluate_experiments(db, day)
    before = (_current(db), _shown(db, pid), _table(db, RecipeRow), _table(db, Experiment))
    assert any(e[-1] is not None for e in before[3]) or before[3]
    # Every date is kept, so any settled row is a history's own-window reward (0010's rule),
    # and the recipes carry estimates (0010's columns): the layout of 0003 has neither, and the
    # next daily run makes them again.
    with db.read() as session:
        from_history = set(session.scalars(select(SettledReward.video_id)))
    db.dispose()

    _downgrade(own_url, "0003")  # the previous layout, holding 16 dates of history
    engine = make_engine(own_url)
    with engine.connect() as conn:
        dates = conn.execute(text("SELECT count(DISTINCT reward_date) FROM video_rewards"))
        assert dates.scalar() == len(DATES)
    upgrade(engine)
    engine.dispose()

    db = Database.from_url(own_url)
    try:
        held = DATES[-7:]  # the newest 7 days
        with db.read() as session:
            assert list(session.scalars(select(RewardDate.reward_date))) == held
            daily = session.execute(
                select(VideoReward.reward_date, VideoReward.recipe_id, VideoJob.recipe_id).join(
                    VideoJob, VideoJob.id == VideoReward.video_id
                )
            ).all()
        assert {d for d, _, _ in daily} == set(held)
        assert all(mine == theirs for _, mine, theirs in daily)  # recipe_id filled in
        after = (_current(db), _shown(db, pid), _table(db, RecipeRow), _table(db, Experiment))
        assert _without(after, from_history) == _without(before, from_history)
        # The last date again, as its nightly run would: the history's rewards and the
        # estimates are back, and everything else is as it was.
        compute_rewards_for_date(db, DATES[-1], history_days=3650)
        compute_recipe_stats(db, DATES[-1], None)
        again = (_current(db), _shown(db, pid), _table(db, RecipeRow), _table(db, Experiment))
        # Equal, up to the rounding of sums carried from day to day against sums read whole.
        assert _close(again, before)
        # The next date runs on the new layout and retires what it should.
        nxt = DATES[-1] + dt.timedelta(days=1)
        result = compute_rewards_for_date(db, nxt, history_days=7)
        assert result.retired_dates == [DATES[-7]]
    finally:
        db.dispose()
