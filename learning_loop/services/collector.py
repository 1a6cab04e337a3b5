"""The metrics collector's services: connecting a project to its channel, and the passes that
poll each published video at its marks and write what the platform answers as snapshots
(contract §12).

A pass:
1. enrols the connected projects' published videos it has not seen (those whose last mark is
   not long past), each due at its first mark;
2. counts the videos due now per project, asks the deployment's daily quota ledger for the
   calls they need, and splits what it grants fairly among the projects (`fair_shares`);
3. claims each project's share of due videos with a lease (a pass that dies leaves them due
   again; two passes never poll the same video), the longest due first;
4. per batch of the platform's id limit, reads the counts (Data API) and the average view
   durations (Analytics), and writes the batch's snapshots through the same ingest path as a
   file (`ingest_snapshots`), with the videos' next marks, in one transaction.

A refused credential marks the project's connection broken and writes nothing else; a spent
quota, a server error or a timeout puts the unpolled videos back as they were, due.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from learning_loop.collector.platform import (
    CredentialRefused,
    Platform,
    PlatformError,
    QuotaExceeded,
)
from learning_loop.collector.youtube import (
    PLATFORM,
    CallPolicy,
    Endpoints,
    YouTube,
    check_credential,
)
from learning_loop.db.engine import Database
from learning_loop.db.models import (
    CollectedVideo,
    MetricSnapshot,
    PlatformConnection,
    PlatformQuota,
    VideoJob,
    utcnow,
)
from learning_loop.db.queries import dialect_insert
from learning_loop.domain import marks
from learning_loop.domain.statuses import (
    CollectionState,
    ConnectionStatus,
    JobStatus,
    SnapshotSource,
    Views6hBasis,
)
from learning_loop.errors import InvalidInput, NotFound, Unavailable, scrub
from learning_loop.secrets import SecretBox
from learning_loop.services.connections import connection_view
from learning_loop.services.ingest import ingest_snapshots
from learning_loop.services.projects import get_project
from learning_loop.services.views import ConnectionView
from learning_loop.settings import Settings

# How long a pass holds the videos it claimed; after it, a dead pass's videos are due again.
LEASE = dt.timedelta(minutes=10)
# The platform's quota day: YouTube's quota resets at midnight, Pacific time.
QUOTA_DAY_ZONE = zoneinfo.ZoneInfo("America/Los_Angeles")
CONNECT_HINT = "shorts-engine projects connect-youtube --project {pid} --credentials-file FILE"

# Makes a project's platform client from its opened secret.
PlatformFactory = Callable[[Mapping[str, Any], Settings], Platform]
Clock = Callable[[], dt.datetime]


def youtube_client(secret: Mapping[str, Any], settings: Settings) -> Platform:
    return YouTube(
        secret["credential"],
        Endpoints(
            settings.youtube_data_url, settings.youtube_analytics_url, settings.google_token_url
        ),
        CallPolicy(
            settings.collector_timeout_s,
            settings.collector_max_attempts,
            settings.collector_backoff_s,
        ),
        api_key=secret.get("api_key"),
    )


def quota_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(QUOTA_DAY_ZONE).date()


# Connections --------------------------------------------------------------------------------


def show_connection(db: Database, project_id: uuid.UUID) -> ConnectionView | None:
    with db.read() as session:
        pid = get_project(session, project_id).id
        return connection_view(session, pid)


def connect_youtube(
    db: Database,
    settings: Settings,
    project_id: uuid.UUID,
    credential: Any,
    api_key: str | None = None,
    factory: PlatformFactory = youtube_client,
) -> ConnectionView:
    """Check the credential once (a token refresh and the channel it belongs to), then store
    it sealed with the deployment's key. A refused credential stores nothing."""
    checked = check_credential(credential)
    if api_key is not None:
        api_key = api_key.strip()
        if not api_key:
            raise InvalidInput("the API key is empty", "api_key")
    with db.read() as session:
        pid = get_project(session, project_id).id
    box = SecretBox(settings)  # a missing deployment key fails before any call
    secret = {"credential": checked, "api_key": api_key}
    client = factory(secret, settings)
    try:
        channel = client.channel()
    except CredentialRefused as exc:
        raise InvalidInput(exc.message, "credentials") from None
    except QuotaExceeded as exc:
        raise Unavailable(exc.message, "credentials") from None
    except PlatformError as exc:
        raise Unavailable(exc.message, "credentials") from None
    finally:
        client.close()
    now = utcnow()
    with db.transaction() as session:
        get_project(session, pid)
        _spend(session, quota_day(now), client.units_per_call)
        row = session.get(PlatformConnection, (pid, PLATFORM))
        if row is None:
            row = PlatformConnection(project_id=pid, platform=PLATFORM)
            session.add(row)
        row.channel_id = channel.id
        row.channel_title = channel.title
        row.credential = box.seal(secret)
        row.status = ConnectionStatus.CONNECTED
        row.problem = None
        row.connected_at = now
        row.checked_at = now
        session.flush()
        view = connection_view(session, pid)
    assert view is not None
    return view


def disconnect_youtube(db: Database, project_id: uuid.UUID) -> None:
    """Forget the project's credential; its videos are no longer polled."""
    with db.transaction() as session:
        pid = get_project(session, project_id).id
        gone = session.execute(
            delete(PlatformConnection).where(
                PlatformConnection.project_id == pid, PlatformConnection.platform == PLATFORM
            )
        )
        if not gone.rowcount:  # type: ignore[attr-defined]
            raise NotFound(f"project {pid} is not connected to YouTube", "project_id")


def check_collectable(db: Database, project_id: uuid.UUID) -> uuid.UUID:
    """The project, if a pass can collect for it now; otherwise one line saying why."""
    with db.read() as session:
        pid = get_project(session, project_id).id
        row = session.get(PlatformConnection, (pid, PLATFORM))
        if row is None:
            raise InvalidInput(
                f"project {pid} is not connected to YouTube ({CONNECT_HINT.format(pid=pid)})",
                "project_id",
            )
        if row.status == ConnectionStatus.BROKEN.value:
            raise InvalidInput(broken_line(pid, row.problem), "project_id")
    return pid


def broken_line(project_id: uuid.UUID, problem: str | None) -> str:
    return (
        f"the YouTube connection of project {project_id} is broken ({problem}); connect it "
        f"again ({CONNECT_HINT.format(pid=project_id)})"
    )


# The quota ledger ---------------------------------------------------------------------------


def _ledger(session: Session, day: dt.date) -> PlatformQuota:
    insert = dialect_insert(session, PlatformQuota.__table__).values(
        platform=PLATFORM, day=day, units=0
    )
    session.execute(insert.on_conflict_do_nothing(index_elements=["platform", "day"]))
    return session.execute(
        select(PlatformQuota)
        .where(PlatformQuota.platform == PLATFORM, PlatformQuota.day == day)
        .with_for_update()
    ).scalar_one()


def _spend(session: Session, day: dt.date, units: int) -> None:
    _ledger(session, day).units += units


def _reserve(db: Database, day: dt.date, want: int, budget: int) -> int:
    """Take up to `want` units of the day's budget; the units granted."""
    if want <= 0:
        return 0
    with db.transaction() as session:
        row = _ledger(session, day)
        grant = max(0, min(want, budget - row.units))
        row.units += grant
    return grant


def _settle(db: Database, day: dt.date, unused: int, exhausted: bool, budget: int) -> None:
    """Give back the units a pass reserved and did not spend; a platform that answered
    `quotaExceeded` closes the day's ledger."""
    if unused <= 0 and not exhausted:
        return
    with db.transaction() as session:
        row = _ledger(session, day)
        row.units = max(row.units - unused, 0) if not exhausted else max(row.units, budget)


def quota_used(db: Database, day: dt.date) -> int:
    with db.read() as session:
        units = session.execute(
            select(PlatformQuota.units).where(
                PlatformQuota.platform == PLATFORM, PlatformQuota.day == day
            )
        ).scalar()
    return int(units or 0)


# A pass -------------------------------------------------------------------------------------


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
class _Due:
    video_id: uuid.UUID
    external_id: str
    published_at: dt.datetime
    next_mark: int
    due_at: dt.datetime
    before_6h_at: dt.datetime | None
    before_6h_views: int | None
    views_6h: int | None
    views_6h_basis: str | None
    marks_missed: int


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


def _enrol(session: Session, project_id: uuid.UUID, now: dt.datetime) -> None:
    """Start following the project's published videos not yet followed, each due at its
    first mark still to come (or now, for a mark just passed within the tolerance)."""
    since = now - marks.MARKS[-1] - marks.ENROL_GRACE
    known = select(CollectedVideo.video_id).where(CollectedVideo.video_id == VideoJob.id)
    new = session.execute(
        select(VideoJob.id, VideoJob.published_at).where(
            VideoJob.project_id == project_id,
            VideoJob.status == JobStatus.PUBLISHED.value,
            VideoJob.external_id.is_not(None),
            VideoJob.published_at >= since,
            ~known.exists(),
        )
    ).all()
    if not new:
        return
    session.execute(
        CollectedVideo.__table__.insert(),
        [
            {
                "video_id": vid,
                "project_id": project_id,
                "state": CollectionState.POLLING.value,
                "next_mark": 0,
                "due_at": marks.mark_time(published, 0),
                "marks_missed": 0,
            }
            for vid, published in new
        ],
    )


def _connected(
    session: Session, project_ids: Sequence[uuid.UUID] | None
) -> list[PlatformConnection]:
    query = select(PlatformConnection).where(
        PlatformConnection.platform == PLATFORM,
        PlatformConnection.status == ConnectionStatus.CONNECTED.value,
    )
    if project_ids is not None:
        query = query.where(PlatformConnection.project_id.in_(list(project_ids)))
    return list(session.scalars(query.order_by(PlatformConnection.project_id)))


def _due_counts(
    session: Session, project_ids: list[uuid.UUID], now: dt.datetime
) -> dict[uuid.UUID, int]:
    rows = session.execute(
        select(CollectedVideo.project_id, func.count(), func.min(CollectedVideo.due_at))
        .where(
            CollectedVideo.project_id.in_(project_ids),
            CollectedVideo.state == CollectionState.POLLING.value,
            CollectedVideo.due_at <= now,
        )
        .group_by(CollectedVideo.project_id)
        .order_by(func.min(CollectedVideo.due_at))
    ).all()
    return {pid: int(count) for pid, count, _ in rows}


def _claim(db: Database, project_id: uuid.UUID, now: dt.datetime, limit: int) -> list[_Due]:
    """The project's `limit` longest-due videos, held for this pass until `now + LEASE`."""
    cv = CollectedVideo
    with db.transaction() as session:
        rows = session.execute(
            select(
                cv.video_id,
                VideoJob.external_id,
                VideoJob.published_at,
                cv.next_mark,
                cv.due_at,
                cv.before_6h_at,
                cv.before_6h_views,
                cv.views_6h,
                cv.views_6h_basis,
                cv.marks_missed,
            )
            .join(VideoJob, VideoJob.id == cv.video_id)
            .where(
                cv.project_id == project_id,
                cv.state == CollectionState.POLLING.value,
                cv.due_at <= now,
            )
            .order_by(cv.due_at, cv.video_id)
            .limit(limit)
        ).all()
        due = [_Due(*row) for row in rows]
        taken: set[uuid.UUID] = set()
        for start in range(0, len(due), 1000):
            part = [d.video_id for d in due[start : start + 1000]]
            taken.update(
                session.scalars(
                    update(cv)
                    .where(cv.video_id.in_(part), cv.due_at <= now)
                    .values(due_at=now + LEASE)
                    .returning(cv.video_id)
                )
            )
    return [d for d in due if d.video_id in taken]


def _release(db: Database, videos: Sequence[_Due]) -> None:
    """Put claimed videos back as they were: due at their mark."""
    if not videos:
        return
    with db.transaction() as session:
        session.execute(
            update(CollectedVideo),
            [{"video_id": d.video_id, "due_at": d.due_at} for d in videos],
        )


def _poll_rows(
    batch: Sequence[_Due],
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
                    "state": CollectionState.GONE.value,
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
        basis = Views6hBasis(d.views_6h_basis) if d.views_6h_basis else None
        result = marks.poll(d.published_at, d.next_mark, at, stats.views, before, d.views_6h, basis)
        missed += result.marks_missed
        done = result.next_mark >= len(marks.MARKS)
        updates.append(
            {
                "video_id": d.video_id,
                "state": (CollectionState.DONE if done else CollectionState.POLLING).value,
                "next_mark": result.next_mark,
                "due_at": None if done else marks.mark_time(d.published_at, result.next_mark),
                "marks_missed": d.marks_missed + result.marks_missed,
                "last_polled_at": at,
                "before_6h_at": result.before_6h[0] if result.before_6h else None,
                "before_6h_views": result.before_6h[1] if result.before_6h else None,
                "views_6h": result.views_6h,
                "views_6h_basis": result.views_6h_basis.value if result.views_6h_basis else None,
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
        claimed = _claim(db, pid, now, calls * size)
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
            _release(db, claimed[stopped_at:])
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
        connections = _connected(session, project_ids)
        for c in connections:
            _enrol(session, c.project_id, now)
        due = _due_counts(session, [c.project_id for c in connections], now)
    result = PassResult(projects=len(connections), videos_due=sum(due.values()))
    if not due:
        result.seconds = time.perf_counter() - started
        return result
    box = SecretBox(settings)
    per_call = YouTube.max_ids
    needs = {str(pid): math.ceil(n / per_call) for pid, n in due.items()}
    day = quota_day(now)
    granted = _reserve(db, day, sum(needs.values()), settings.youtube_daily_quota)
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
    _settle(
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
        return [c.project_id for c in _connected(session, None)]


# Reading snapshots --------------------------------------------------------------------------


class SnapshotView(BaseModel):
    external_id: str
    captured_at: dt.datetime
    views: int
    views_6h: int | None
    views_6h_basis: str | None
    avg_view_duration_s: float | None
    likes: int
    comments: int
    source: str


def list_snapshots(
    db: Database,
    project_id: uuid.UUID,
    external_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[SnapshotView]:
    """The project's snapshots (or one video's), newest first."""
    s = MetricSnapshot
    with db.read() as session:
        pid = get_project(session, project_id).id
        query = (
            select(
                VideoJob.external_id,
                s.captured_at,
                s.views,
                s.views_6h,
                s.views_6h_basis,
                s.avg_view_duration_s,
                s.likes,
                s.comments,
                s.source,
            )
            .join(VideoJob, VideoJob.id == s.video_id)
            .where(s.project_id == pid)
        )
        if external_id is not None:
            video = session.execute(
                select(VideoJob.id).where(
                    VideoJob.project_id == pid, VideoJob.external_id == external_id
                )
            ).scalar()
            if video is None:
                raise NotFound(
                    f"project {pid} has no video with external_id {external_id}", "external_id"
                )
            query = query.where(s.video_id == video)
        rows = session.execute(
            query.order_by(s.captured_at.desc(), s.id.desc()).limit(limit).offset(offset)
        ).all()
    return [SnapshotView(**row._mapping) for row in rows]
