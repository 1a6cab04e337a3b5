"""The planner tests' local stand-in for an OpenAI-compatible chat-completions server
(`learning_loop_tests.fake_llm`), scripted per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from learning_loop_tests.fake_llm import PROXY_VARIABLES, FakeLLM, fake_llm_server

__all__ = ["API_KEY", "FakeLLM"]

# Kept out of every raised message; the fake server echoes it back to prove redaction works.
API_KEY = "sk-test-9f8e7d6c5b4a-secret"


@pytest.fixture
def llm_server() -> Iterator[FakeLLM]:
    with fake_llm_server() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy from the machine's environment must not sit between the tests and 127.0.0.1.
    for var in PROXY_VARIABLES:
        monkeypatch.delenv(var, raising=False)
