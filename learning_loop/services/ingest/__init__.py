"""Ingesting files: existing videos (import, then their recipes backfilled) and the metric
snapshots of published videos; their columns, row checks, and all-rows-or-none rule.

An import reads its rows a chunk at a time (`row_files`), checks each chunk (a CSV chunk a
column at a time, `columns`; any chunk with a bad row, and JSONL or API rows, row by row,
`rows`), and loads the checked rows into a staging table of its transaction (`db.staging`:
COPY on PostgreSQL). What needs the whole file or the database (a key repeated in the file, a
key already stored with other data, an unknown video) is then judged by set-based statements
over the staging table, and the new rows are copied into the product table by one INSERT ...
SELECT. Any bad row rejects the whole file and nothing is written (one transaction).

One module a job: `videos` (import), `backfill` (their recipes), `metrics` (snapshots); the
path the two imports share, from staging to writing, is `loading`; the fields of their files
and each field's rules, row by row and column by column, are `fields`.
"""

from learning_loop.services.ingest.backfill import BackfillResult, backfill_recipes
from learning_loop.services.ingest.fields import METRIC_COLUMNS, VIDEO_COLUMNS
from learning_loop.services.ingest.loading import Rows
from learning_loop.services.ingest.metrics import (
    IngestResult,
    Snapshot,
    _check_snapshot,
    ingest_metrics,
    ingest_snapshots,
)
from learning_loop.services.ingest.videos import ImportedVideo, ImportResult, import_videos

__all__ = [
    "METRIC_COLUMNS",
    "VIDEO_COLUMNS",
    "BackfillResult",
    "ImportResult",
    "ImportedVideo",
    "IngestResult",
    "Rows",
    "Snapshot",
    "_check_snapshot",
    "backfill_recipes",
    "import_videos",
    "ingest_metrics",
    "ingest_snapshots",
]
