"""`shorts-engine learn video-plans`, `learn replan` and the plan state in `learn videos` and
`learn stats`: real Dagster runs in the instance of LEARNING_LOOP_HOME, against the fake
chat-completions server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from learning_loop_tests.fake_llm import FakeLLM, fake_llm_settings


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    with fake_llm_settings(
        monkeypatch, LLM_HTTP_RETRIES="0", LLM_MAX_RETRIES="0", PLAN_MAX_ATTEMPTS="1"
    ) as fake:
        yield fake


def test_a_batch_planned_with_openai_gets_its_plans_from_video_plans(cli, cli_env, llm):
    pid = cli("projects", "create", "--name", "llm", "--planner-backend", "openai").out.strip()
    shown = json.loads(cli("projects", "show", "--project", pid, "--json").out)
    assert shown["planner_backend"] == "openai"
    topics = Path(cli_env["LEARNING_LOOP_HOME"]).parent / "topics.txt"
    topics.write_text("Dawn raid\nThe silent forge\nA lantern in the fog\n")
    planned = cli(
        "learn", "plan-next", "--project", pid, "--topics-file", topics, "--count", "3",
        "--seed", "4", "--wait", "--json",
    )  # fmt: skip
    assert planned.code == 0, planned.err
    jobs = json.loads(planned.out)["jobs"]
    assert [(j["plan_status"], j["plan"]) for j in jobs] == [("pending", None)] * 3
    assert llm.requests == []
    listed = json.loads(cli("learn", "videos", "--project", pid, "--json").out)
    assert [(v["plan_status"], v["plan_error"]) for v in listed] == [("pending", None)] * 3

    made = cli("learn", "video-plans", "--project", pid)
    assert made.code == 0, made.err
    assert "3 plan(s) made, 0 failed" in made.out
    assert len(llm.requests) == 3

    table = cli("learn", "videos", "--project", pid).out
    assert table.count("ready") == 3
    ready = json.loads(
        cli("learn", "videos", "--project", pid, "--plan-status", "ready", "--plans", "--json").out
    )
    assert len(ready) == 3
    for video in ready:
        assert video["plan"]["backend"] == "openai"
        assert len(video["plan"]["scenes"]) == video["recipe"]["scene_count"]

    # One job sent back for a fresh plan, which the model now refuses to make.
    llm.script = [("invalid",)]
    job = jobs[0]["id"]
    again = cli("learn", "replan", "--job", job, "--json")
    assert again.code == 0, again.err
    answer = json.loads(again.out)
    assert answer["job"]["plan_status"] == "failed"
    assert "breaks" in answer["job"]["plan_error"]
    assert answer["job"]["plan"] is None
    stats = json.loads(cli("learn", "stats", "--project", pid, "--json").out)
    assert (stats["plans_failed"], stats["plans_pending"]) == (1, 0)
    table = cli("learn", "videos", "--project", pid).out  # a narrow cell wraps the error
    assert table.count("failed:") == 1 and table.count("ready") == 2

    # With LEARNING_LOOP_PLAN_MAX_ATTEMPTS=1 it stays failed: the next run has nothing to do.
    rest = json.loads(cli("learn", "video-plans", "--project", pid, "--json").out)
    assert (rest["jobs"], rest["plans_made"], rest["plans_failed"]) == (0, 0, 0)


def test_bad_video_plans_input_is_one_error_line(cli, cli_env):
    pid = cli("projects", "create", "--name", "plain").out.strip()
    bad = cli("learn", "video-plans", "--project", pid, "--concurrency", "0")
    assert bad.code != 0 and "concurrency" in bad.err and "Traceback" not in bad.err
    missing = cli("learn", "replan", "--job", "7b0c9a62-5f39-4d55-8a39-2d2f4a0c6a10")
    assert missing.code != 0 and "no video job" in missing.err
