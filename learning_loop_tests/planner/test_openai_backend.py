"""The openai backend against a local chat-completions server: retries, corrections, errors."""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import pytest

from learning_loop.domain.recipe import DEFAULT_RECIPE
from learning_loop.planner import (
    LearningLoopPlanner,
    PlannerBackendError,
    PlannerConfigError,
    PlannerError,
    PlannerTimeoutError,
    PlanValidationError,
    VideoPlan,
    build_template_plan,
)
from learning_loop.planner.openai_backend import OpenAIBackend, parse_plan
from learning_loop_tests.planner.conftest import API_KEY, FakeLLM

IDEA = "A lone samurai walks into a burning village at dawn"
VALID = build_template_plan(IDEA, DEFAULT_RECIPE)


def answer(plan: VideoPlan = VALID) -> str:
    return json.dumps({"scenes": [s.model_dump() for s in plan.scenes]})


def broken_answer() -> str:
    scenes = [s.model_dump() for s in VALID.scenes]
    scenes[0]["narration"] = scenes[0]["narration"].replace("?", ".")
    return json.dumps({"scenes": scenes})


def make_planner(server: FakeLLM, **env: str) -> LearningLoopPlanner:
    settings = {
        "LEARNING_LOOP_LLM_BASE_URL": server.url,
        "LEARNING_LOOP_LLM_API_KEY": API_KEY,
        "LEARNING_LOOP_LLM_MODEL": "test-model",
        "LEARNING_LOOP_LLM_TIMEOUT_S": "5",
        "LEARNING_LOOP_LLM_BACKOFF_S": "0.01",
        **env,
    }
    return LearningLoopPlanner(backend="openai", env=settings)


def plan_with(planner: LearningLoopPlanner) -> VideoPlan:
    return asyncio.run(planner.plan(idea=IDEA, recipe=DEFAULT_RECIPE))


def fails_with(planner: LearningLoopPlanner, error: type[PlannerError]) -> PlannerError:
    with pytest.raises(error) as caught:
        plan_with(planner)
    assert API_KEY not in str(caught.value)
    return caught.value


def test_a_valid_first_answer_is_the_plan(llm_server: FakeLLM) -> None:
    llm_server.script = [("content", answer())]
    plan = plan_with(make_planner(llm_server))
    assert plan.backend == "openai"
    assert plan.scenes == VALID.scenes
    assert plan.idea == IDEA and plan.recipe_hash == DEFAULT_RECIPE.recipe_hash
    [request] = llm_server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {API_KEY}"
    body = request["body"]
    assert body["model"] == "test-model"
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert system["role"] == "system" and '"scenes"' in system["content"]
    assert IDEA in user["content"]
    # The prompt carries the same rules the validator checks, and budgets that satisfy them.
    assert "ends with '?'" in user["content"] and "'...'" in user["content"]
    assert "120 to 160 words per minute" in user["content"]
    assert "scene 1 (hook, 6 s): 12-16 words, 2-3 captions" in user["content"]
    assert "dark dystopian anime" in user["content"]


def test_an_invalid_answer_is_sent_back_with_its_violations(llm_server: FakeLLM) -> None:
    llm_server.script = [("content", broken_answer()), ("content", answer())]
    plan = plan_with(make_planner(llm_server))
    assert plan.scenes == VALID.scenes
    first, second = llm_server.requests
    messages = second["body"]["messages"]
    assert messages[:2] == first["body"]["messages"]
    assert messages[2] == {"role": "assistant", "content": broken_answer()}
    assert messages[3]["role"] == "user"
    assert "hook_question (scene 1)" in messages[3]["content"]
    assert "does not end with '?'" in messages[3]["content"]


def test_an_answer_that_is_not_json_is_a_violation_too(llm_server: FakeLLM) -> None:
    llm_server.script = [("content", "Sure! Here is your plan."), ("content", answer())]
    assert plan_with(make_planner(llm_server)).scenes == VALID.scenes
    assert (
        "schema: the answer is not valid JSON"
        in llm_server.requests[1]["body"]["messages"][3]["content"]
    )


def test_always_invalid_ends_in_a_clear_error(llm_server: FakeLLM) -> None:
    llm_server.script = [("content", broken_answer())]
    error = fails_with(
        make_planner(llm_server, LEARNING_LOOP_LLM_MAX_RETRIES="2"), PlanValidationError
    )
    assert len(llm_server.requests) == 3
    assert isinstance(error, PlanValidationError) and error.attempts == 3
    assert [v.rule for v in error.violations] == ["hook_question"]
    assert str(error).startswith("the openai backend's plan breaks 1 rule(s) after 3 attempt(s)")


def test_server_errors_are_retried(llm_server: FakeLLM) -> None:
    llm_server.script = [("status", 500), ("status", 503), ("content", answer())]
    assert plan_with(make_planner(llm_server)).scenes == VALID.scenes
    assert len(llm_server.requests) == 3


def test_server_errors_that_persist_end_in_a_clear_error(
    llm_server: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    llm_server.script = [("status", 502, {"error": f"bad gateway for key {API_KEY}"})]
    with caplog.at_level(logging.DEBUG):
        error = fails_with(
            make_planner(llm_server, LEARNING_LOOP_LLM_HTTP_RETRIES="2"), PlannerBackendError
        )
    assert len(llm_server.requests) == 3
    assert "HTTP 502" in str(error) and "gave up after 3 tries" in str(error)
    assert "***" in str(error)  # the server quoted the key; the message does not
    assert caplog.records and all(API_KEY not in r.getMessage() for r in caplog.records)


def test_a_retry_waits_at_least_the_servers_retry_after(
    llm_server: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """The backoff (0.01 s here) gives way to a longer Retry-After, as the log line says."""
    llm_server.script = [("status", 429, {"error": "slow down"}, {"Retry-After": "0.3"})]
    llm_server.script.append(("content", answer()))
    with caplog.at_level(logging.INFO):
        assert plan_with(make_planner(llm_server)).scenes == VALID.scenes
    assert len(llm_server.requests) == 2
    (line,) = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert "HTTP 429" in line and "retrying in 0.30 s (try 1 of 4)" in line


def test_a_refused_key_is_not_retried(llm_server: FakeLLM) -> None:
    llm_server.script = [("status", 401, {"error": f"invalid api key {API_KEY}"})]
    error = fails_with(make_planner(llm_server), PlannerBackendError)
    assert len(llm_server.requests) == 1
    assert "HTTP 401" in str(error) and "LEARNING_LOOP_LLM_API_KEY" in str(error)


def test_a_hang_times_out(llm_server: FakeLLM) -> None:
    llm_server.script = [("hang",)]
    planner = make_planner(
        llm_server, LEARNING_LOOP_LLM_TIMEOUT_S="0.2", LEARNING_LOOP_LLM_HTTP_RETRIES="1"
    )
    # A hang answers nothing (the fake drops the connection only after 10 s): a missing
    # timeout would end in another error, and each timed-out try is one request.
    error = fails_with(planner, PlannerTimeoutError)
    assert len(llm_server.requests) == 2
    assert "timed out after 0.2 s" in str(error) and "gave up after 2 tries" in str(error)


def test_a_hang_then_an_answer_succeeds(llm_server: FakeLLM) -> None:
    llm_server.script = [("hang",), ("content", answer())]
    planner = make_planner(llm_server, LEARNING_LOOP_LLM_TIMEOUT_S="0.2")
    assert plan_with(planner).scenes == VALID.scenes


def test_an_unreachable_endpoint_is_a_clear_error() -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = FakeLLM(url=f"http://127.0.0.1:{port}/v1")
    error = fails_with(
        make_planner(server, LEARNING_LOOP_LLM_HTTP_RETRIES="1"), PlannerBackendError
    )
    assert "could not be reached" in str(error)
    assert f"http://127.0.0.1:{port}/v1/chat/completions" in str(error)
    assert API_KEY not in str(error)


def test_a_base_url_holding_credentials_is_refused() -> None:
    """Issue #30, finding 7: they would travel in every request and land in errors."""
    server = FakeLLM(url=f"http://user:{API_KEY}@127.0.0.1:9/v1")
    with pytest.raises(PlannerConfigError, match="must not hold credentials") as info:
        make_planner(server)
    assert API_KEY not in str(info.value)


def test_settings_are_read_from_the_environment_at_construction(
    llm_server: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEARNING_LOOP_LLM_BASE_URL", llm_server.url + "/")
    monkeypatch.setenv("LEARNING_LOOP_LLM_API_KEY", API_KEY)
    monkeypatch.setenv("LEARNING_LOOP_LLM_MODEL", "env-model")
    monkeypatch.delenv("LEARNING_LOOP_LLM_TIMEOUT_S", raising=False)
    backend = OpenAIBackend()
    assert backend.settings.base_url == llm_server.url
    assert backend.settings.timeout_s == 30 and backend.settings.max_retries == 2
    assert API_KEY not in repr(backend.settings)
    llm_server.script = [("content", answer())]
    planner = LearningLoopPlanner(backend="openai", backoff_s=0)
    monkeypatch.setenv("LEARNING_LOOP_LLM_MODEL", "changed-later")
    plan_with(planner)
    assert llm_server.requests[0]["body"]["model"] == "env-model"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LEARNING_LOOP_LLM_BASE_URL": ""}, "needs LEARNING_LOOP_LLM_BASE_URL"),
        ({"LEARNING_LOOP_LLM_BASE_URL": "ftp://x"}, "must be an http(s) URL"),
        ({"LEARNING_LOOP_LLM_MODEL": " "}, "needs LEARNING_LOOP_LLM_MODEL"),
        ({"LEARNING_LOOP_LLM_TIMEOUT_S": "soon"}, "LEARNING_LOOP_LLM_TIMEOUT_S must be a number"),
        ({"LEARNING_LOOP_LLM_MAX_RETRIES": "1.5"}, "MAX_RETRIES must be a whole number"),
        ({"LEARNING_LOOP_LLM_HTTP_RETRIES": "-1"}, "HTTP_RETRIES must be a whole number"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    base = {
        "LEARNING_LOOP_LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "LEARNING_LOOP_LLM_API_KEY": API_KEY,
        "LEARNING_LOOP_LLM_MODEL": "m",
    }
    with pytest.raises(PlannerConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        LearningLoopPlanner(backend="openai", env={**base, **env})


def test_unknown_options_are_refused() -> None:
    with pytest.raises(PlannerConfigError, match="unknown option"):
        LearningLoopPlanner(backend="openai", env={}, temperature=0.2)


def test_parse_plan_reports_malformed_scenes_by_scene() -> None:
    scenes = [s.model_dump() for s in VALID.scenes]
    del scenes[2]["narration"]
    scenes[4]["duration_s"] = "long"
    plan, violations = parse_plan(
        "```json\n" + json.dumps({"scenes": scenes}) + "\n```", IDEA, DEFAULT_RECIPE, 45
    )
    assert plan is None
    assert [(v.rule, v.scene) for v in violations] == [("schema", 3), ("schema", 5)]
    assert "narration: Field required" in violations[0].message
    _, violations = parse_plan('{"plan": []}', IDEA, DEFAULT_RECIPE, 45)
    assert [str(v) for v in violations] == ['schema: the answer has no "scenes" list']
