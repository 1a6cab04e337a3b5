"""YouTube: OAuth refresh tokens, the Data API v3 (`channels.list`, `videos.list`) and the
Analytics API v2 (`reports.query`), over httpx, with tenacity's retries (contract §12).

- The access token is made from the refresh token on first use and made again once when the
  API answers 401 (it expired); a refused refresh (`invalid_grant`, `invalid_client`) is
  `CredentialRefused`.
- A 403 `quotaExceeded` (or `dailyLimitExceeded`) is `QuotaExceeded`, at once, not retried.
- Timeouts, transport errors, 429 and 5xx answers are retried with exponential backoff and
  jitter; still failing after the last attempt, `PlatformUnavailable`.
- The credential travels only in request bodies and headers (the API key in `X-Goog-Api-Key`,
  never in a URL), and no message is built from a request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from learning_loop.collector.platform import (
    YOUTUBE,
    Channel,
    CredentialRefused,
    PlatformError,
    PlatformUnavailable,
    QuotaExceeded,
    Statistics,
)

PLATFORM = YOUTUBE
MAX_IDS = 50  # videos.list takes at most 50 ids
CREDENTIAL_FIELDS = ("client_id", "client_secret", "refresh_token")
CREDENTIAL_TYPE = "authorized_user"
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
REFUSED_GRANTS = {"invalid_grant", "invalid_client", "unauthorized_client"}
MAX_WAIT_S = 30.0


@dataclass(frozen=True)
class Endpoints:
    data_url: str
    analytics_url: str
    token_url: str


@dataclass(frozen=True)
class CallPolicy:
    timeout_s: float
    max_attempts: int
    backoff_s: float


class _Retry(Exception):
    """An answer worth asking again (429, 5xx); carries the line to report if none succeeds."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _error_of(response: httpx.Response) -> tuple[str, str]:
    """Google's error reason and message from an error answer's body (either of its shapes)."""
    try:
        body = response.json()
    except ValueError:
        return "", response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):  # OAuth: {"error": "invalid_grant", "error_description": ...}
        return error, str(body.get("error_description") or error)
    if isinstance(error, dict):
        errors = error.get("errors") or [{}]
        reason = errors[0].get("reason", "") if isinstance(errors[0], dict) else ""
        return str(reason or error.get("status") or ""), str(error.get("message") or "")
    return "", response.reason_phrase


def check_credential(credential: Mapping[str, Any]) -> dict[str, str]:
    """An "authorized user" credential as Google's tools write it; InvalidInput otherwise."""
    from learning_loop.errors import InvalidInput

    if not isinstance(credential, Mapping):
        raise InvalidInput("the credentials file must hold one JSON object", "credentials")
    kind = credential.get("type")
    if kind != CREDENTIAL_TYPE:
        raise InvalidInput(
            f'the credentials file must be of type "{CREDENTIAL_TYPE}" (got {kind!r})',
            "credentials",
        )
    for name in CREDENTIAL_FIELDS:
        value = credential.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"the credentials file has no {name}", "credentials")
    return {"type": CREDENTIAL_TYPE, **{n: str(credential[n]).strip() for n in CREDENTIAL_FIELDS}}


class YouTube:
    """One channel's client: its credential, and optionally an API key for public statistics."""

    name = PLATFORM
    max_ids = MAX_IDS
    units_per_call = 1  # videos.list and channels.list cost 1 unit each

    def __init__(
        self,
        credential: Mapping[str, str],
        endpoints: Endpoints,
        policy: CallPolicy,
        api_key: str | None = None,
    ) -> None:
        self._credential = dict(credential)
        self._api_key = api_key
        self._endpoints = endpoints
        self._policy = policy
        self._token: str | None = None
        self._http = httpx.Client(timeout=policy.timeout_s, trust_env=False)

    def __repr__(self) -> str:  # never the credential
        return f"YouTube(api_key={'set' if self._api_key else 'unset'})"

    def close(self) -> None:
        self._http.close()

    # -- calls ---------------------------------------------------------------------------------

    def _retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception_type((httpx.TransportError, _Retry)),
            stop=stop_after_attempt(self._policy.max_attempts),
            wait=wait_exponential_jitter(
                multiplier=self._policy.backoff_s, jitter=self._policy.backoff_s, max=MAX_WAIT_S
            ),
            reraise=True,
        )

    def _send(self, what: str, request: httpx.Request) -> httpx.Response:
        """Send with retries; 429/5xx/timeouts end as PlatformUnavailable after the last try."""

        def once() -> httpx.Response:
            response = self._http.send(request)
            if response.status_code == 429 or response.status_code >= 500:
                reason, message = _error_of(response)
                raise _Retry(f"{what} answered {response.status_code} ({reason or message})")
            return response

        try:
            return self._retrying()(once)
        except _Retry as exc:
            raise PlatformUnavailable(
                f"{exc.message}, {self._policy.max_attempts} attempt(s)"
            ) from None
        except httpx.TimeoutException:
            raise PlatformUnavailable(
                f"{what} did not answer within {self._policy.timeout_s:g} s, "
                f"{self._policy.max_attempts} attempt(s)"
            ) from None
        except httpx.TransportError as exc:
            raise PlatformUnavailable(
                f"{what} could not be reached ({type(exc).__name__}), "
                f"{self._policy.max_attempts} attempt(s)"
            ) from None

    def _refresh(self) -> str:
        form = {
            "grant_type": "refresh_token",
            **{n: self._credential[n] for n in CREDENTIAL_FIELDS},
        }
        response = self._send(
            "the token endpoint",
            self._http.build_request("POST", self._endpoints.token_url, data=form),
        )
        if response.status_code != 200:
            reason, message = _error_of(response)
            if reason in REFUSED_GRANTS or response.status_code in (400, 401):
                raise CredentialRefused(
                    f"Google refused the credential: {reason or response.status_code}"
                    + (f" ({message})" if message and message != reason else "")
                )
            raise PlatformError(f"the token endpoint answered {response.status_code} ({reason})")
        try:
            token = response.json()["access_token"]
        except (ValueError, KeyError, TypeError):
            raise PlatformError("the token endpoint answered without an access token") from None
        self._token = str(token)
        return self._token

    def _get(self, what: str, url: str, params: Mapping[str, str], api_key: bool = False) -> Any:
        """A GET of the APIs, authorized by the API key or by the (refreshed) access token."""
        for attempt in (1, 2):
            if api_key and self._api_key:
                headers = {"X-Goog-Api-Key": self._api_key}
            else:
                headers = {"Authorization": f"Bearer {self._token or self._refresh()}"}
            response = self._send(
                what, self._http.build_request("GET", url, params=params, headers=headers)
            )
            if response.status_code == 200:
                try:
                    return response.json()
                except ValueError:
                    raise PlatformError(f"{what} answered with a body that is not JSON") from None
            reason, message = _error_of(response)
            if response.status_code == 401 and attempt == 1 and "Authorization" in headers:
                self._token = None  # expired: make a new one, once
                continue
            if response.status_code == 403 and reason in QUOTA_REASONS:
                raise QuotaExceeded(f"{what}: the platform's quota is spent ({reason})")
            if response.status_code == 401:
                raise CredentialRefused(f"{what}: Google refused the access token ({reason})")
            raise PlatformError(f"{what} answered {response.status_code} ({reason}: {message})")
        raise AssertionError("unreachable")

    # -- Platform ------------------------------------------------------------------------------

    def channel(self) -> Channel:
        body = self._get(
            "channels.list",
            f"{self._endpoints.data_url}/channels",
            {"part": "snippet", "mine": "true"},
        )
        items = body.get("items") or []
        if not items:
            raise PlatformError("the credential's Google account has no YouTube channel")
        first = items[0]
        return Channel(id=str(first["id"]), title=str(first.get("snippet", {}).get("title", "")))

    def statistics(self, ids: Sequence[str]) -> dict[str, Statistics]:
        if len(ids) > MAX_IDS:
            raise ValueError(f"videos.list takes at most {MAX_IDS} ids")
        body = self._get(
            "videos.list",
            f"{self._endpoints.data_url}/videos",
            {"part": "statistics", "id": ",".join(ids), "maxResults": str(MAX_IDS)},
            api_key=True,
        )
        found: dict[str, Statistics] = {}
        for item in body.get("items") or []:
            stats = item.get("statistics") or {}
            try:
                found[str(item["id"])] = Statistics(
                    views=int(stats.get("viewCount", 0)),
                    likes=int(stats.get("likeCount", 0)),
                    comments=int(stats.get("commentCount", 0)),
                )
            except (KeyError, TypeError, ValueError):
                raise PlatformError(
                    "videos.list answered an item without its id or counts"
                ) from None
        return found

    def durations(self, ids: Sequence[str], since: dt.date, until: dt.date) -> dict[str, float]:
        body = self._get(
            "reports.query",
            f"{self._endpoints.analytics_url}/reports",
            {
                "ids": "channel==MINE",
                "startDate": since.isoformat(),
                "endDate": until.isoformat(),
                "metrics": "averageViewDuration,views",
                "dimensions": "video",
                "filters": "video==" + ",".join(ids),
            },
        )
        names = [str(h.get("name")) for h in body.get("columnHeaders") or []]
        if "video" not in names or "averageViewDuration" not in names:
            raise PlatformError("reports.query answered without the video and duration columns")
        video, duration = names.index("video"), names.index("averageViewDuration")
        return {
            str(row[video]): float(row[duration])
            for row in body.get("rows") or []
            if row[duration] is not None
        }
