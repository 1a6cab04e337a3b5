"""`learn plan-video` through a small Typer app (the preset options need no database)."""

from __future__ import annotations

import json
import uuid

import pytest
import typer
from typer.testing import CliRunner

from learning_loop.cli.plan_video import plan_video
from learning_loop.domain.recipe import DEFAULT_RECIPE, Recipe
from learning_loop.errors import InvalidInput

IDEA = "A lone samurai walks into a burning village at dawn"

app = typer.Typer()
app.command("plan-video")(plan_video)


@app.command("other")
def _other() -> None:
    """Makes the app a group, so the command is called by name as under `learn`."""


runner = CliRunner()


def run(*args: str):  # noqa: ANN201
    return runner.invoke(app, ["plan-video", "--idea", IDEA, *args])


def test_default_recipe_as_json() -> None:
    result = run("--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["recipe"] == DEFAULT_RECIPE.to_dict()
    assert plan["recipe_hash"] == DEFAULT_RECIPE.recipe_hash
    assert len(plan["scenes"]) == 7 and plan["backend"] == "template"


def test_recipe_options_and_table() -> None:
    result = run(
        "--preset", "VIBRANT_MOTION_GRAPHICS",
        "--hook-type", "visual",
        "--scene-count", "5",
        "--narration-wpm-bucket", "fast",
        "--caption-density-bucket", "dense",
        "--ending-type", "loop",
        "--target-duration", "30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    recipe = Recipe("VIBRANT_MOTION_GRAPHICS", "visual", 5, "fast", "dense", "loop")
    assert recipe.recipe_hash[:12] in result.stdout
    assert "30 s of 30 s" in result.stdout and "ending" in result.stdout


@pytest.mark.parametrize(
    ("args", "field", "text"),
    [
        (["--scene-count", "11"], "scene_count", "scene_count must be"),
        (["--hook-type", "shout"], "hook_type", "hook_type must be one of"),
        (["--recipe-hash", "abcdef12"], "project", "--project is missing"),
        (
            ["--project", str(uuid.uuid4()), "--recipe-hash", "ab12cd34", "--preset", "X"],
            "recipe_hash",
            "not both",
        ),
        (["--backend", "gpt"], "backend", "backend must be one of"),
        (["--target-duration", "10"], "target_duration", "target duration must be"),
    ],
)
def test_bad_input_is_an_invalid_input_error(args: list[str], field: str, text: str) -> None:
    result = run(*args)
    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidInput), result.exception
    assert result.exception.field == field and text in result.exception.message


def test_a_planner_failure_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LEARNING_LOOP_LLM_BASE_URL", "LEARNING_LOOP_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)
    result = run("--backend", "openai")
    assert isinstance(result.exception, InvalidInput)
    assert "LEARNING_LOOP_LLM_BASE_URL" in result.exception.message
