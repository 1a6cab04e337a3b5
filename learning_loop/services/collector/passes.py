"""A collector's pass: the calls the due videos need reserved from the day's quota and
shared fairly among the projects, each project's claimed videos polled in batches of the
platform's id limit, and each batch's snapshots written with the videos' next marks."""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import update

from learning_loop.collector.platform import CredentialRefused, PlatformError, QuotaExceeded
from learning_loop.collector.youtube import PLATFORM, YouTube
from learning_loop.db.engine import Database
from learning_loop.db.models import CollectedVideo, PlatformConnection, utcnow
from learning_loop.domain import marks
from learning_loop.domain.statuses import (
    CollectionState,
    ConnectionStatus,
    SnapshotSource,
)
from learning_loop.errors import InvalidInput, scrub
from learning_loop.secrets import SecretBox
from learning_loop.services.collector.claims import (
    Due,
    claim,
    connected,
    due_counts,
    enrol,
    release,
)
from learning_loop.services.collector.connecting import PlatformFactory, broken_line, youtube_client
from learning_loop.services.collector.quota import quota_day, reserve, settle
from learning_loop.services.ingest import ingest_snapshots
from learning_loop.settings import Settings

Clock = Callable[[], dt.datetime]


class PassResult(BaseModel):
    """What one pass did (recorded as its run's metadata)."""

    projects: int = 0
    videos_due: int = 0
    videos_polled: int = 0
    snapshots_written: int = 0
    quota_units: int = 0
    analytics_calls: int = 0
    marks_missed: int = 0
    videos_gone: int = 0
    videos_deferred: int = 0
    broken: list[uuid.UUID] = []
    errors: list[str] = []
    seconds: float = 0.0


@dataclass
class _ProjectPass:
    project_id: uuid.UUID
    calls: int
    polled: int = 0
    written: int = 0
    units: int = 0
    analytics_calls: int = 0
    missed: int = 0
    gone: int = 0
    errors: list[str] = field(default_factory=list)
    broken: str | None = None
    quota_spent: bool = False


def _poll_rows(
    batch: Sequence[Due],
    at: dt.datetime,
    counts: Mapping[str, Any],
    durations: Mapping[str, float],
) -> tuple[list[tuple[int, dict[str, Any]]], list[dict[str, Any]], int, int]:
    """A batch's snapshot rows and state changes: (rows, updates, marks missed, gone)."""
    rows: list[tuple[int, dict[str, Any]]] = []
    updates: list[dict[str, Any]] = []
    missed = gone = 0
    for d in batch:
        stats = counts.get(d.external_id)
        if stats is None:
            gone += 1
            updates.append(
                {
                    "video_id": d.video_id,
                    "state": CollectionState.GONE,
                    "due_at": None,
                    "last_polled_at": at,
                    "problem": f"not returned by the platform at {at.isoformat()} "
                    "(deleted or private): no longer polled",
                }
            )
            continue
        before = (
            (d.before_6h_at, d.before_6h_views)
            if d.before_6h_at is not None and d.before_6h_views is not None
            else None
        )
        result = marks.poll(
            d.published_at, d.next_mark, at, stats.views, before, d.views_6h, d.views_6h_basis
        )
        missed += result.marks_missed
        done = result.next_mark >= len(marks.MARKS)
        updates.append(
            {
                "video_id": d.video_id,
                "state": CollectionState.DONE if done else CollectionState.POLLING,
                "next_mark": result.next_mark,
                "due_at": None if done else marks.mark_time(d.published_at, result.next_mark),
                "marks_missed": d.marks_missed + result.marks_missed,
                "last_polled_at": at,
                "before_6h_at": result.before_6h[0] if result.before_6h else None,
                "before_6h_views": result.before_6h[1] if result.before_6h else None,
                "views_6h": result.views_6h,
                "views_6h_basis": result.views_6h_basis,
            }
        )
        views_6h = None if result.views_6h is None else min(result.views_6h, stats.views)
        rows.append(
            (
                len(rows) + 1,
                {
                    "external_id": d.external_id,
                    "captured_at": at,
                    "views": stats.views,
                    "views_6h": views_6h,
                    "views_6h_basis": result.views_6h_basis,
                    "avg_view_duration_s": durations.get(d.external_id),
                    "likes": stats.likes,
                    "comments": stats.comments,
                },
            )
        )
    return rows, updates, missed, gone


def _write_batch(
    db: Database,
    project_id: uuid.UUID,
    rows: list[tuple[int, dict[str, Any]]],
    updates: list[dict[str, Any]],
) -> int:
    with db.transaction() as session:
        written = ingest_snapshots(
            session, project_id, rows, "collector pass", SnapshotSource.COLLECTOR
        ).ingested
        if updates:
            session.execute(update(CollectedVideo), updates)
    return written


def _collect_project(
    db: Database,
    settings: Settings,
    box: SecretBox,
    connection: PlatformConnection,
    calls: int,
    now: dt.datetime,
    clock: Clock,
    factory: PlatformFactory,
    stop: list[bool],
) -> _ProjectPass:
    pid = connection.project_id
    out = _ProjectPass(pid, calls)
    try:
        secret = box.open(connection.credential)
    except InvalidInput as exc:  # the deployment's key changed: nothing to call with
        out.errors.append(f"project {pid}: {exc.message}")
        return out
    client = factory(secret, settings)
    try:
        size = client.max_ids
        claimed = claim(db, pid, now, calls * size)
        analytics = True
        stopped_at: int | None = None  # where the videos not polled start, once it stops
        for start in range(0, len(claimed), size):
            if stop[0]:
                stopped_at = start
                break
            batch = claimed[start : start + size]
            try:
                counts = client.statistics([d.external_id for d in batch])
                out.units += client.units_per_call
                at = clock()
                present = [d for d in batch if d.external_id in counts]
                durations: dict[str, float] = {}
                if present and analytics:
                    since = min(d.published_at for d in present).date()
                    try:
                        out.analytics_calls += 1
                        durations = client.durations(
                            [d.external_id for d in present], since, at.date()
                        )
                    except CredentialRefused:
                        raise
                    except PlatformError as exc:  # the snapshots wait for their durations
                        out.errors.append(f"project {pid}: {exc.message}")
                        analytics = not isinstance(exc, QuotaExceeded)
            except CredentialRefused as exc:
                out.broken = exc.message
                stopped_at = start
                break
            except PlatformError as exc:
                out.errors.append(f"project {pid}: {exc.message}")
                if isinstance(exc, QuotaExceeded):
                    out.quota_spent = True
                    stop[0] = True
                stopped_at = start
                break
            rows, updates, missed, gone = _poll_rows(batch, at, counts, durations)
            out.written += _write_batch(db, pid, rows, updates)
            out.polled += len(rows)
            out.missed += missed
            out.gone += gone
        if stopped_at is not None:
            release(db, claimed[stopped_at:])
    finally:
        client.close()
    with db.transaction() as session:
        row = session.get(PlatformConnection, (pid, PLATFORM))
        if row is not None:
            if out.broken is not None:
                row.status = ConnectionStatus.BROKEN
                row.problem = scrub(out.broken)
            else:
                row.checked_at = clock()
    return out


def collect_metrics(
    db: Database,
    settings: Settings,
    project_ids: Sequence[uuid.UUID] | None = None,
    *,
    clock: Clock = utcnow,
    factory: PlatformFactory = youtube_client,
) -> PassResult:
    """One pass over the connected projects (all, or these)."""
    started = time.perf_counter()
    now = clock()
    with db.transaction() as session:
        connections = connected(session, project_ids)
        for c in connections:
            enrol(session, c.project_id, now)
        due = due_counts(session, [c.project_id for c in connections], now)
    result = PassResult(projects=len(connections), videos_due=sum(due.values()))
    if not due:
        result.seconds = time.perf_counter() - started
        return result
    box = SecretBox(settings)
    per_call = YouTube.max_ids
    needs = {str(pid): math.ceil(n / per_call) for pid, n in due.items()}
    day = quota_day(now)
    granted = reserve(db, day, sum(needs.values()), settings.youtube_daily_quota)
    shares = marks.fair_shares(needs, granted)
    if granted < sum(needs.values()):
        result.errors.append(
            f"daily quota: {granted} of the {sum(needs.values())} call(s) due were granted "
            f"(LEARNING_LOOP_YOUTUBE_DAILY_QUOTA={settings.youtube_daily_quota}); the rest "
            "stay due"
        )
    stop = [False]
    by_id = {c.project_id: c for c in connections}
    work = [(by_id[pid], shares[str(pid)]) for pid in due if shares[str(pid)] > 0]
    with ThreadPoolExecutor(max_workers=settings.collector_concurrency) as pool:
        passes = list(
            pool.map(
                lambda item: _collect_project(
                    db, settings, box, item[0], item[1], now, clock, factory, stop
                ),
                work,
            )
        )
    spent = sum(p.units for p in passes)
    settle(
        db,
        day,
        granted - spent,
        any(p.quota_spent for p in passes),
        settings.youtube_daily_quota,
    )
    for p in passes:
        result.videos_polled += p.polled
        result.snapshots_written += p.written
        result.quota_units += p.units
        result.analytics_calls += p.analytics_calls
        result.marks_missed += p.missed
        result.videos_gone += p.gone
        result.errors.extend(p.errors)
        if p.broken is not None:
            result.broken.append(p.project_id)
            result.errors.append(broken_line(p.project_id, p.broken))
    result.errors = [scrub(e) for e in result.errors]
    result.videos_deferred = result.videos_due - result.videos_polled - result.videos_gone
    result.seconds = time.perf_counter() - started
    return result


def projects_to_collect(db: Database) -> list[uuid.UUID]:
    with db.read() as session:
        return [c.project_id for c in connected(session, None)]
