"""The template backend: every recipe combination gives a valid, deterministic plan."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learning_loop.domain.recipe import (
    DEFAULT_PRESETS,
    DEFAULT_RECIPE,
    DENSITY_BUCKETS,
    ENDING_TYPES,
    HOOK_TYPES,
    SCENE_COUNTS,
    WPM_BUCKETS,
    Recipe,
)
from learning_loop.planner import PlanRequestError, build_template_plan, validate_plan
from learning_loop.planner.guidance import (
    MIN_SCENE_S,
    min_target_duration,
    scene_durations,
    word_count,
)
from learning_loop.planner.template import _PADS

IDEA = "A lone samurai walks into a burning village at dawn"


@pytest.mark.parametrize(
    ("preset", "hook_type"), list(itertools.product(DEFAULT_PRESETS, HOOK_TYPES))
)
def test_every_combination_is_valid(preset: str, hook_type: str) -> None:
    failures = []
    for ending, scenes, wpm, density in itertools.product(
        ENDING_TYPES, SCENE_COUNTS, WPM_BUCKETS, DENSITY_BUCKETS
    ):
        recipe = Recipe(preset, hook_type, scenes, wpm, density, ending)
        plan = build_template_plan(IDEA, recipe)
        assert len(plan.scenes) == scenes
        assert plan.recipe_hash == recipe.recipe_hash and plan.to_recipe() == recipe
        violations = validate_plan(plan, recipe)
        if violations:
            failures.append((recipe.as_tuple(), [str(v) for v in violations]))
    assert failures == []


def test_same_inputs_give_the_same_plan() -> None:
    first = build_template_plan(IDEA, DEFAULT_RECIPE)
    assert build_template_plan(IDEA, DEFAULT_RECIPE) == first
    assert build_template_plan(IDEA + " !", DEFAULT_RECIPE) != first


def test_default_plan_reads_as_a_plan() -> None:
    plan = build_template_plan(IDEA, DEFAULT_RECIPE)
    assert [s.role for s in plan.scenes] == ["hook"] + ["body"] * 5 + ["ending"]
    assert plan.total_duration_s == 45.0
    assert plan.scenes[0].narration.startswith(IDEA)
    assert plan.scenes[0].narration.split("?")[0].endswith("but why")
    assert plan.scenes[-1].narration.endswith("...")
    assert all("Dark dystopian anime" in s.visual for s in plan.scenes)
    # Captions are the narration cut into lines, in order.
    for scene in plan.scenes:
        assert " ".join(scene.captions).split() == scene.narration.split()
    # No body line repeats within the default plan.
    sentences = [x for s in plan.scenes[1:] for x in s.narration.split(". ")]
    assert len(sentences) == len(set(sentences))


def test_pads_have_the_word_count_they_are_filed_under() -> None:
    for size, pads in _PADS.items():
        assert all(word_count(pad) == size for pad in pads)


def test_durations_split_the_target_in_half_seconds() -> None:
    assert scene_durations(DEFAULT_RECIPE, 45) == [6.0] + [6.5] * 6
    visual = Recipe("DARK_DYSTOPIAN_ANIME", "visual", 5, "slow", "sparse", "resolve")
    assert scene_durations(visual, 45) == [3.0, 10.5, 10.5, 10.5, 10.5]
    assert scene_durations(visual, 30.2) == [3.0, 7.0, 7.0, 6.5, 6.5]
    assert min(scene_durations(DEFAULT_RECIPE.with_field("scene_count", 10), 30)) == MIN_SCENE_S


@pytest.mark.parametrize("target", [0, 20.5, 181, float("nan"), "soon"])
def test_a_target_that_cannot_fit_is_refused(target: object) -> None:
    recipe = DEFAULT_RECIPE.with_field("scene_count", 10)  # needs at least 30 s
    with pytest.raises(PlanRequestError, match="target duration"):
        build_template_plan(IDEA, recipe, target)  # type: ignore[arg-type]


@pytest.mark.parametrize("idea", ["", "   ", "x" * 2001])
def test_a_bad_idea_is_refused(idea: str) -> None:
    with pytest.raises(PlanRequestError, match="idea"):
        build_template_plan(idea, DEFAULT_RECIPE)


recipes = st.builds(
    Recipe,
    st.sampled_from([*DEFAULT_PRESETS, "NEON_NOIR_2"]),
    st.sampled_from(HOOK_TYPES),
    st.sampled_from(SCENE_COUNTS),
    st.sampled_from(WPM_BUCKETS),
    st.sampled_from(DENSITY_BUCKETS),
    st.sampled_from(ENDING_TYPES),
)
ideas = st.one_of(
    st.text(min_size=1, max_size=300).filter(str.strip),
    st.sampled_from(["Why do cats hate water?", "Tokyo. At night! Why? ...", "— … —", "a" * 2000]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipe=recipes, idea=ideas, share=st.floats(0, 1))
def test_any_idea_and_target_give_a_valid_plan(recipe: Recipe, idea: str, share: float) -> None:
    low = min_target_duration(recipe.scene_count)
    target = low + share * (180 - low)
    plan = build_template_plan(idea, recipe, target)
    assert validate_plan(plan, recipe) == []
