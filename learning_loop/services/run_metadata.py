"""The metadata an asset records on each materialization that `shorts-engine` reads back
from the run it started (`RunInfo.metadata`): the keys, the word for "no value", and the
readers. The assets write through `defs.metadata.recorded`, the commands read through
`count`, `text` and `listed`: neither side spells a key.

The standard library only: the CLI names this module at start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

# What an asset records where a value is absent: no errors, no latency, no broken connection.
NONE = "none"

# A run's metadata as the launcher hands it back: its plain values, by key.
RunMetadata = Mapping[str, float | int | str | None]


class VideoPlansKey(StrEnum):
    """The `video_plans` asset's metadata (`learn video-plans`)."""

    JOBS = "jobs"
    PLANS_MADE = "plans_made"
    PLANS_FAILED = "plans_failed"
    FAILED_FOR_GOOD = "failed_for_good"
    LEFT_PENDING = "left_pending"
    RE_ASKED = "re_asked"
    BACKEND_REQUESTS = "backend_requests"
    BACKEND_LATENCY_MEDIAN_S = "backend_latency_median_s"  # seconds, or NONE
    BACKEND_LATENCY_P95_S = "backend_latency_p95_s"  # seconds, or NONE
    MAX_IN_FLIGHT = "max_in_flight"
    CONCURRENCY = "concurrency"
    SECONDS = "seconds"
    ERRORS = "errors"  # a Markdown list, or NONE


class CollectKey(StrEnum):
    """The `collected_metrics` asset's metadata, one collector pass (`learn collect-metrics`)."""

    PROJECTS = "projects"
    VIDEOS_DUE = "videos_due"
    VIDEOS_POLLED = "videos_polled"
    SNAPSHOTS_WRITTEN = "snapshots_written"
    QUOTA_UNITS = "quota_units"
    ANALYTICS_CALLS = "analytics_calls"
    MARKS_MISSED = "marks_missed"
    VIDEOS_GONE = "videos_gone"
    VIDEOS_DEFERRED = "videos_deferred"
    BROKEN_CONNECTIONS = "broken_connections"  # project ids joined by commas, or NONE
    SECONDS = "seconds"
    ERRORS = "errors"  # a Markdown list, or NONE


def joined(items: Iterable[object]) -> str:
    """A list recorded as one text (`listed` reads it back): its items joined by commas, or
    NONE."""
    return ",".join(str(item) for item in items) or NONE


def count(metadata: RunMetadata, key: StrEnum) -> int:
    """A count the run recorded; 0 when it recorded none."""
    value = metadata.get(key)
    return value if isinstance(value, int) else 0


def text(metadata: RunMetadata, key: StrEnum) -> str | None:
    """A text the run recorded; None when it recorded none, or NONE."""
    value = metadata.get(key)
    return value if isinstance(value, str) and value != NONE else None


def listed(metadata: RunMetadata, key: StrEnum) -> list[str]:
    """A list the run recorded with `joined`; empty when it recorded none."""
    value = text(metadata, key)
    return value.split(",") if value else []
