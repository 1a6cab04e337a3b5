"""The fake Google the collector's tests run against answers in Google's wire formats."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from learning_loop_tests.fake_google import FakeGoogle, FakeVideo, serve_fake_google

REPORT = {
    "ids": "channel==MINE",
    "startDate": "2024-01-01",
    "endDate": "2024-01-31",
    "dimensions": "video",
}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=5) as c:  # no proxy between us and the fake
        yield c


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    videos = {
        "v1": FakeVideo(views=123, likes=4, comments=5, average_view_duration=42),
        "v2": FakeVideo(views=7, likes=1, comments=0),
        "gone": FakeVideo(views=9, available=False, average_view_duration=3),
    }
    with serve_fake_google(videos=videos) as fake:
        yield fake


def refresh(client: httpx.Client, google: FakeGoogle, **override: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", **google.credential(), **override}
    form.pop("type")
    return client.post(google.token_url, data=form)


def bearer(client: httpx.Client, google: FakeGoogle) -> dict[str, str]:
    token = refresh(client, google).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_token_refresh(client: httpx.Client, google: FakeGoogle) -> None:
    answer = refresh(client, google)
    assert answer.status_code == 200
    body = answer.json()
    assert body["access_token"].startswith("ya29.")
    assert body["expires_in"] == 3600 and body["token_type"] == "Bearer"
    assert "yt-analytics.readonly" in body["scope"]
    (call,) = google.calls("token")
    assert call.method == "POST"
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.form["refresh_token"] == "refresh-token-1"


def test_token_refused(client: httpx.Client, google: FakeGoogle) -> None:
    answer = refresh(client, google, client_secret="wrong")
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    answer = refresh(client, google, grant_type="password")
    assert (answer.status_code, answer.json()["error"]) == (400, "unsupported_grant_type")
    google.revoked = True
    answer = refresh(client, google)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }


def test_channels_with_a_token_then_expired(client: httpx.Client, google: FakeGoogle) -> None:
    auth = bearer(client, google)
    params = {"part": "snippet", "mine": "true"}
    answer = client.get(f"{google.data_url}/channels", params=params, headers=auth)
    assert answer.status_code == 200
    (item,) = answer.json()["items"]
    assert item["id"] == "UC_fake_channel" and item["snippet"]["title"] == "Fake channel"
    google.expire_tokens()
    answer = client.get(f"{google.data_url}/channels", params=params, headers=auth)
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["status"] == "UNAUTHENTICATED" and error["errors"][0]["reason"] == "authError"
    assert client.get(f"{google.data_url}/channels", params=params).status_code == 401


def test_videos_list(client: httpx.Client, google: FakeGoogle) -> None:
    auth = bearer(client, google)
    params = {"part": "statistics", "id": "v2,gone,unknown,v1"}
    answer = client.get(f"{google.data_url}/videos", params=params, headers=auth)
    assert answer.status_code == 200
    body = answer.json()
    assert [i["id"] for i in body["items"]] == ["v2", "v1"]
    assert body["items"][1]["statistics"] == {
        "viewCount": "123",
        "likeCount": "4",
        "favoriteCount": "0",
        "commentCount": "5",
    }
    assert body["pageInfo"] == {"totalResults": 2, "resultsPerPage": 2}
    assert google.calls("videos")[0].query == params


def test_videos_list_refuses_more_than_50_ids(client: httpx.Client, google: FakeGoogle) -> None:
    params = {"part": "statistics", "id": ",".join(f"v{i}" for i in range(51))}
    answer = client.get(f"{google.data_url}/videos", params=params, headers=bearer(client, google))
    assert answer.status_code == 400
    assert answer.json()["error"]["errors"][0]["reason"] == "invalidFilters"


def test_videos_list_with_an_api_key(client: httpx.Client) -> None:
    with serve_fake_google(api_key="key-1", videos={"v1": FakeVideo(views=3)}) as google:
        params = {"part": "statistics", "id": "v1"}
        url = f"{google.data_url}/videos"
        answer = client.get(url, params=params, headers={"X-Goog-Api-Key": "key-1"})
        assert answer.json()["items"][0]["statistics"]["viewCount"] == "3"
        answer = client.get(url, params=params, headers={"X-Goog-Api-Key": "other"})
        assert answer.status_code == 400
        assert answer.json()["error"]["message"] == (
            "API key not valid. Please pass a valid API key."
        )


def test_report(client: httpx.Client, google: FakeGoogle) -> None:
    params = REPORT | {"metrics": "views,averageViewDuration,likes", "filters": "video==v2,v1"}
    answer = client.get(
        f"{google.analytics_url}/reports", params=params, headers=bearer(client, google)
    )
    assert answer.status_code == 200
    table = answer.json()
    assert table["kind"] == "youtubeAnalytics#resultTable"
    assert [h["name"] for h in table["columnHeaders"]] == [
        "video",
        "views",
        "averageViewDuration",
        "likes",
    ]
    assert table["columnHeaders"][0]["columnType"] == "DIMENSION"
    assert table["rows"] == [["v1", 123, 42, 4]]  # v2 has no analytics yet


def test_report_without_rows_and_refused(client: httpx.Client, google: FakeGoogle) -> None:
    auth = bearer(client, google)
    url = f"{google.analytics_url}/reports"
    params = REPORT | {"metrics": "views", "filters": "video==v2,gone"}
    table = client.get(url, params=params, headers=auth).json()
    assert "rows" not in table and len(table["columnHeaders"]) == 2
    refused = [
        params | {"metrics": "views,shares"},
        params | {"startDate": "2024-02-01"},
        params | {"ids": "channel==UC_other"},
    ]
    for query in refused:
        answer = client.get(url, params=query, headers=auth)
        assert answer.status_code == 400
        assert answer.json()["error"]["errors"][0]["reason"] == "badRequest"
    assert client.get(url, params=params).status_code == 401


def test_quota_fault_then_normal(client: httpx.Client, google: FakeGoogle) -> None:
    auth = bearer(client, google)
    google.faults["videos"] = [("quota",), ("status", 503)]
    params = {"part": "statistics", "id": "v1"}
    url = f"{google.data_url}/videos"
    answer = client.get(url, params=params, headers=auth)
    assert answer.status_code == 403
    assert answer.json()["error"]["errors"][0]["reason"] == "quotaExceeded"
    answer = client.get(url, params=params, headers=auth)
    assert answer.status_code == 503 and answer.json()["error"]["status"] == "UNAVAILABLE"
    assert client.get(url, params=params, headers=auth).status_code == 200


def test_hang_and_drop_faults(client: httpx.Client, google: FakeGoogle) -> None:
    auth = bearer(client, google)
    google.faults["channels"] = [("hang", 2), ("drop",)]
    params = {"part": "snippet", "mine": "true"}
    url = f"{google.data_url}/channels"
    with pytest.raises(httpx.TimeoutException):
        client.get(url, params=params, headers=auth, timeout=0.2)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(url, params=params, headers=auth)
    assert client.get(url, params=params, headers=auth).status_code == 200
    assert len(google.calls("channels")) == 3


def test_tokens_expire_after_their_lifetime(client: httpx.Client) -> None:
    with serve_fake_google(token_lifetime_s=1) as google:
        auth = bearer(client, google)
        params = {"part": "snippet", "mine": "true"}
        url = f"{google.data_url}/channels"
        assert client.get(url, params=params, headers=auth).status_code == 200
        time.sleep(1.1)
        assert client.get(url, params=params, headers=auth).status_code == 401
