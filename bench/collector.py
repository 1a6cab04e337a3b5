"""The metrics collector against the local stand-in for Google (learning_loop_tests.fake_google).

    python -m bench.collector            # 10,000 videos, 100 ms answers; SQLite and PostgreSQL
    python -m bench.collector --quick    # 1,000 videos, 10 ms answers, SQLite (CI)

Two figures, both from the product's own `collect_metrics` (what the `collected_metrics` asset
runs), with the pass's clock set by the benchmark:

1. **One pass over N connected videos due at a mark** (10 projects, N/10 each, published
   6 h 5 min before the pass, their 1 h mark already polled): the quota units it used against
   the floor ceil(N / 50) Data API calls, the Analytics calls beside them, the wall time with
   every answer held `--latency-ms`, and the process's peak memory (resident, and the
   allocations tracemalloc saw during the pass).
2. **Mark accuracy.** Videos published at random times over a day, a pass every 15 minutes
   for two days: how far after its mark each 6-hour poll was taken, at the median and the
   worst, and how many 6-hour values were observed, interpolated or left unknown. Run again
   with the passes stopped for 2 hours, to show the missed marks and the interpolation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import shutil
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import select

from bench.common import peak_rss_mb, record
from bench.deployment import drop_database, fresh_database
from learning_loop.db.engine import Database, make_engine, upgrade
from learning_loop.db.models import MetricSnapshot, VideoJob
from learning_loop.domain import marks
from learning_loop.services import collector
from learning_loop.services.ingest import import_videos
from learning_loop.services.projects import create_project
from learning_loop.settings import Settings
from learning_loop_tests.fake_google import FakeGoogle, FakeVideo, serve_fake_google

PROJECTS = 10
T0 = dt.datetime(2026, 11, 2, 0, 0, tzinfo=dt.UTC)
PASS_EVERY = dt.timedelta(minutes=15)


def _settings(google: FakeGoogle, url: str, home: Path) -> Settings:
    return Settings(
        LEARNING_LOOP_HOME=home,
        LEARNING_LOOP_DATABASE_URL=url,
        LEARNING_LOOP_SECRET_KEY=Fernet.generate_key().decode(),
        LEARNING_LOOP_YOUTUBE_DATA_URL=google.data_url,
        LEARNING_LOOP_YOUTUBE_ANALYTICS_URL=google.analytics_url,
        LEARNING_LOOP_GOOGLE_TOKEN_URL=google.token_url,
        LEARNING_LOOP_YOUTUBE_DAILY_QUOTA=1_000_000,
    )


def _video(i: int, published: dt.datetime) -> dict:
    return {
        "external_id": f"yt{i:07d}",
        "topic": f"topic {i}",
        "published_at": published.isoformat(),
        "preset": "DARK_DYSTOPIAN_ANIME",
        "hook_type": "question",
        "scene_count": 7,
        "narration_wpm": 140,
        "caption_density": 0.45,
        "ending_type": "cliffhanger",
    }


def _channels(
    db: Database, google: FakeGoogle, settings: Settings, published: list[dt.datetime]
) -> list[str]:
    """PROJECTS connected projects sharing the videos; returns every external id."""
    ids: list[str] = []
    per = math.ceil(len(published) / PROJECTS)
    for p in range(PROJECTS):
        pid = create_project(db, f"bench {p}").id
        rows = [_video(i, published[i]) for i in range(p * per, min(len(published), (p + 1) * per))]
        import_videos(db, pid, list(enumerate(rows, start=1)))
        collector.connect_youtube(db, settings, pid, google.credential())
        ids.extend(r["external_id"] for r in rows)
    for n, vid in enumerate(ids):
        google.videos[vid] = FakeVideo(views=100 + n, likes=5, comments=1, average_view_duration=30)
    return ids


def one_pass(kind: str, workdir: Path, videos: int, latency_s: float) -> dict:
    url = fresh_database(kind, workdir, "ll_bench_collector_pass")
    db = Database(make_engine(url))
    upgrade(db.engine)
    try:
        with serve_fake_google() as google:
            settings = _settings(google, url, workdir / "home")
            published = T0
            _channels(db, google, settings, [published] * videos)
            # The 1 h mark, polled at once (not timed): the 6 h mark is then each video's next.
            collector.collect_metrics(
                db, settings, clock=lambda: published + dt.timedelta(hours=1, minutes=5)
            )
            google.delay_s = latency_s
            calls_before = len(google.requests)
            tracemalloc.start()
            start = time.perf_counter()
            result = collector.collect_metrics(
                db, settings, clock=lambda: published + dt.timedelta(hours=6, minutes=5)
            )
            seconds = time.perf_counter() - start
            _, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert result.videos_polled == videos, result
            return {
                "seconds": seconds,
                "units": result.quota_units,
                "floor": math.ceil(videos / 50),
                "analytics": result.analytics_calls,
                "requests": len(google.requests) - calls_before,
                "written": result.snapshots_written,
                "traced_mb": traced_peak / 2**20,
                "rss_mb": peak_rss_mb(),
                "in_flight": google.max_in_flight,
            }
    finally:
        db.dispose()
        drop_database(kind, url)


def accuracy(kind: str, workdir: Path, videos: int, outage: tuple[float, float] | None) -> dict:
    """Passes every 15 minutes over two days; `outage` (hours from the start) skips passes."""
    url = fresh_database(kind, workdir, f"ll_bench_collector_marks_{0 if outage is None else 1}")
    db = Database(make_engine(url))
    upgrade(db.engine)
    try:
        with serve_fake_google() as google:
            settings = _settings(google, url, workdir / "home")
            rng = random.Random(7)
            published = sorted(
                T0 + dt.timedelta(seconds=rng.uniform(0, 86_400)) for _ in range(videos)
            )
            _channels(db, google, settings, published)
            moment = T0
            while moment <= T0 + dt.timedelta(days=2):
                hours = (moment - T0) / dt.timedelta(hours=1)
                if outage is None or not outage[0] <= hours < outage[1]:
                    for v in google.videos.values():
                        v.views += 7
                    collector.collect_metrics(db, settings, clock=lambda m=moment: m)
                moment += PASS_EVERY
            with db.read() as session:
                rows = session.execute(
                    select(
                        VideoJob.published_at,
                        MetricSnapshot.captured_at,
                        MetricSnapshot.views_6h_basis,
                    )
                    .join(VideoJob, VideoJob.id == MetricSnapshot.video_id)
                    .order_by(MetricSnapshot.captured_at)
                ).all()
        first_6h: dict[dt.datetime, tuple[dt.datetime, str | None]] = {}
        for pub, captured, basis in rows:
            six = marks.mark_time(pub, marks.SIX_HOURS)
            if captured >= six and (pub, six) not in first_6h:
                first_6h[(pub, six)] = (captured, basis)
        late_min = [
            (captured - six).total_seconds() / 60 for (_, six), (captured, _) in first_6h.items()
        ]
        bases = [basis for captured, basis in first_6h.values()]
        return {
            "median_min": statistics.median(late_min),
            "worst_min": max(late_min),
            "observed": bases.count("observed"),
            "interpolated": bases.count("interpolated"),
            "unknown": bases.count(None),
            "videos": videos,
        }
    finally:
        db.dispose()
        drop_database(kind, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--videos", type=int, default=None)
    parser.add_argument("--latency-ms", type=float, default=None)
    parser.add_argument("--databases", default=None, help="sqlite,postgresql")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    videos = args.videos or (1_000 if args.quick else 10_000)
    latency = (
        args.latency_ms if args.latency_ms is not None else (10 if args.quick else 100)
    ) / 1e3
    kinds = (args.databases or ("sqlite" if args.quick else "sqlite,postgresql")).split(",")
    marks_videos = 100 if args.quick else 300
    workdir = Path(tempfile.mkdtemp(prefix="ll_bench_collector_"))
    lines = [
        f"One pass over {videos:,} videos due at their 6-hour mark ({PROJECTS} projects), "
        f"every answer held {latency * 1e3:g} ms, {Settings().collector_concurrency} projects "
        "polled at once (LEARNING_LOOP_COLLECTOR_CONCURRENCY):",
        "",
        "| database | quota units | floor ceil(N/50) | Analytics calls | wall time | "
        "peak RSS | traced peak during the pass |",
        "|---|---|---|---|---|---|---|",
    ]
    try:
        for kind in kinds:
            r = one_pass(kind, workdir, videos, latency)
            print(kind, r, flush=True)
            lines.append(
                f"| {kind} | {r['units']} | {r['floor']} | {r['analytics']} | "
                f"{r['seconds']:.1f} s | {r['rss_mb']:.0f} MB | {r['traced_mb']:.1f} MB |"
            )
        lines += [
            "",
            f"Mark accuracy: {marks_videos} videos published over a day, a pass every 15 "
            "minutes for two days (SQLite); lateness of each video's first poll at or after its "
            "6-hour mark:",
            "",
            "| passes | median | worst | observed | interpolated | unknown |",
            "|---|---|---|---|---|---|",
        ]
        for label, outage in (("every 15 min", None), ("stopped 10:00-12:00", (10.0, 12.0))):
            a = accuracy("sqlite", workdir, marks_videos, outage)
            print(label, a, flush=True)
            lines.append(
                f"| {label} | {a['median_min']:.1f} min | {a['worst_min']:.1f} min | "
                f"{a['observed']} | {a['interpolated']} | {a['unknown']} |"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    body = "\n".join(lines)
    print(body)
    if not (args.no_record or args.quick):
        record("Metrics collector", body)


if __name__ == "__main__":
    os.environ.setdefault("LEARNING_LOOP_COLLECTOR_BACKOFF_S", "0")
    main()
