"""LearningLoopPlanner, the library entry point of contract §8."""

from __future__ import annotations

import asyncio
import json

import pytest

from learning_loop.domain.recipe import DEFAULT_RECIPE
from learning_loop.planner import (
    LearningLoopPlanner,
    PlannerConfigError,
    PlanRequestError,
    PlanValidationError,
    VideoPlan,
)

IDEA = "A lone samurai walks into a burning village at dawn"


def test_the_documented_call_returns_a_validated_plan() -> None:
    from learning_loop import LearningLoopPlanner as Exported
    from learning_loop import Recipe

    recipe = Recipe(
        preset="DARK_DYSTOPIAN_ANIME",
        hook_type="question",
        scene_count=7,
        narration_wpm_bucket="medium",
        caption_density_bucket="medium",
        ending_type="cliffhanger",
    )
    plan = asyncio.run(Exported().plan(idea=IDEA, recipe=recipe))
    assert isinstance(plan, VideoPlan)
    assert plan.backend == "template" and plan.target_duration_s == 45.0
    assert len(plan.scenes) == 7 and plan.to_recipe() == recipe
    # The plan round-trips through JSON (it is stored with each video job).
    assert VideoPlan.model_validate_json(plan.model_dump_json()) == plan
    assert json.loads(plan.model_dump_json())["recipe"] == recipe.to_dict()


def test_a_recipe_mapping_is_accepted() -> None:
    plan = asyncio.run(LearningLoopPlanner().plan(IDEA, DEFAULT_RECIPE.to_dict()))
    assert plan.recipe_hash == DEFAULT_RECIPE.recipe_hash


def test_the_target_duration_is_a_setting() -> None:
    plan = asyncio.run(LearningLoopPlanner(target_duration_s=60).plan(IDEA, DEFAULT_RECIPE))
    assert plan.target_duration_s == 60 and plan.total_duration_s == 60


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: LearningLoopPlanner(backend="gpt"), "backend"),
        (lambda: LearningLoopPlanner(target_duration_s=5), "target_duration_s"),
        (lambda: asyncio.run(LearningLoopPlanner().plan("  ", DEFAULT_RECIPE)), "idea"),
        (lambda: asyncio.run(LearningLoopPlanner().plan(IDEA, {"preset": "X"})), "recipe"),
        (
            lambda: asyncio.run(
                LearningLoopPlanner(target_duration_s=20).plan(
                    IDEA, DEFAULT_RECIPE.with_field("scene_count", 10)
                )
            ),
            "target_duration_s",
        ),
    ],
)
def test_bad_requests_name_their_field(make: object, field: str) -> None:
    with pytest.raises(PlanRequestError) as caught:
        make()  # type: ignore[operator]
    assert caught.value.field == field


def test_the_template_backend_takes_no_options() -> None:
    with pytest.raises(PlannerConfigError, match="no options"):
        LearningLoopPlanner(model="x")


def test_template_output_goes_through_the_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    import learning_loop.planner.core as planner_module

    real = planner_module.build_template_plan

    def sloppy(idea: str, recipe: object, target: float) -> VideoPlan:
        plan = real(idea, recipe, target)  # type: ignore[arg-type]
        return plan.model_copy(update={"scenes": plan.scenes[:-1]})

    monkeypatch.setattr(planner_module, "build_template_plan", sloppy)
    with pytest.raises(PlanValidationError, match="scene_count"):
        asyncio.run(LearningLoopPlanner().plan(IDEA, DEFAULT_RECIPE))
