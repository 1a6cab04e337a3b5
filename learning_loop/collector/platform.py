"""What the collector needs from a video platform, and how a platform call can fail.

A platform client is made for one project from its stored credential. Every failure carries
one line a person can act on, and never a secret: the client builds its messages itself from
the platform's error codes, never from a request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

YOUTUBE = "youtube"  # the platforms implemented so far, by name
# The tag of the collector's Dagster runs, which every shipped instance limits to one run at a
# time per platform (the platform's quota is the deployment's).
PLATFORM_TAG = "learning_loop/platform"


@dataclass(frozen=True)
class Channel:
    id: str
    title: str


@dataclass(frozen=True)
class Statistics:
    views: int
    likes: int
    comments: int


class PlatformError(Exception):
    """A call the platform answered with an error that retrying will not mend."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CredentialRefused(PlatformError):
    """The platform refused the credential (revoked, expired, or a wrong client)."""


class QuotaExceeded(PlatformError):
    """The platform's quota is spent: no more calls until it resets."""


class PlatformUnavailable(PlatformError):
    """Server errors or timeouts, still so after the retries."""


class Platform(Protocol):
    """One project's client of a video platform."""

    name: str
    # Most ids one statistics call takes, and the quota units one such call costs.
    max_ids: int
    units_per_call: int

    def channel(self) -> Channel:
        """The channel the credential belongs to; checks the credential."""
        ...

    def statistics(self, ids: Sequence[str]) -> dict[str, Statistics]:
        """Counts of at most `max_ids` videos; a video the platform does not return (deleted,
        private) is absent."""
        ...

    def durations(self, ids: Sequence[str], since: dt.date, until: dt.date) -> dict[str, float]:
        """Average view duration in seconds over [since, until]; a video the platform's
        analytics have no row for yet is absent."""
        ...

    def close(self) -> None: ...
