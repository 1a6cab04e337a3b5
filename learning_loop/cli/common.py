"""What the commands share: the database the settings point at, and common options."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from learning_loop.cli.output import Shown, noted, show
from learning_loop.errors import InvalidInput, LearningLoopError
from learning_loop.services.rows import timestamp_input
from learning_loop.services.run_metadata import RunMetadata, text

if TYPE_CHECKING:
    # Imported by the commands that use them (see `database`, `launcher`), not at start:
    # `--help` and the commands that need no database load neither SQLAlchemy nor Dagster.
    from learning_loop.db.engine import Database
    from learning_loop.launch import DagsterRuns
    from learning_loop.services.row_files import RowFile
    from learning_loop.services.runs import RunInfo, RunSpec
    from learning_loop.settings import Settings


def parse_date(value: str) -> dt.date:
    """A date option (`--as-of`): YYYY-MM-DD, or a usage error naming the option."""
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"must be a date YYYY-MM-DD, got {value[:40]!r}") from None


def parse_timestamp(value: str) -> dt.datetime:
    """A timestamp option (`--published-at`): ISO 8601, UTC when it has no offset."""
    try:
        return timestamp_input(value, "published_at")
    except InvalidInput as exc:
        raise typer.BadParameter(exc.message) from None


def parse_project(value: str) -> uuid.UUID:
    """A project option: its name, its id, or a unique start or end of its id (looked up)."""
    from learning_loop.services.refs import resolve_project

    try:
        return resolve_project(database(), value)
    except LearningLoopError as exc:
        raise typer.BadParameter(exc.message) from None


_PROJECT_OPTION = typer.Option(
    "--project",
    parser=parse_project,
    metavar="PROJECT",
    help="The project: its name, its id, or a unique start or end of its id.",
)
ProjectOpt = Annotated[uuid.UUID, _PROJECT_OPTION]
# An optional project (a filter, or a choice some commands need only with other options).
MaybeProjectOpt = Annotated[uuid.UUID | None, _PROJECT_OPTION]


def parse_id_ref(value: str) -> str:
    """An id option the command looks up (`services.refs`): checked for its form here."""
    from learning_loop.domain.refs import parse_ref

    try:
        parse_ref(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


# Looked up by the command (`refs.resolve_job`), within its project when it has one.
JobOpt = Annotated[
    str,
    typer.Option(
        "--job",
        parser=parse_id_ref,
        metavar="JOB",
        help="The video job: its id, or a unique start or end of it.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
FileOpt = Annotated[Path, typer.Option("--file", help="CSV with header, or JSONL.")]
CountOpt = Annotated[int, typer.Option("--count", help="Batch size, 1..100.")]
TopicsFileOpt = Annotated[Path | None, typer.Option("--topics-file", help="One topic per line.")]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed",
        help="Seed of the sampler's RNG; default: derived from the project and its number of "
        "batches, so a preview and the plan after it agree.",
    ),
]
AsOfOpt = Annotated[
    dt.date | None,
    typer.Option(
        "--as-of",
        parser=parse_date,
        metavar="YYYY-MM-DD",
        help="Evaluation date YYYY-MM-DD, 2015-01-01 through tomorrow (default: today, UTC).",
    ),
]
NoWaitOpt = Annotated[
    bool,
    typer.Option(
        "--no-wait",
        help="Submit the run to the Dagster instance and return; the daemon starts it.",
    ),
]


class RunFailed(LearningLoopError):
    """A Dagster run the command started did not succeed."""


def run_failed(info: RunInfo) -> None:
    """One line, and a non-zero exit, for a run that did not succeed."""
    if not info.success:
        raise RunFailed(f"run {info.run_id} of {info.job_name} failed: {info.error}")


def run_job(
    spec: RunSpec,
    json_: bool,
    shown: Callable[[RunInfo], Shown],
    *,
    no_wait: bool = False,
    queued: str = "",
) -> None:
    """What every command that starts a run does. With `no_wait`, submit the run to the
    instance and print it (`queued` says what it is for). Otherwise run it here and wait, end
    the command if the run failed, and print what `shown` makes of the run: its JSON document
    with `--json`, its text otherwise."""
    if no_wait:
        info = launcher().submit(spec)
        line = f"run {info.run_id} {info.status}: {info.job_name} {queued}"
        show(json_, info, [line, *noted(info.note)])
        return
    info = launcher().run(spec)
    run_failed(info)
    show(json_, *shown(info))


def with_metadata(info: RunInfo) -> dict[str, Any]:
    """A run and the metadata its asset recorded, in one flat JSON document."""
    return {**info.model_dump(mode="json", exclude={"metadata"}), **(info.metadata or {})}


def run_errors(metadata: RunMetadata, key: StrEnum) -> list[str]:
    """The errors a run's asset recorded under `key` (a Markdown list), when it recorded any."""
    errors = text(metadata, key)
    return [errors] if errors else []


def check_limit(limit: int) -> int:
    """A listing's `--limit`, 1..1000."""
    if not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be within 1..1000, got {limit}", "limit")
    return limit


@lru_cache(maxsize=1)
def settings() -> Settings:
    from learning_loop.settings import load_settings

    return load_settings()


@lru_cache(maxsize=1)
def database() -> Database:
    from learning_loop.services.context import open_database

    return open_database(settings())


@lru_cache(maxsize=1)
def launcher() -> DagsterRuns:
    """The runs of this deployment's Dagster instance (opened on first use)."""
    from learning_loop.launch import DagsterRuns

    return DagsterRuns(settings())


def reset() -> None:
    """Forget the open database (tests change the environment between invocations)."""
    if database.cache_info().currsize:
        database().dispose()
    if launcher.cache_info().currsize:
        launcher().close()
    database.cache_clear()
    launcher.cache_clear()
    settings.cache_clear()


def row_file(path: Path, columns: Iterable[str]) -> RowFile:
    """The rows of an import file, read a chunk at a time as the import goes."""
    from learning_loop.services.row_files import RowFile

    return RowFile(path, columns)


def read_lines(path: Path, field: str) -> list[str]:
    """The lines of a UTF-8 text file (topics, one per line), blank lines and lines starting
    with `#` (comments) left out."""
    label = field.replace("_", " ")
    if not path.is_file():
        raise InvalidInput(f"{label} not found: {path.name}", field)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{label} {path.name} is not UTF-8 text", field) from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]
