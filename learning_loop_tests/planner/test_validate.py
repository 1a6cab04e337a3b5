"""The validator rejects a hand-made plan for each rule, naming the rule it breaks."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from learning_loop.domain.recipe import DEFAULT_RECIPE, Recipe
from learning_loop.planner import (
    PlanValidationError,
    Scene,
    VideoPlan,
    build_template_plan,
    ensure_valid,
    validate_plan,
)
from learning_loop.planner.guidance import word_count
from learning_loop.planner.validate import RULES

IDEA = "A lone samurai walks into a burning village at dawn"
_NEUTRAL = ("The", "red", "fox", "runs", "past", "tall", "grass", "and", "cold", "rain")


def neutral(words: int, end: str = ".") -> str:
    """Words that satisfy no hook or ending rule, as one sentence."""
    return " ".join(itertools.islice(itertools.cycle(_NEUTRAL), words)) + end


def recipe(hook: str = "question", ending: str = "cliffhanger") -> Recipe:
    return Recipe("DARK_DYSTOPIAN_ANIME", hook, 7, "medium", "medium", ending)


def with_scene(plan: VideoPlan, index: int, **changes: object) -> VideoPlan:
    scenes = list(plan.scenes)
    scenes[index] = scenes[index].model_copy(update=changes)
    return plan.model_copy(update={"scenes": scenes})


def rules(plan: VideoPlan, for_recipe: Recipe) -> list[str]:
    return [v.rule for v in validate_plan(plan, for_recipe)]


def test_the_base_plans_are_valid() -> None:
    for hook, ending in itertools.product(("question", "visual"), ("loop", "resolve")):
        r = recipe(hook, ending)
        assert validate_plan(build_template_plan(IDEA, r), r) == []


def test_recipe() -> None:
    plan = build_template_plan(IDEA, DEFAULT_RECIPE).model_copy(update={"recipe_hash": "0" * 64})
    assert rules(plan, DEFAULT_RECIPE) == ["recipe"]
    other = DEFAULT_RECIPE.with_field("preset", "VIBRANT_MOTION_GRAPHICS")
    assert "recipe" in rules(build_template_plan(IDEA, DEFAULT_RECIPE), other)


def test_scene_count() -> None:
    plan = build_template_plan(IDEA, DEFAULT_RECIPE)
    fewer = plan.scenes[:2] + plan.scenes[3:]
    short = plan.model_copy(update={"scenes": fewer, "target_duration_s": 38.5})
    violations = validate_plan(short, DEFAULT_RECIPE)
    assert [v.rule for v in violations] == ["scene_count"]
    assert violations[0].scene is None and "6 scenes" in violations[0].message


def test_roles() -> None:
    plan = with_scene(build_template_plan(IDEA, DEFAULT_RECIPE), 2, role="ending")
    violations = validate_plan(plan, DEFAULT_RECIPE)
    assert [(v.rule, v.scene) for v in violations] == [("roles", 3)]


def test_total_duration() -> None:
    plan = build_template_plan(IDEA, DEFAULT_RECIPE).model_copy(update={"target_duration_s": 60})
    assert rules(plan, DEFAULT_RECIPE) == ["total_duration"]


def test_scene_duration() -> None:
    plan = with_scene(
        build_template_plan(IDEA, DEFAULT_RECIPE),
        1,
        duration_s=2.5,
        narration="Then the silence breaks again.",
        captions=["Then the silence breaks again."],
    )
    assert rules(plan, DEFAULT_RECIPE) == ["scene_duration"]


# Each hook gets a scene 1 narration of the same length (so pace still fits) that breaks it.
HOOK_BREAKERS = {
    "question": lambda n: neutral(n),
    "statement": lambda n: neutral(n, "?"),
    "visual": lambda n: neutral(n),
    "story": lambda n: neutral(n),
    "contrast": lambda n: neutral(n),
    "mystery": lambda n: neutral(n),
}


@pytest.mark.parametrize("hook", sorted(HOOK_BREAKERS))
def test_hook(hook: str) -> None:
    r = recipe(hook)
    plan = build_template_plan(IDEA, r)
    words = word_count(plan.scenes[0].narration)
    broken = with_scene(plan, 0, narration=HOOK_BREAKERS[hook](words))
    violations = validate_plan(broken, r)
    assert [(v.rule, v.scene) for v in violations] == [(f"hook_{hook}", 1)]
    assert "Rule:" in violations[0].message


def test_hook_visual_keeps_narration_short() -> None:
    r = Recipe("DARK_DYSTOPIAN_ANIME", "visual", 5, "medium", "medium", "resolve")
    plan = build_template_plan(IDEA, r)
    long = "Look at the red fox as it runs past the tall grass in the cold rain."
    broken = with_scene(plan, 0, narration=long, duration_s=6.5, captions=["a", "b", "c"])
    broken = broken.model_copy(update={"target_duration_s": 48.5})
    violations = validate_plan(broken, r)
    assert [v.rule for v in violations] == ["hook_visual"]
    assert "16 words" in violations[0].message


def test_contrast_needs_before_then_after() -> None:
    r = recipe("contrast")
    plan = build_template_plan(IDEA, r)
    words = word_count(plan.scenes[0].narration)
    backwards = "Now the fox runs. Before " + neutral(words - 5)
    assert rules(with_scene(plan, 0, narration=backwards), r) == ["hook_contrast"]


ENDING_BREAKERS = {
    "cliffhanger": lambda n: neutral(n),
    "resolve": lambda n: neutral(n),
    "cta": lambda n: neutral(n),
    "loop": lambda n: neutral(n),
}


@pytest.mark.parametrize("ending", sorted(ENDING_BREAKERS))
def test_ending(ending: str) -> None:
    r = recipe(ending=ending)
    plan = build_template_plan(IDEA, r)
    words = word_count(plan.scenes[-1].narration)
    broken = with_scene(plan, 6, narration=ENDING_BREAKERS[ending](words))
    violations = validate_plan(broken, r)
    assert [(v.rule, v.scene) for v in violations] == [(f"ending_{ending}", 7)]


def test_resolve_must_not_end_on_a_question() -> None:
    r = recipe(ending="resolve")
    plan = build_template_plan(IDEA, r)
    words = word_count(plan.scenes[-1].narration)
    asks = "In the end, " + neutral(words - 3, "?")
    assert rules(with_scene(plan, 6, narration=asks), r) == ["ending_resolve"]


def test_loop_ending_may_close_on_the_opening_words() -> None:
    r = recipe(ending="loop")
    plan = build_template_plan(IDEA, r)
    words = word_count(plan.scenes[-1].narration)
    closing = neutral(words - 3, ",") + " a LONE samurai!"
    assert rules(with_scene(plan, 6, narration=closing), r) == []


def test_narration_wpm() -> None:
    plan = with_scene(build_template_plan(IDEA, DEFAULT_RECIPE), 2, narration="Too few words here.")
    violations = validate_plan(plan, DEFAULT_RECIPE)
    assert [(v.rule, v.scene) for v in violations] == [("narration_wpm", 3)]
    assert "4 words in 6.5 s is 37 wpm" in violations[0].message


def test_caption_density() -> None:
    plan = with_scene(build_template_plan(IDEA, DEFAULT_RECIPE), 2, captions=["x"] * 10)
    violations = validate_plan(plan, DEFAULT_RECIPE)
    assert [(v.rule, v.scene) for v in violations] == [("caption_density", 3)]
    assert "1.54/s" in violations[0].message


def test_visual_style() -> None:
    plan = with_scene(build_template_plan(IDEA, DEFAULT_RECIPE), 1, visual="A wide shot.")
    assert rules(plan, DEFAULT_RECIPE) == ["visual_style"]
    plan = with_scene(plan, 1, visual="Wide shot, DARK_DYSTOPIAN_ANIME look.")
    assert rules(plan, DEFAULT_RECIPE) == []


def test_bucket_edges_follow_the_spec() -> None:
    # 20 words in 10 s is exactly 120 wpm: medium, not slow; 0.6 captions/s is still medium.
    r = Recipe("DARK_DYSTOPIAN_ANIME", "statement", 5, "medium", "medium", "resolve")
    plan = build_template_plan(IDEA, r)
    scene = Scene(
        role="body",
        duration_s=10,
        narration=neutral(20),
        captions=["x"] * 6,
        visual="dark dystopian anime",
    )
    scenes = [plan.scenes[0], scene, *plan.scenes[2:]]
    edge = plan.model_copy(update={"scenes": scenes})
    assert rules(edge, r) == []
    slow = r.with_field("narration_wpm_bucket", "slow")
    assert ("narration_wpm", 2) in [(v.rule, v.scene) for v in validate_plan(edge, slow)]
    dense = r.with_field("caption_density_bucket", "dense")
    assert ("caption_density", 2) in [(v.rule, v.scene) for v in validate_plan(edge, dense)]


def test_ensure_valid_names_every_rule() -> None:
    plan = with_scene(build_template_plan(IDEA, DEFAULT_RECIPE), 0, narration=neutral(3))
    with pytest.raises(PlanValidationError) as caught:
        ensure_valid(plan, DEFAULT_RECIPE)
    assert {v.rule for v in caught.value.violations} == {"hook_question", "narration_wpm"}
    assert "hook_question (scene 1)" in str(caught.value)
    assert "narration_wpm (scene 1)" in str(caught.value)


def test_every_rule_is_covered_above() -> None:
    """Read from this module, not listed by hand: a rule is covered by a test named after it
    (`test_<rule>`) or by a breaker of the parametrized hook and ending tests. A rule added to
    the validator without its test fails here."""
    named = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    breakers = {f"hook_{h}" for h in HOOK_BREAKERS} | {f"ending_{e}" for e in ENDING_BREAKERS}
    missing = set(RULES) - named - breakers
    assert not missing, f"rules with no test: {sorted(missing)}"


@pytest.mark.parametrize(
    "change",
    [
        {"narration": "  "},
        {"captions": ["ok", ""]},
        {"duration_s": 0},
        {"duration_s": float("inf")},
        {"role": "intro"},
        {"visual": ""},
    ],
)
def test_malformed_scenes_do_not_parse(change: dict[str, object]) -> None:
    good = build_template_plan(IDEA, DEFAULT_RECIPE).scenes[0].model_dump()
    with pytest.raises(ValidationError):
        Scene.model_validate({**good, **change})
