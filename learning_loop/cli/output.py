"""Printing for people (Rich tables) and for machines (`--json`), and one-line errors.

Rich and pydantic are imported when something is printed, not when the CLI starts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import typer

if TYPE_CHECKING:
    from pydantic import BaseModel


def jsonable(data: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list | tuple):
        return [jsonable(d) for d in data]
    if isinstance(data, dict):
        return {k: jsonable(v) for k, v in data.items()}
    return data


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(data), indent=2, ensure_ascii=False) + "\n")


# A command's text for people: lines to echo, or a function that prints them (with tables).
Text = Sequence[str] | Callable[[], None]


class Shown(NamedTuple):
    """What a command prints: one JSON document with `--json`, its text otherwise."""

    document: Any
    text: Text


def show(json_: bool, document: Any, text: Text) -> None:
    """Print `document` as JSON (`--json`), or `text` for people."""
    if json_:
        print_json(document)
    elif callable(text):
        text()
    else:
        for line in text:
            typer.echo(line)


def noted(note: str | None) -> list[str]:
    """The line of a note (why queued work will wait), when there is one."""
    return [f"note: {note}"] if note else []


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(fmt(v) for v in row))
    Console(width=max(160, Console().width)).print(table)


def print_fields(title: str, data: BaseModel | dict[str, Any]) -> None:
    items = data if isinstance(data, dict) else data.model_dump(mode="json")
    print_table(title, ["field", "value"], [(k, _short(v)) for k, v in items.items()])


def _short(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def error_line(message: str) -> None:
    # Typer reads option values with pydantic, whose messages start a validator's own words
    # with "Value error, ": the person reading wants the words.
    text = " ".join(str(message).split()).replace("Value error, ", "")
    sys.stderr.write(f"error: {text}\n")
