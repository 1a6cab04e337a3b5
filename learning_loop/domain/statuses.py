"""The product's enumerations: the one list of values each status or mode may take.

The models hold them with CHECK constraints, the API's schemas and the CLI's options use them,
and the services compare against them; a value is spelled in one place only.
"""

from __future__ import annotations

from enum import StrEnum


class GenerationMode(StrEnum):
    """How a video job's recipe was chosen."""

    EXPLOIT = "exploit"
    EXPLORE = "explore"
    MANUAL = "manual"  # imported history


class JobStatus(StrEnum):
    QUEUED = "queued"
    PUBLISHED = "published"
    FAILED = "failed"


class ExperimentStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"


class Winner(StrEnum):
    """An experiment's verdict."""

    BASELINE = "baseline"
    VARIANT = "variant"
    INCONCLUSIVE = "inconclusive"


class PlanRequestStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Policy(StrEnum):
    """How a project plans its batches."""

    SEED = "seed"
    THOMPSON = "thompson"


class PlanStatus(StrEnum):
    """Where a planned job's video plan stands (contract §8): made and valid (`ready`), still to
    be made (`pending`), or given up after the set number of failed attempts (`failed`, which
    the next `video_plans` run retries while attempts remain)."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class PlannerBackend(StrEnum):
    """Which LearningLoopPlanner backend writes a project's video plans."""

    TEMPLATE = "template"
    OPENAI = "openai"


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


class ExploitScope(StrEnum):
    """Which recipes exploit slots may take (contract §5): the whole catalogue ranked by
    estimate, recipes never made predicted from their fields (`catalogue`, the default), or only
    recipes with a rewarded video (`made`, the literal "top-performing")."""

    CATALOGUE = "catalogue"
    MADE = "made"


class Guardrail(StrEnum):
    """Which reward component guards a variant's win (contract §7): a variant whose per-video
    percentile of it is significantly lower than the baseline arm's is not declared the winner.
    `none`: no guardrail."""

    ENGAGEMENT = "engagement"
    AVG_VIEW_DURATION = "avg_view_duration"
    VIEWS_6H = "views_6h"
    NONE = "none"


class SnapshotSource(StrEnum):
    """Where a metric snapshot came from (contract §12)."""

    FILE = "file"  # `learn ingest-metrics`
    API = "api"  # `POST /metrics`
    COLLECTOR = "collector"  # the platform collector's poll at a mark


class Views6hBasis(StrEnum):
    """How a snapshot's `views_6h` was obtained (contract §12)."""

    REPORTED = "reported"  # given by a file or a POST, as is
    OBSERVED = "observed"  # the collector's poll taken at the 6-hour mark, within the tolerance
    INTERPOLATED = "interpolated"  # the 6-hour poll was missed: linear between two polls


class ConnectionStatus(StrEnum):
    """A project's connection to a platform (contract §12)."""

    CONNECTED = "connected"
    BROKEN = "broken"  # the platform refused the stored credential


class CollectionState(StrEnum):
    """Where a video stands in the collector's marks (contract §12)."""

    POLLING = "polling"  # marks remain
    DONE = "done"  # polled at (or past) its last mark
    GONE = "gone"  # the platform no longer returns it (deleted or private)
