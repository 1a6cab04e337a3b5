"""Small builders of test data that go through the real services."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from learning_loop.db.engine import Database
from learning_loop.services.ingest import backfill_recipes, import_videos, ingest_metrics
from learning_loop.services.projects import create_project

T0 = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)


def project(db: Database, name: str = "channel") -> uuid.UUID:
    return create_project(db, name).id


def video_row(i: int, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "external_id": f"v{i}",
        "topic": f"Topic {i}",
        "published_at": (T0 + dt.timedelta(days=i)).isoformat(),
        "preset": "DARK_DYSTOPIAN_ANIME",
        "hook_type": "question",
        "scene_count": 7,
        "narration_wpm": 140,
        "caption_density": 0.45,
        "ending_type": "cliffhanger",
    }
    row.update(over)
    return row


def metric_row(external_id: str, captured_at: dt.datetime, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "external_id": external_id,
        "captured_at": captured_at.isoformat(),
        "views": 1000,
        "views_6h": 300,
        "avg_view_duration_s": 20.0,
        "likes": 40,
        "comments": 4,
    }
    row.update(over)
    return row


def numbered(rows: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, r) for i, r in enumerate(rows, start=1)]


def channel(
    db: Database,
    videos: list[dict[str, Any]],
    metrics: list[dict[str, Any]],
    name: str = "channel",
) -> uuid.UUID:
    pid = project(db, name)
    import_videos(db, pid, numbered(videos))
    backfill_recipes(db, pid)
    if metrics:
        ingest_metrics(db, pid, numbered(metrics))
    return pid
