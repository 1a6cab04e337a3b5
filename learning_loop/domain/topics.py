"""Topic normalisation and hashing for duplicate prevention (contract §5)."""

from __future__ import annotations

import hashlib
import unicodedata

TOPIC_MAX_LENGTH = 500


class InvalidTopic(ValueError):
    """A topic that is empty, too long or holds control characters."""


def normalize_topic(topic: str) -> str:
    """NFKC, casefold, whitespace runs collapsed to one space, stripped."""
    if not isinstance(topic, str):
        raise InvalidTopic(f"topic must be a string; got {type(topic).__name__}")
    # str.split() without arguments splits on every Unicode whitespace run and drops the ends.
    return " ".join(unicodedata.normalize("NFKC", topic).casefold().split())


def topic_hash(topic: str) -> str:
    """Lowercase hex SHA-256 of the normalised topic."""
    normalized = normalize_topic(topic)
    if not normalized:
        raise InvalidTopic("topic must not be empty")
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def clean_topic(topic: str) -> str:
    """The topic as stored and displayed: the given text stripped, after validating it."""
    if not isinstance(topic, str):
        raise InvalidTopic(f"topic must be a string; got {type(topic).__name__}")
    text = topic.strip()
    if not text or not normalize_topic(text):
        raise InvalidTopic("topic must not be empty")
    if len(text) > TOPIC_MAX_LENGTH:
        raise InvalidTopic(f"topic must be at most {TOPIC_MAX_LENGTH} characters; got {len(text)}")
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc" and not char.isspace():
            raise InvalidTopic(f"topic must not contain control character U+{ord(char):04X}")
        if category == "Cs":
            raise InvalidTopic(f"topic must not contain a lone surrogate U+{ord(char):04X}")
    return text
