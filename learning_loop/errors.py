"""The expected failures, raised by the services and the settings: the CLI turns them into one
line, the API into a 4xx. Below every layer, so any module may raise them."""

from __future__ import annotations

import re
from dataclasses import dataclass


class LearningLoopError(Exception):
    """Base of every expected failure: a message a person can act on, and the field at fault."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(LearningLoopError):
    status_code = 422


class NotFound(LearningLoopError):
    status_code = 404


class Conflict(LearningLoopError):
    status_code = 409


class Unavailable(LearningLoopError):
    """A service the loop depends on (a video platform) did not answer; try again later."""

    status_code = 503


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class InvalidFile(InvalidInput):
    """A file or a list of rows with at least one bad row: nothing of it was written."""

    def __init__(self, what: str, errors: list[RowError], field: str | None = None) -> None:
        shown = "; ".join(str(e) for e in errors[:20])
        more = f"; and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(
            f"{what} rejected, {len(errors)} invalid row(s), nothing written: {shown}{more}",
            field,
        )
        self.errors = errors


# What a credential looks like in free text: an Authorization value, a URL's user part, a
# key-like parameter or field, and the shapes of the providers' keys and tokens.
_REDACTED = "[redacted]"
_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), rf"\1 {_REDACTED}"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]*:[^/\s@]*@"), rf"\1{_REDACTED}@"),
    (
        re.compile(
            r"(?i)((?:api[-_]?key|access[-_]?token|refresh[-_]?token|client[-_]?secret|"
            r"password|secret|authorization|token)[\"']?\s*[:=]\s*[\"']?)[^\"'\s&,;}]{4,}"
        ),
        rf"\1{_REDACTED}",
    ),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"), _REDACTED),
    (re.compile(r"\bya29\.[A-Za-z0-9._-]+"), _REDACTED),
    (re.compile(r"\b1//[A-Za-z0-9_-]{16,}"), _REDACTED),
)


def scrub(text: str) -> str:
    """`text` with anything that looks like a credential replaced by "[redacted]": for error
    messages that are stored or shown (issue #30: an endpoint may echo what it was sent)."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
