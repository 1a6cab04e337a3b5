"""Topic normalisation, hashing and cleaning (contract §5)."""

import hashlib

import pytest

from learning_loop.domain.topics import InvalidTopic, clean_topic, normalize_topic, topic_hash


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("  Ｈello\tWORLD ", "hello world"),
        ("Straße", "strasse"),
        ("a\u00a0\u3000b\n\n c", "a b c"),
        ("ﬁle", "file"),
        ("already normal", "already normal"),
    ],
)
def test_normalize_topic(raw: str, normalized: str) -> None:
    assert normalize_topic(raw) == normalized


def test_topic_hash_is_sha256_of_normalized_text() -> None:
    expected = hashlib.sha256(b"hello world").hexdigest()
    assert topic_hash("  Ｈello\tWORLD ") == expected
    assert topic_hash("hello world") == expected
    assert topic_hash("hello  world!") != expected


@pytest.mark.parametrize("empty", ["", "   ", "\t\n", "\u3000"])
def test_empty_topic_rejected(empty: str) -> None:
    with pytest.raises(InvalidTopic):
        topic_hash(empty)
    with pytest.raises(InvalidTopic):
        clean_topic(empty)


def test_clean_topic_keeps_text_but_strips() -> None:
    assert clean_topic("  Why  Cats\tPurr ") == "Why  Cats\tPurr"
    assert clean_topic("x" * 500) == "x" * 500


@pytest.mark.parametrize("bad", ["x" * 501, "bell\x07", "nul\x00byte", "esc\x1b[0m"])
def test_clean_topic_rejects_bad_text(bad: str) -> None:
    with pytest.raises(InvalidTopic):
        clean_topic(bad)
