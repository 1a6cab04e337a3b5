"""The database's reward computation equals the pure domain function, bit for bit."""

import datetime as dt
import random

import pandas as pd
from sqlalchemy import select, update

from learning_loop.db.models import Project, VideoJob, VideoReward
from learning_loop.domain.rewards import RewardWeights, compute_rewards
from learning_loop.services.ingest import import_videos, ingest_metrics
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.rewards import compute_rewards_for_date
from learning_loop_tests.factories import numbered, video_row

DAY = dt.date(2026, 10, 20)


def test_sql_rewards_equal_the_domain_function(db):
    rng = random.Random(5)
    expected_frames = []
    weights = {}
    for p in range(3):
        window = (30, 30, 10)[p]
        pid = create_project(db, f"p{p}", ProjectSettings(window_days=window)).id
        if p == 1:
            with db.transaction() as s:
                s.execute(
                    update(Project)
                    .where(Project.id == pid)
                    .values(
                        weight_avg_view_duration=0.1, weight_views_6h=0.7, weight_engagement=0.2
                    )
                )
        weights[pid] = RewardWeights(0.1, 0.7, 0.2) if p == 1 else RewardWeights()
        videos, snaps, finals = [], [], []
        for i in range(150):
            published = dt.datetime(2026, 10, 1, tzinfo=dt.UTC) + dt.timedelta(hours=3 * i)
            videos.append(video_row(i, external_id=f"p{p}v{i}", published_at=published.isoformat()))
            # Many ties on purpose: small integer ranges, repeated durations, zero views.
            views = rng.choice([0, 10, 10, 100, 1000, rng.randint(0, 5000)])
            v6 = min(views, rng.choice([0, 5, 10, 50]))
            row = {
                "external_id": f"p{p}v{i}",
                "views": views,
                "views_6h": v6,
                "avg_view_duration_s": rng.choice([5.0, 12.5, 12.5, 20.0, rng.random() * 40]),
                "likes": rng.randint(0, 30),
                "comments": rng.randint(0, 5),
            }
            early = {**row, "views": views // 2, "views_6h": v6 // 2, "likes": row["likes"] // 2}
            start = dt.datetime.combine(
                DAY - dt.timedelta(days=window - 1), dt.time(), tzinfo=dt.UTC
            )
            end = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            latest = None
            for hours, values in ((1, early), (30, row)):
                captured = published + dt.timedelta(hours=hours)
                snaps.append({**values, "captured_at": captured.isoformat()})
                if captured < end:
                    latest = values
            if start <= published < end and latest is not None:
                finals.append({"project_id": pid, "video_id": f"p{p}v{i}", **latest})
        import_videos(db, pid, numbered(videos))
        ingest_metrics(db, pid, numbered(snaps))
        expected_frames.append(pd.DataFrame(finals))
    compute_rewards_for_date(db, DAY)
    expected = compute_rewards(
        pd.concat(expected_frames, ignore_index=True).drop(columns=["external_id"]), weights
    )
    with db.read() as s:
        stored = s.execute(
            select(
                VideoJob.external_id,
                VideoReward.engagement,
                VideoReward.pct_avg_view_duration,
                VideoReward.pct_views_6h,
                VideoReward.pct_engagement,
                VideoReward.reward,
            )
            .join(VideoJob, VideoJob.id == VideoReward.video_id)
            .where(VideoReward.reward_date == DAY)
        ).all()
    got = {r[0]: tuple(r[1:]) for r in stored}
    want = {
        row.video_id: (
            row.engagement,
            row.pct_avg_view_duration,
            row.pct_views_6h,
            row.pct_engagement,
            row.reward,
        )
        for row in expected.itertuples()
    }
    assert len(got) == len(want) > 300
    assert got == want  # exact float equality, not approx
