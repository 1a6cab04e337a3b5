"""The one validator every backend's plan goes through; each broken rule is reported by name."""

from __future__ import annotations

from learning_loop.domain.recipe import Recipe
from learning_loop.planner.errors import PlanValidationError
from learning_loop.planner.guidance import (
    DENSITY_BANDS,
    ENDING_GUIDANCE,
    HOOK_GUIDANCE,
    MIN_SCENE_S,
    TOTAL_DURATION_TOLERANCE,
    WPM_BANDS,
    captions_per_second,
    density_fits,
    narration_wpm,
    style_phrase,
    total_duration_fits,
    visual_in_style,
    word_count,
    wpm_fits,
)
from learning_loop.planner.models import Scene, VideoPlan, Violation

RULES: tuple[str, ...] = (
    "recipe",
    "scene_count",
    "roles",
    "total_duration",
    "scene_duration",
    *(f"hook_{name}" for name in HOOK_GUIDANCE),
    *(f"ending_{name}" for name in ENDING_GUIDANCE),
    "narration_wpm",
    "caption_density",
    "visual_style",
)


def expected_role(index: int, scene_count: int) -> str:
    if index == 0:
        return "hook"
    return "ending" if index == scene_count - 1 else "body"


def validate_scenes(
    scenes: list[Scene], recipe: Recipe, target_duration_s: float
) -> list[Violation]:
    """Every broken rule of a list of scenes for a recipe, in a stable order."""
    found: list[Violation] = []
    n = len(scenes)
    if n != recipe.scene_count:
        found.append(
            Violation("scene_count", None, f"{n} scenes; the recipe asks for {recipe.scene_count}")
        )
    for i, scene in enumerate(scenes):
        want = expected_role(i, n)
        if scene.role != want:
            found.append(Violation("roles", i + 1, f"role is {scene.role!r}; expected {want!r}"))
    total = sum(scene.duration_s for scene in scenes)
    if not total_duration_fits(total, target_duration_s):
        found.append(
            Violation(
                "total_duration",
                None,
                f"scenes last {total:g} s; the target is {target_duration_s:g} s "
                f"(within {TOTAL_DURATION_TOLERANCE:.0%})",
            )
        )
    for i, scene in enumerate(scenes):
        if scene.duration_s < MIN_SCENE_S:
            found.append(
                Violation(
                    "scene_duration",
                    i + 1,
                    f"{scene.duration_s:g} s; every scene lasts at least {MIN_SCENE_S:g} s",
                )
            )
    if scenes:
        first, last = scenes[0].narration, scenes[-1].narration
        hook = HOOK_GUIDANCE[recipe.hook_type]
        problem = hook.check(first, last)
        if problem:
            found.append(Violation(f"hook_{hook.name}", 1, f"{problem}. Rule: {hook.rule}"))
        ending = ENDING_GUIDANCE[recipe.ending_type]
        problem = ending.check(first, last)
        if problem:
            found.append(Violation(f"ending_{ending.name}", n, f"{problem}. Rule: {ending.rule}"))
    wpm_band = WPM_BANDS[recipe.narration_wpm_bucket]
    density_band = DENSITY_BANDS[recipe.caption_density_bucket]
    phrase = style_phrase(recipe.preset)
    for i, scene in enumerate(scenes):
        words = word_count(scene.narration)
        if not wpm_fits(wpm_band.bucket, words, scene.duration_s):
            rate = narration_wpm(words, scene.duration_s)
            found.append(
                Violation(
                    "narration_wpm",
                    i + 1,
                    f"{words} words in {scene.duration_s:g} s is {rate:.0f} wpm; "
                    f"{wpm_band.bucket} narration is {wpm_band.text}",
                )
            )
        count = len(scene.captions)
        if not density_fits(density_band.bucket, count, scene.duration_s):
            rate = captions_per_second(count, scene.duration_s)
            found.append(
                Violation(
                    "caption_density",
                    i + 1,
                    f"{count} captions in {scene.duration_s:g} s is {rate:.2f}/s; "
                    f"{density_band.bucket} captions are {density_band.text}",
                )
            )
        if not visual_in_style(scene.visual, recipe.preset):
            found.append(
                Violation(
                    "visual_style",
                    i + 1,
                    f"the visual direction does not name the preset's style {phrase!r}",
                )
            )
    return found


def validate_plan(plan: VideoPlan, recipe: Recipe) -> list[Violation]:
    """Every rule of the recipe the plan breaks; an empty list means the plan is valid."""
    found: list[Violation] = []
    if plan.recipe.model_dump() != recipe.to_dict() or plan.recipe_hash != recipe.recipe_hash:
        found.append(
            Violation(
                "recipe",
                None,
                f"the plan is for recipe {plan.recipe_hash[:12]}, not {recipe.recipe_hash[:12]}",
            )
        )
    found.extend(validate_scenes(plan.scenes, recipe, plan.target_duration_s))
    return found


def ensure_valid(plan: VideoPlan, recipe: Recipe) -> VideoPlan:
    """The plan itself when it is valid; PlanValidationError listing every violation otherwise."""
    violations = validate_plan(plan, recipe)
    if violations:
        raise PlanValidationError(violations, backend=plan.backend)
    return plan
