"""`shorts-engine learn plan-video`: plan one video from an idea and a recipe, by hand."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import typer

from learning_loop.cli.common import JsonOpt, MaybeProjectOpt, database
from learning_loop.cli.output import print_table, show
from learning_loop.domain.recipe import (
    DEFAULT_RECIPE,
    DENSITY_BUCKETS,
    ENDING_TYPES,
    HOOK_TYPES,
    WPM_BUCKETS,
    InvalidRecipe,
    Recipe,
)
from learning_loop.domain.statuses import PlannerBackend
from learning_loop.errors import InvalidInput

if TYPE_CHECKING:
    from learning_loop.planner import VideoPlan

_RECIPE_OPTIONS = {
    "preset": "--preset",
    "hook_type": "--hook-type",
    "scene_count": "--scene-count",
    "narration_wpm_bucket": "--narration-wpm-bucket",
    "caption_density_bucket": "--caption-density-bucket",
    "ending_type": "--ending-type",
}


def _help(field: str, text: str) -> str:
    return f"{text} (default: {getattr(DEFAULT_RECIPE, field)})."


PresetOpt = Annotated[str | None, typer.Option("--preset", help=_help("preset", "Visual preset"))]
HookOpt = Annotated[
    str | None, typer.Option("--hook-type", help=_help("hook_type", ", ".join(HOOK_TYPES)))
]
ScenesOpt = Annotated[
    int | None, typer.Option("--scene-count", help=_help("scene_count", "Scenes, 5 to 10"))
]
WpmOpt = Annotated[
    str | None,
    typer.Option(
        "--narration-wpm-bucket", help=_help("narration_wpm_bucket", ", ".join(WPM_BUCKETS))
    ),
]
DensityOpt = Annotated[
    str | None,
    typer.Option(
        "--caption-density-bucket",
        help=_help("caption_density_bucket", ", ".join(DENSITY_BUCKETS)),
    ),
]
EndingOpt = Annotated[
    str | None, typer.Option("--ending-type", help=_help("ending_type", ", ".join(ENDING_TYPES)))
]


def plan_video(
    idea: Annotated[str, typer.Option("--idea", help="What the video is about.")],
    project: MaybeProjectOpt = None,
    recipe_hash: Annotated[
        str | None,
        typer.Option("--recipe-hash", help="A recipe of the project (a unique prefix works)."),
    ] = None,
    preset: PresetOpt = None,
    hook_type: HookOpt = None,
    scene_count: ScenesOpt = None,
    narration_wpm_bucket: WpmOpt = None,
    caption_density_bucket: DensityOpt = None,
    ending_type: EndingOpt = None,
    backend: Annotated[
        str, typer.Option("--backend", help=f"Planner backend: {' or '.join(PlannerBackend)}.")
    ] = "template",
    target_duration: Annotated[
        float, typer.Option("--target-duration", help="Target video length in seconds.")
    ] = 45.0,
    json_: JsonOpt = False,
) -> None:
    """Plan one video (scenes, narration, captions, visuals) and print it."""
    import asyncio

    from learning_loop.planner import LearningLoopPlanner, PlannerError

    given = {
        "preset": preset,
        "hook_type": hook_type,
        "scene_count": scene_count,
        "narration_wpm_bucket": narration_wpm_bucket,
        "caption_density_bucket": caption_density_bucket,
        "ending_type": ending_type,
    }
    recipe = _recipe(project, recipe_hash, given)
    try:
        planner = LearningLoopPlanner(backend=backend, target_duration_s=target_duration)
        plan = asyncio.run(planner.plan(idea=idea, recipe=recipe))
    except PlannerError as exc:
        raise InvalidInput(exc.message, _option(exc.field)) from None
    show(json_, plan, lambda: _print_plan(plan))


def _option(field: str | None) -> str | None:
    return {"target_duration_s": "target_duration"}.get(field or "", field)


def _recipe(
    project: uuid.UUID | None, recipe_hash: str | None, given: Mapping[str, object]
) -> Recipe:
    chosen = [_RECIPE_OPTIONS[f] for f, v in given.items() if v is not None]
    if recipe_hash is not None or project is not None:
        if chosen:
            raise InvalidInput(
                f"use either --project with --recipe-hash or the recipe options, not both "
                f"(got {', '.join(chosen)})",
                "recipe_hash",
            )
        if recipe_hash is None or project is None:
            missing = "--recipe-hash" if recipe_hash is None else "--project"
            raise InvalidInput(
                f"--project and --recipe-hash go together; {missing} is missing",
                "recipe_hash" if recipe_hash is None else "project",
            )
        from learning_loop.services.recipes import find_recipe

        view = find_recipe(database(), project, recipe_hash)
        return Recipe.from_dict(view.model_dump())
    values = {f: getattr(DEFAULT_RECIPE, f) if v is None else v for f, v in given.items()}
    try:
        return Recipe.from_dict(values)
    except InvalidRecipe as exc:
        field = next((f for f in values if str(exc).startswith(f)), None)
        raise InvalidInput(str(exc), field) from None


def _print_plan(plan: VideoPlan) -> None:
    from learning_loop.planner.guidance import word_count

    r = plan.recipe
    print_table(
        f"Video plan: {plan.idea}\n"
        f"recipe {plan.recipe_hash[:12]}: {r.preset} / {r.hook_type} / {r.scene_count} / "
        f"{r.narration_wpm_bucket} / {r.caption_density_bucket} / {r.ending_type}; "
        f"{plan.total_duration_s:g} s of {plan.target_duration_s:g} s; backend {plan.backend}",
        ["#", "role", "s", "words", "wpm", "captions", "narration", "on screen", "visual"],
        [
            (
                i,
                scene.role,
                f"{scene.duration_s:g}",
                word_count(scene.narration),
                f"{word_count(scene.narration) * 60 / scene.duration_s:.0f}",
                len(scene.captions),
                scene.narration,
                " | ".join(scene.captions),
                scene.visual,
            )
            for i, scene in enumerate(plan.scenes, start=1)
        ],
    )
