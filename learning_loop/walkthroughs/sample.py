"""The sample walkthrough: onboarding the sample channel shipped in the repo (real files, no
simulator): create a project, import its videos, backfill recipes, ingest metrics, learn, plan."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

from learning_loop.db.engine import Database
from learning_loop.services.ingest import (
    METRIC_COLUMNS,
    VIDEO_COLUMNS,
    BackfillResult,
    ImportResult,
    IngestResult,
    backfill_recipes,
    import_videos,
    ingest_metrics,
)
from learning_loop.services.planning import preview
from learning_loop.services.projects import create_project
from learning_loop.services.rows import read_rows
from learning_loop.services.stats import UpdateStatsResult, update_stats
from learning_loop.services.views import PreviewView

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_AS_OF = dt.date(2026, 10, 30)
NEXT_BATCH = 5


@dataclass(frozen=True)
class SampleResult:
    project_id: uuid.UUID
    project_name: str
    imported: ImportResult
    backfilled: BackfillResult
    ingested: IngestResult
    stats: UpdateStatsResult
    next_batch: PreviewView


def run_sample(db: Database) -> SampleResult:
    """Every onboarding step on a fresh project, stats as of SAMPLE_AS_OF, and a batch preview."""
    name = f"sample-channel-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S-%f}"
    project = create_project(db, name)
    pid = project.id
    imported = import_videos(db, pid, read_rows(SAMPLES / "videos.csv", VIDEO_COLUMNS))
    backfilled = backfill_recipes(db, pid)
    ingested = ingest_metrics(db, pid, read_rows(SAMPLES / "metrics.csv", METRIC_COLUMNS))
    stats = update_stats(db, pid, SAMPLE_AS_OF, 30)
    return SampleResult(
        project_id=pid,
        project_name=name,
        imported=imported,
        backfilled=backfilled,
        ingested=ingested,
        stats=stats,
        next_batch=preview(db, pid, NEXT_BATCH, None, seed=1),
    )
