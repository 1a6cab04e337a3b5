"""Migration 0012 (issue #27): snapshots stored before it keep every value and become `file`
snapshots with a `reported` views_6h; a downgrade drops only what the old schema cannot hold
(incomplete snapshots) and the collector's tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import inspect, select

from learning_loop.db.engine import Database, make_engine, upgrade
from learning_loop.db.models import MetricSnapshot
from learning_loop_tests.db.test_reward_history_migration import _downgrade, own_url
from learning_loop_tests.factories import T0, channel, metric_row, video_row

__all__ = ["own_url"]  # the fixture, imported for this module's tests


def test_stored_snapshots_are_kept_as_reported_file_snapshots(own_url):
    db = Database.from_url(own_url)
    videos = [video_row(i) for i in range(3)]
    metrics = [metric_row(f"v{i}", T0 + dt.timedelta(days=i, hours=7)) for i in range(3)]
    pid = channel(db, videos, metrics)
    with db.read() as session:
        before = session.execute(
            select(MetricSnapshot.video_id, MetricSnapshot.views, MetricSnapshot.views_6h)
        ).all()
    db.dispose()

    _downgrade(own_url, "0011")
    engine = make_engine(own_url)
    assert "platform_connections" not in inspect(engine).get_table_names()
    upgrade(engine)
    engine.dispose()

    db = Database.from_url(own_url)
    try:
        with db.read() as session:
            rows = session.scalars(
                select(MetricSnapshot).where(MetricSnapshot.project_id == pid)
            ).all()
        assert sorted((r.video_id, r.views, r.views_6h) for r in rows) == sorted(before)
        assert {(r.source, r.views_6h_basis) for r in rows} == {("file", "reported")}
    finally:
        db.dispose()
