"""The deployment's one Dagster instance, as the settings name it (contract §9 and §10).

- `DAGSTER_HOME` set: its `dagster.yaml`, whatever it configures.
- Product database on PostgreSQL, no `DAGSTER_HOME`: runs, event logs and schedules in that same
  database (dagster-postgres), runs queued for the daemon; nothing is written to local disk.
- Embedded default: SQLite storage under `LEARNING_LOOP_HOME/dagster`.

Creating an instance may create or migrate Dagster's own tables, and Dagster's migrations do
not guard against two processes doing it at once. Every instance is therefore opened under a
lock: a file lock beside SQLite storage, an advisory lock on PostgreSQL.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from learning_loop.collector.platform import PLATFORM_TAG
from learning_loop.settings import Settings

if TYPE_CHECKING:
    from dagster import DagsterInstance

# The daemon looks for queued runs this often (Dagster's default is 5 s): a submitted run then
# starts about a second after it was queued.
DEQUEUE_INTERVAL_S = 1
PLATFORM_LIMITS = [{"key": PLATFORM_TAG, "value": "youtube", "limit": 1}]
QUEUED_RUN_COORDINATOR: dict[str, Any] = {
    "module": "dagster.core.run_coordinator",
    "class": "QueuedRunCoordinator",
    "config": {
        "dequeue_interval_seconds": DEQUEUE_INTERVAL_S,
        "tag_concurrency_limits": PLATFORM_LIMITS,
    },
}
RUN_MONITORING: dict[str, Any] = {
    "enabled": True,
    "start_timeout_seconds": 180,
    "poll_interval_seconds": 60,
    "max_resume_run_attempts": 0,
}
EMBEDDED_DAGSTER_YAML = f"""\
# Written by Learning Loop for the embedded default: SQLite storage in this folder.
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: {DEQUEUE_INTERVAL_S}
    tag_concurrency_limits:
      - key: {PLATFORM_TAG}
        value: youtube
        limit: 1

run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  poll_interval_seconds: 60
  max_resume_run_attempts: 0

telemetry:
  enabled: false
"""

# One key for every process of a deployment that opens the instance.
_INSTANCE_LOCK_KEY = zlib.crc32(b"learning_loop:dagster_instance")
LOCK_FILE = ".instance.lock"


def postgres_instance_config(database_url: str) -> dict[str, Any]:
    """The instance of a PostgreSQL deployment without DAGSTER_HOME (`deploy/postgres`)."""
    return {
        "storage": {"postgres": {"postgres_url": _psycopg2_url(database_url)}},
        "run_coordinator": QUEUED_RUN_COORDINATOR,
        "run_monitoring": RUN_MONITORING,
        "compute_logs": {
            "module": "dagster._core.storage.noop_compute_log_manager",
            "class": "NoOpComputeLogManager",
        },
        "telemetry": {"enabled": False},
    }


def _psycopg2_url(url: str) -> str:
    # dagster-postgres speaks psycopg2; a bare postgresql:// would pick another driver.
    parsed = make_url(url)
    # (get_driver_name() would answer psycopg2 for a bare URL too: compare the written name.)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername != "postgresql+psycopg2":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def embedded_home(settings: Settings) -> Path:
    """The embedded instance's folder, with its dagster.yaml written on first use."""
    home = settings.resolved_dagster_home
    home.mkdir(parents=True, exist_ok=True)
    with _file_lock(home):
        config = home / "dagster.yaml"
        if not config.exists():
            config.write_text(EMBEDDED_DAGSTER_YAML)
    return home


def instance_kind(settings: Settings) -> str:
    """`dagster_home`, `postgres` or `embedded`: which of the three rules above applies."""
    if settings.dagster_home is not None:
        return "dagster_home"
    if settings.database_url and make_url(settings.database_url).get_backend_name() == "postgresql":
        return "postgres"
    return "embedded"


def open_instance(settings: Settings) -> DagsterInstance:
    """Open (creating on first use) the Dagster instance of these settings."""
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    kind = instance_kind(settings)
    home = settings.resolved_dagster_home
    if kind == "postgres":
        # The configuration is all in the overrides; the config folder only has to exist and
        # hold no dagster.yaml (this package's own folder).
        ref = InstanceRef.from_dir(
            str(home),
            config_dir=str(Path(__file__).parent),
            overrides=postgres_instance_config(settings.resolved_database_url),
        )
    else:
        if kind == "embedded":
            embedded_home(settings)
        home.mkdir(parents=True, exist_ok=True)
        ref = InstanceRef.from_dir(str(home))
    lock = _advisory_lock(settings) if _on_postgres(ref) else _file_lock(home)
    with lock:
        return DagsterInstance.from_ref(ref)


def _on_postgres(ref: Any) -> bool:
    data = ref.storage_data or ref.run_storage_data
    return data is not None and "postgres" in data.module_name


@contextmanager
def _file_lock(folder: Path) -> Iterator[None]:
    with (folder / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _advisory_lock(settings: Settings) -> Iterator[None]:
    """Serialise instance creation over every process of the deployment.

    The lock is taken on the product database, which all of them share, even when Dagster's
    storage lives in another database of the same server.
    """
    url = settings.resolved_database_url
    if make_url(url).get_backend_name() != "postgresql":
        yield
        return
    engine = create_engine(_psycopg2_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _INSTANCE_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _INSTANCE_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


if __name__ == "__main__":
    # `make dev`: print the embedded instance's folder, creating it as the CLI would.
    from learning_loop.settings import load_settings

    print(embedded_home(load_settings()))
