"""The collector's passes, service level, against the local stand-in for Google: marks,
views at 6 hours, analytics that lag, quota, faults and secrets (contract §12)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from learning_loop.db.engine import Database
from learning_loop.db.models import CollectedVideo, MetricSnapshot, PlatformConnection
from learning_loop.domain import marks
from learning_loop.errors import InvalidInput, NotFound
from learning_loop.services import collector
from learning_loop.services.ingest import import_videos
from learning_loop.settings import Settings
from learning_loop_tests.factories import numbered, project, video_row
from learning_loop_tests.fake_google import FakeGoogle, FakeVideo, serve_fake_google

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with serve_fake_google() as fake:
        yield fake


@pytest.fixture
def settings(google: FakeGoogle, tmp_path: Path) -> Settings:
    return Settings(
        LEARNING_LOOP_HOME=tmp_path,
        LEARNING_LOOP_DATABASE_URL="postgresql://unused/unused",
        LEARNING_LOOP_SECRET_KEY=Fernet.generate_key().decode(),
        LEARNING_LOOP_YOUTUBE_DATA_URL=google.data_url,
        LEARNING_LOOP_YOUTUBE_ANALYTICS_URL=google.analytics_url,
        LEARNING_LOOP_GOOGLE_TOKEN_URL=google.token_url,
        LEARNING_LOOP_COLLECTOR_BACKOFF_S=0,
        LEARNING_LOOP_COLLECTOR_TIMEOUT_S=10,
    )


def _published(db: Database, pid: uuid.UUID, ages: list[dt.timedelta]) -> list[str]:
    rows = [
        video_row(i, external_id=f"yt{i}", published_at=(NOW - age).isoformat())
        for i, age in enumerate(ages)
    ]
    import_videos(db, pid, numbered(rows))
    return [r["external_id"] for r in rows]


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def _snapshots(db: Database, pid: uuid.UUID) -> list[MetricSnapshot]:
    with db.read() as session:
        return list(
            session.scalars(
                select(MetricSnapshot)
                .where(MetricSnapshot.project_id == pid)
                .order_by(MetricSnapshot.captured_at)
            )
        )


def test_a_pass_polls_due_videos_and_writes_snapshots_once(
    db: Database, settings: Settings, google: FakeGoogle
) -> None:
    pid = project(db)
    ids = _published(db, pid, [dt.timedelta(hours=6, minutes=5), dt.timedelta(minutes=30)])
    google.videos = {
        ids[0]: FakeVideo(views=900, likes=30, comments=3),
        ids[1]: FakeVideo(views=10),
    }
    view = collector.connect_youtube(db, settings, pid, google.credential())
    assert view.channel_id == google.channel_id
    clock = Clock(NOW)
    first = collector.collect_metrics(db, settings, clock=clock)
    assert (first.videos_due, first.videos_polled, first.snapshots_written) == (1, 1, 1)
    assert first.quota_units == 1
    # The 1 h and 6 h marks came by now: the 1 h one more than the tolerance ago (missed).
    assert first.marks_missed == 1
    snap = _snapshots(db, pid)[0]
    assert (snap.views, snap.views_6h, snap.views_6h_basis) == (900, 900, "observed")
    assert snap.avg_view_duration_s is None  # analytics have no row yet: waiting
    assert snap.source == "collector"
    again = collector.collect_metrics(db, settings, clock=clock)
    assert (again.videos_polled, again.snapshots_written) == (0, 0)
    # The young video's 1 h mark comes; analytics now know the older one.
    google.videos[ids[0]].average_view_duration = 31
    clock.at = NOW + dt.timedelta(minutes=35)
    later = collector.collect_metrics(db, settings, clock=clock)
    assert later.videos_polled == 1
    young = [s for s in _snapshots(db, pid) if s.views == 10]
    assert young and young[0].views_6h is None and young[0].views_6h_basis is None


def test_a_missed_six_hour_mark_is_interpolated_and_says_so(
    db: Database, settings: Settings, google: FakeGoogle
) -> None:
    pid = project(db)
    (vid,) = _published(db, pid, [dt.timedelta(minutes=70)])
    google.videos = {vid: FakeVideo(views=100, average_view_duration=20)}
    collector.connect_youtube(db, settings, pid, google.credential())
    clock = Clock(NOW)
    collector.collect_metrics(db, settings, clock=clock)  # the 1 h poll: 100 views at 1h10
    google.videos[vid].views = 1100
    clock.at = NOW - dt.timedelta(minutes=70) + dt.timedelta(hours=11, minutes=10)
    out = collector.collect_metrics(db, settings, clock=clock)  # the collector was down at 6 h
    assert out.marks_missed == 1
    last = _snapshots(db, pid)[-1]
    # Linear from (1h10, 100) to (11h10, 1100), read at 6h: 100 + 1000 * 290/600.
    assert last.views_6h == round(100 + 1000 * 290 / 600)
    assert last.views_6h_basis == "interpolated"
    assert last.avg_view_duration_s == 20


def test_connecting_checks_the_credential_and_keeps_it_secret(
    db: Database, settings: Settings, google: FakeGoogle
) -> None:
    pid = project(db)
    google.revoked = True
    with pytest.raises(InvalidInput, match="invalid_grant"):
        collector.connect_youtube(db, settings, pid, google.credential())
    assert collector.show_connection(db, pid) is None
    google.revoked = False
    collector.connect_youtube(db, settings, pid, google.credential(), api_key="key-123")
    with db.read() as session:
        stored = session.scalars(select(PlatformConnection)).one().credential
    for secret in (google.client_secret, google.refresh_token, "key-123"):
        assert secret.encode() not in stored
    with pytest.raises(InvalidInput, match="type"):
        collector.connect_youtube(db, settings, pid, {"client_id": "x"})
    collector.disconnect_youtube(db, pid)
    with pytest.raises(NotFound, match="not connected"):
        collector.disconnect_youtube(db, pid)


def test_a_revoked_credential_breaks_the_connection_and_writes_nothing(
    db: Database, settings: Settings, google: FakeGoogle
) -> None:
    pid = project(db)
    _published(db, pid, [dt.timedelta(hours=2)] * 3)
    collector.connect_youtube(db, settings, pid, google.credential())
    google.revoked = True
    google.expire_tokens()
    out = collector.collect_metrics(db, settings, clock=Clock(NOW))
    assert out.broken == [pid] and out.snapshots_written == 0
    view = collector.show_connection(db, pid)
    assert view is not None and view.status == "broken" and "invalid_grant" in (view.problem or "")
    with db.read() as session:
        due = session.scalars(select(CollectedVideo.due_at)).all()
    assert all(d is not None and d <= NOW for d in due)  # still due, as before the pass
    with pytest.raises(InvalidInput, match="broken"):
        collector.check_collectable(db, pid)


def test_quota_and_server_faults_lose_nothing(
    db: Database, settings: Settings, google: FakeGoogle
) -> None:
    pid = project(db)
    ids = _published(db, pid, [dt.timedelta(hours=2)] * 120)
    google.videos = {v: FakeVideo(views=5) for v in ids}
    collector.connect_youtube(db, settings, pid, google.credential())
    google.faults["videos"] = [("quota",)]
    first = collector.collect_metrics(db, settings, clock=Clock(NOW))
    assert first.videos_polled == 0 and any("quota" in e for e in first.errors)
    # The platform said the quota is spent: the day's ledger is closed.
    assert collector.quota_used(db, collector.quota_day(NOW)) >= settings.youtube_daily_quota
    tomorrow = NOW + dt.timedelta(days=1)
    google.faults["videos"] = [("status", 503)] * settings.collector_max_attempts
    second = collector.collect_metrics(db, settings, clock=Clock(tomorrow))
    assert second.videos_polled == 0 and any("503" in e for e in second.errors)
    third = collector.collect_metrics(db, settings, clock=Clock(tomorrow))
    assert third.videos_polled == 120 and third.quota_units == 3  # ceil(120 / 50)
    assert max(len(c.query["id"].split(",")) for c in google.calls("videos")) == 50


def test_the_budget_is_shared_fairly(db: Database, settings: Settings, google: FakeGoogle) -> None:
    small = project(db, "small")
    big = project(db, "big")
    for pid, n, base in ((small, 60, 0), (big, 400, 1000)):
        rows = [
            video_row(
                base + i,
                external_id=f"p{base + i}",
                published_at=(NOW - dt.timedelta(hours=2)).isoformat(),
            )
            for i in range(n)
        ]
        import_videos(db, pid, numbered(rows))
        google.videos.update({r["external_id"]: FakeVideo(views=1) for r in rows})
        collector.connect_youtube(db, settings, pid, google.credential())
    tight = settings.model_copy(update={"youtube_daily_quota": 5})
    out = collector.collect_metrics(db, tight, clock=Clock(NOW))
    assert out.quota_units == 5
    per_project = {pid: len(_snapshots(db, pid)) for pid in (small, big)}
    assert per_project[small] == 60  # needed 2 calls, got them
    assert per_project[big] == 150  # the other 3
    assert out.videos_deferred == 250


def test_a_video_the_platform_no_longer_returns_stops_being_polled(
    db: Database, settings: Settings, google: FakeGoogle
) -> None:
    pid = project(db)
    (vid,) = _published(db, pid, [dt.timedelta(hours=2)])
    google.videos = {vid: FakeVideo(views=1, available=False)}
    collector.connect_youtube(db, settings, pid, google.credential())
    out = collector.collect_metrics(db, settings, clock=Clock(NOW))
    assert out.videos_gone == 1 and out.snapshots_written == 0
    with db.read() as session:
        row = session.scalars(select(CollectedVideo)).one()
    assert row.state == "gone" and "deleted or private" in (row.problem or "")


def test_the_marks_rule() -> None:
    pub = NOW
    at = pub + dt.timedelta(hours=6, minutes=10)
    p = marks.poll(pub, 1, at, 500, (pub + dt.timedelta(hours=1), 50), None, None)
    assert (p.views_6h, p.views_6h_basis, p.next_mark, p.marks_missed) == (500, "observed", 2, 0)
    too_late = pub + dt.timedelta(hours=30)
    q = marks.poll(pub, 1, too_late, 500, None, None, None)
    assert q.views_6h is None and q.marks_missed == 2  # 6 h and 24 h marks, both late
    assert marks.fair_shares({"a": 2, "b": 8}, 5) == {"a": 2, "b": 3}
    assert marks.fair_shares({"a": 4, "b": 4, "c": 4}, 4) == {"a": 2, "b": 1, "c": 1}


def test_an_expired_access_token_is_made_again_once(
    db: Database, settings: Settings, google: FakeGoogle
) -> None:
    pid = project(db)
    ids = _published(db, pid, [dt.timedelta(hours=2)] * 2)
    google.videos = {v: FakeVideo(views=3) for v in ids}
    collector.connect_youtube(db, settings, pid, google.credential())
    google.faults["videos"] = [("unauthorized",)]  # the token expired between two calls
    tokens_before = len(google.calls("token"))
    out = collector.collect_metrics(db, settings, clock=Clock(NOW))
    assert out.videos_polled == 2 and out.errors == [] and out.broken == []
    assert len(google.calls("token")) - tokens_before == 2  # the first token, then one more


def test_a_platform_that_does_not_answer_in_time_loses_nothing(
    db: Database, settings: Settings, google: FakeGoogle
) -> None:
    pid = project(db)
    ids = _published(db, pid, [dt.timedelta(hours=2)] * 3)
    google.videos = {v: FakeVideo(views=3) for v in ids}
    collector.connect_youtube(db, settings, pid, google.credential())
    slow = settings.model_copy(update={"collector_timeout_s": 0.3, "collector_max_attempts": 2})
    google.faults["videos"] = [("hang", 1.0)] * 2
    out = collector.collect_metrics(db, slow, clock=Clock(NOW))
    assert out.videos_polled == 0 and any("did not answer within 0.3 s" in e for e in out.errors)
    assert _snapshots(db, pid) == []
    again = collector.collect_metrics(db, settings, clock=Clock(NOW))  # a normal time limit
    assert again.videos_polled == 3 and again.snapshots_written == 3


def test_the_reward_reads_complete_snapshots_only(
    db: Database, settings: Settings, google: FakeGoogle
) -> None:
    from learning_loop.services.stats import update_stats

    pid = project(db)
    ready, waiting = _published(db, pid, [dt.timedelta(hours=6, minutes=5)] * 2)
    google.videos = {
        ready: FakeVideo(views=500, likes=20, comments=2, average_view_duration=25),
        waiting: FakeVideo(views=300, likes=5, comments=1),
    }
    collector.connect_youtube(db, settings, pid, google.credential())
    collector.collect_metrics(db, settings, clock=Clock(NOW))
    # The waiting video has views at 6 h but no duration yet: it is not in the window.
    assert update_stats(db, pid, NOW.date()).rewards.videos_rewarded == 1
    google.videos[waiting].average_view_duration = 18
    later = NOW + dt.timedelta(hours=18)  # the 24 h mark
    collector.collect_metrics(db, settings, clock=Clock(later))
    assert update_stats(db, pid, later.date()).rewards.videos_rewarded == 2
