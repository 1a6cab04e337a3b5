"""Reading an import file a chunk at a time: CSV with a header, or JSONL, each row with its line.

A file is read in blocks, so one larger than memory is fine; what is held at once is one chunk
of rows. The format is told by the first non-blank character (`{` means JSONL). A CSV chunk
keeps its records as lists of strings (`CsvChunk`), which the column checks take whole; a JSONL
chunk holds the parsed objects (`RowChunk`). Problems of the file's form (a record with the
wrong number of cells, a line that is not a JSON object) are collected while reading and
raised by `raise_form_errors` once the file is read: they reject the file before any row is
judged, as when the whole file was read first.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from learning_loop.errors import InvalidFile, InvalidInput, RowError

# The longest line a file may hold: a row is far shorter; a file without line breaks is not
# read whole into memory.
MAX_LINE_CHARS = 1 << 20
CHUNK_ROWS = 50_000
# A chunk also ends once this much text was read for it: long rows make fewer rows a chunk.
CHUNK_CHARS = 16 << 20
BLOCK_BYTES = 1 << 20

# Told after each chunk of a file: rows read so far, bytes read so far, the file's size.
Progress = Callable[[int, int, int], None]


@dataclass
class CsvChunk:
    """Records of a CSV file, each as long as the header, with the line each starts on."""

    header: list[str]
    records: list[list[str]]
    lines: list[int]

    def __len__(self) -> int:
        return len(self.records)

    def cells(self, name: str) -> list[str]:
        """Column `name`'s cells (its last occurrence in the header, as `rows` reads it)."""
        index = len(self.header) - 1 - self.header[::-1].index(name)
        return [record[index] for record in self.records]

    def rows(self) -> list[tuple[int, dict[str, Any]]]:
        """The records as (line, {column: cell}), blank records left out (as the row checks
        expect them)."""
        header = self.header
        return [
            (line, dict(zip(header, record, strict=True)))
            for line, record in zip(self.lines, self.records, strict=True)
            if any(cell.strip() for cell in record)
        ]


@dataclass
class RowChunk:
    """Rows given as objects (a JSONL file, an API request's body), each with its line."""

    items: list[tuple[int, Mapping[str, Any]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def rows(self) -> list[tuple[int, Mapping[str, Any]]]:
        return self.items


Chunk = CsvChunk | RowChunk


def row_chunks(
    rows: Iterable[tuple[int, Mapping[str, Any]]], size: int = CHUNK_ROWS
) -> Iterator[RowChunk]:
    """Rows already in memory (an API request's body) in chunks."""
    chunk = RowChunk()
    for item in rows:
        chunk.items.append(item)
        if len(chunk.items) >= size:
            yield chunk
            chunk = RowChunk()
    if chunk.items:
        yield chunk


def short(text: str, limit: int = 80) -> str:
    """A value quoted in a message, cut to `limit` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RowFile:
    """The rows of a file at `path`, in chunks of at most `chunk_rows` rows and about
    CHUNK_CHARS characters, so memory is bounded by the chunk whatever the file's shape.

    `bytes_read` and `size` tell how far the reading has come (for a progress bar).
    """

    def __init__(
        self, path: str | Path, required: Iterable[str], chunk_rows: int = CHUNK_ROWS
    ) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.required = list(required)
        self.chunk_rows = chunk_rows
        if not self.path.is_file():
            raise InvalidInput(f"file not found: {self.name}", "file")
        self.size = self.path.stat().st_size
        self.bytes_read = 0
        self.form_errors: list[RowError] = []
        self._chars = 0  # text handed to the parser since the last chunk

    # Blocks of text ---------------------------------------------------------------------

    def _blocks(self, raw: IO[bytes]) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        while True:
            data = raw.read(BLOCK_BYTES)
            self.bytes_read += len(data)
            try:
                text = decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise InvalidInput(
                    f"file {self.name} is not UTF-8 text ({exc.reason})", "file"
                ) from None
            if "\x00" in text:
                raise InvalidInput(f"{self.name} is not a text file", "file")
            if text:
                yield text
            if not data:
                return

    def _lines(self, blocks: Iterator[str], first: str) -> Iterator[list[str]]:
        """Lists of whole lines (with their ends), a block's worth at a time. Lines end at CR,
        LF or CRLF only (as `open(newline="")` reads them), whatever else a cell holds."""
        rest = first
        done = 0  # lines yielded so far
        for block in blocks:
            rest += block
            # A CR that ends the text may be the first half of a CRLF: it waits for the next.
            end = len(rest) - 1 if rest.endswith("\r") else len(rest)
            cut = max(rest.rfind("\n", 0, end), rest.rfind("\r", 0, end))
            if cut < 0:
                self._bounded(rest, done)
                continue
            part = io.StringIO(rest[: cut + 1], newline="").readlines()
            if max(map(len, part)) > MAX_LINE_CHARS:  # one pass in C; the line found after
                for i, line in enumerate(part):
                    self._bounded(line, done + i)
            done += len(part)
            self._chars += cut + 1
            yield part
            rest = rest[cut + 1 :]
            self._bounded(rest, done)
        if rest:
            yield io.StringIO(rest, newline="").readlines()

    def _bounded(self, line: str, before: int) -> None:
        """A line (or the start of one) longer than MAX_LINE_CHARS refuses the file: memory
        stays bounded by the chunk size whatever the file's shape (issue #30)."""
        if len(line) > MAX_LINE_CHARS:
            raise InvalidInput(
                f"{self.name}: line {before + 1} is longer than {MAX_LINE_CHARS:,} characters, "
                "the limit of one row (is the file missing its line breaks?)",
                "file",
            )

    # Chunks ----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Chunk]:
        with self.path.open("rb") as raw:
            blocks = self._blocks(raw)
            first = ""
            for block in blocks:
                first += block
                if first.strip():
                    break
            if not first.strip():
                raise InvalidInput(f"{self.name} is empty", "file")
            lines = (line for part in self._lines(blocks, first) for line in part)
            if first.lstrip().startswith("{"):
                yield from self._jsonl(lines)
            else:
                yield from self._csv(lines)

    def _jsonl(self, lines: Iterator[str]) -> Iterator[RowChunk]:
        chunk = RowChunk()
        for line_no, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                self.form_errors.append(RowError(line_no, f"not valid JSON ({exc.msg})"))
                continue
            except RecursionError:
                self.form_errors.append(RowError(line_no, "not valid JSON (nested too deeply)"))
                continue
            except ValueError as exc:  # e.g. an integer of more digits than Python reads
                self.form_errors.append(RowError(line_no, f"not valid JSON ({short(str(exc))})"))
                continue
            if not isinstance(value, dict):
                self.form_errors.append(RowError(line_no, "a JSONL line must be a JSON object"))
                continue
            chunk.items.append((line_no, value))
            if len(chunk.items) >= self.chunk_rows or self._chars > CHUNK_CHARS:
                self._chars = 0
                yield chunk
                chunk = RowChunk()
        if chunk.items:
            yield chunk

    def _csv(self, lines: Iterator[str]) -> Iterator[CsvChunk]:
        reader = csv.reader(lines)
        try:
            header = [h.strip() for h in next(reader)]
        except (StopIteration, csv.Error) as exc:
            raise InvalidInput(f"{self.name}: unreadable CSV header ({exc})", "file") from None
        missing = [c for c in self.required if c not in header]
        if missing:
            raise InvalidInput(
                f"{self.name}: the CSV header lacks column(s) {', '.join(missing)}", "file"
            )
        width = len(header)
        records: list[list[str]] = []
        numbers: list[int] = []
        start = reader.line_num + 1
        try:
            for record in reader:
                line_no, start = start, reader.line_num + 1
                if len(record) != width:
                    if any(cell.strip() for cell in record):
                        self.form_errors.append(
                            RowError(line_no, f"has {len(record)} cells, the header has {width}")
                        )
                    continue
                records.append(record)
                numbers.append(line_no)
                if len(records) >= self.chunk_rows or self._chars > CHUNK_CHARS:
                    self._chars = 0
                    yield CsvChunk(header, records, numbers)
                    records, numbers = [], []
        except csv.Error as exc:
            raise InvalidInput(
                f"{self.name}: unreadable CSV near line {start} ({exc})", "file"
            ) from None
        if records:
            yield CsvChunk(header, records, numbers)

    def raise_form_errors(self) -> None:
        """After reading: the file's form problems, if any, reject it (listing each line)."""
        if self.form_errors:
            raise InvalidFile(self.name, self.form_errors, "file")


def read_rows(path: str | Path, required: Iterable[str]) -> list[tuple[int, dict[str, Any]]]:
    """Every row of a (small) file at once, blank records left out."""
    source = RowFile(path, required)
    rows: list[tuple[int, dict[str, Any]]] = []
    for chunk in source:
        rows.extend((line, dict(row)) for line, row in chunk.rows())
    source.raise_form_errors()
    return rows
