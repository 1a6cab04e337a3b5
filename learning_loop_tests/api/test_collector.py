"""The collector through the admin API: connect (`PUT /projects/{id}/youtube`), a pass
(`POST /collect-metrics`), the snapshots (`GET /metrics`), disconnect; no answer holds a
secret, and bad input is a 4xx that writes nothing (contract §12)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from learning_loop.services.ingest import import_videos
from learning_loop.services.projects import create_project
from learning_loop.settings import Settings
from learning_loop_tests.api.conftest import ADMIN
from learning_loop_tests.factories import numbered, video_row
from learning_loop_tests.fake_google import FakeGoogle, FakeVideo, serve_fake_google

pytestmark = pytest.mark.anyio


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with serve_fake_google() as fake:
        yield fake


@pytest.fixture
def settings(database_url: str, tmp_path, google: FakeGoogle) -> Settings:
    from learning_loop_tests.api.conftest import TOKEN

    return Settings(
        LEARNING_LOOP_DATABASE_URL=database_url,
        LEARNING_LOOP_HOME=str(tmp_path / "home"),
        LEARNING_LOOP_ADMIN_TOKEN=TOKEN,
        LEARNING_LOOP_SECRET_KEY=Fernet.generate_key().decode(),
        LEARNING_LOOP_YOUTUBE_DATA_URL=google.data_url,
        LEARNING_LOOP_YOUTUBE_ANALYTICS_URL=google.analytics_url,
        LEARNING_LOOP_GOOGLE_TOKEN_URL=google.token_url,
        LEARNING_LOOP_COLLECTOR_BACKOFF_S=0,
    )


async def test_connect_collect_list_and_disconnect(client, db, google, counts):
    pid = create_project(db, "channel").id
    published = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1, minutes=2)).isoformat()
    import_videos(db, pid, numbered([video_row(1, external_id="yt1", published_at=published)]))
    google.videos = {"yt1": FakeVideo(views=12, likes=1, comments=0)}
    google.api_key = "k1"
    url = f"{ADMIN}/projects/{pid}/youtube"

    google.revoked = True
    before = counts()
    refused = await client.put(url, json={"credentials": google.credential()})
    assert refused.status_code == 422 and "invalid_grant" in refused.json()["detail"]
    assert counts() == before
    malformed = await client.put(url, json={"credentials": {"type": "service_account"}})
    assert malformed.status_code == 422 and malformed.json()["field"] == "credentials"
    google.revoked = False

    connected = await client.put(url, json={"credentials": google.credential(), "api_key": "k1"})
    assert connected.status_code == 200, connected.text
    assert connected.json()["channel_id"] == google.channel_id
    shown = await client.get(f"{ADMIN}/projects/{pid}")
    assert shown.json()["connection"]["status"] == "connected"

    started = await client.post(f"{ADMIN}/collect-metrics", params={"project_id": str(pid)})
    assert started.status_code == 202, started.text
    listed = await client.get(f"{ADMIN}/metrics", params={"project_id": str(pid)})
    assert listed.status_code == 200
    (snap,) = listed.json()["items"]
    assert (snap["external_id"], snap["views"], snap["source"]) == ("yt1", 12, "collector")
    assert snap["views_6h"] is None and snap["avg_view_duration_s"] is None
    unknown = await client.get(
        f"{ADMIN}/metrics", params={"project_id": str(pid), "external_id": "nope"}
    )
    assert unknown.status_code == 404 and unknown.json()["field"] == "external_id"

    answers = "\n".join([connected.text, shown.text, started.text, listed.text, refused.text])
    for secret in (google.client_secret, google.refresh_token, "k1", *google.tokens):
        assert secret not in answers

    gone = await client.delete(url)
    assert gone.status_code == 200 and gone.json()["connected"] is False
    again = await client.delete(url)
    assert again.status_code == 404
    not_connected = await client.post(f"{ADMIN}/collect-metrics", params={"project_id": str(pid)})
    assert not_connected.status_code == 422 and "not connected" in not_connected.json()["detail"]
