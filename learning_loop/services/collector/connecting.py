"""Connecting a project to its YouTube channel: the credential checked once and stored sealed,
shown, forgotten; and whether a pass can collect for the project now."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import delete

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
from learning_loop.db.models import PlatformConnection, utcnow
from learning_loop.domain.statuses import ConnectionStatus
from learning_loop.errors import InvalidInput, NotFound, Unavailable
from learning_loop.secrets import SecretBox
from learning_loop.services.collector.quota import quota_day, spend
from learning_loop.services.connections import connection_view
from learning_loop.services.projects import get_project
from learning_loop.services.views import ConnectionView
from learning_loop.settings import Settings

CONNECT_HINT = "shorts-engine projects connect-youtube --project {pid} --credentials-file FILE"

# Makes a project's platform client from its opened secret.
PlatformFactory = Callable[[Mapping[str, Any], Settings], Platform]


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
        spend(session, quota_day(now), client.units_per_call)
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
        if row.status == ConnectionStatus.BROKEN:
            raise InvalidInput(broken_line(pid, row.problem), "project_id")
    return pid


def broken_line(project_id: uuid.UUID, problem: str | None) -> str:
    return (
        f"the YouTube connection of project {project_id} is broken ({problem}); connect it "
        f"again ({CONNECT_HINT.format(pid=project_id)})"
    )
