"""The product database as a Dagster resource (its URL is resolved when a run starts)."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource, RetryRequested
from pydantic import PrivateAttr
from sqlalchemy.exc import DBAPIError, OperationalError

from learning_loop.db.engine import Database
from learning_loop.services.context import open_database
from learning_loop.settings import Settings, load_settings

_OPEN: dict[str, Database] = {}


def shared_database(settings: Settings) -> Database:
    """One engine per URL and process: runs, sensor ticks and schedules share its pool."""
    url = settings.resolved_database_url
    if url not in _OPEN:
        _OPEN[url] = open_database(settings)
    return _OPEN[url]


# The settings of the launchers of this process, by key. An in-process run (`DagsterRuns.run`)
# names its launcher's settings by key, never by value: Dagster stores a resource's values in
# the job's snapshot, where anyone reaching the UI could read them, and a database URL may hold
# a password (contract §12, "Where the secret lives").
_LAUNCHER_SETTINGS: dict[str, Settings] = {}


def register_settings(settings: Settings) -> str:
    """A key that names `settings` to the runs this process executes."""
    key = uuid.uuid4().hex
    _LAUNCHER_SETTINGS[key] = settings
    return key


def forget_settings(key: str) -> None:
    _LAUNCHER_SETTINGS.pop(key, None)


class LearningLoopDatabase(ConfigurableResource):  # type: ignore[type-arg]
    """The product tables. Empty fields fall back to the environment (contract §9) at run time.

    `settings_key` names the settings of the launcher that runs a job in its own process
    (`register_settings`); `database_url` and `home` are for tests and benchmarks, whose URLs
    hold no secret.
    """

    database_url: str | None = None
    home: str | None = None
    settings_key: str | None = None

    _db: Database | None = PrivateAttr(default=None)

    def settings(self) -> Settings:
        if self.settings_key is not None:
            found = _LAUNCHER_SETTINGS.get(self.settings_key)
            if found is None:
                raise RuntimeError(
                    "this run was started in-process by a launcher of another process; "
                    "run it again from the CLI or the UI"
                )
            return found
        base = load_settings()
        updates: dict[str, object] = {}
        if self.database_url:
            updates["database_url"] = self.database_url
        if self.home:
            updates["home"] = Path(self.home)
        return base.model_copy(update=updates)

    def database(self) -> Database:
        if self._db is None:
            self._db = shared_database(self.settings())
        return self._db


@contextmanager
def retry_transient_errors(max_retries: int = 2, seconds: float = 2.0) -> Iterator[None]:
    """Ask Dagster to run the step again after a transient database error, and only then.

    A lost connection or a lock timeout may pass; a bug or bad data would only fail again, so
    it fails at once.
    """
    try:
        yield
    except OperationalError as exc:
        raise RetryRequested(max_retries=max_retries, seconds_to_wait=seconds) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise RetryRequested(max_retries=max_retries, seconds_to_wait=seconds) from exc
        raise
