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

One module a concern: `connecting` (a project's channel), `quota` (the daily ledger),
`claims` (the videos due and their leases), `passes` (a pass), `snapshots` (reading them).
"""

from learning_loop.services.collector.claims import LEASE
from learning_loop.services.collector.connecting import (
    CONNECT_HINT,
    PlatformFactory,
    broken_line,
    check_collectable,
    connect_youtube,
    disconnect_youtube,
    show_connection,
    youtube_client,
)
from learning_loop.services.collector.passes import (
    Clock,
    PassResult,
    collect_metrics,
    projects_to_collect,
)
from learning_loop.services.collector.quota import QUOTA_DAY_ZONE, quota_day, quota_used
from learning_loop.services.collector.snapshots import SnapshotView, list_snapshots

__all__ = [
    "CONNECT_HINT",
    "LEASE",
    "QUOTA_DAY_ZONE",
    "Clock",
    "PassResult",
    "PlatformFactory",
    "SnapshotView",
    "broken_line",
    "check_collectable",
    "collect_metrics",
    "connect_youtube",
    "disconnect_youtube",
    "list_snapshots",
    "projects_to_collect",
    "quota_day",
    "quota_used",
    "show_connection",
    "youtube_client",
]
