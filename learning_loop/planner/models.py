"""The video plan the planner returns: pydantic models shared by every backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from learning_loop.domain.recipe import InvalidRecipe, Recipe

SceneRole = Literal["hook", "body", "ending"]
HookType = Literal["question", "statement", "visual", "story", "contrast", "mystery"]
EndingType = Literal["cliffhanger", "resolve", "cta", "loop"]
WpmBucket = Literal["slow", "medium", "fast"]
DensityBucket = Literal["sparse", "medium", "dense"]

MIN_TARGET_DURATION_S = 15.0
MAX_TARGET_DURATION_S = 180.0
MAX_IDEA_CHARS = 2000

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Scene(BaseModel):
    """One scene: what is said, what is shown on screen as text, and what the image is."""

    model_config = ConfigDict(frozen=True)

    role: SceneRole
    duration_s: float = Field(gt=0, allow_inf_nan=False)
    narration: Text
    captions: list[Text] = Field(default_factory=list)
    visual: Text


class PlanRecipe(BaseModel):
    """The six recipe fields as they appear in a plan's JSON."""

    model_config = ConfigDict(frozen=True)

    preset: str
    hook_type: HookType
    scene_count: int
    narration_wpm_bucket: WpmBucket
    caption_density_bucket: DensityBucket
    ending_type: EndingType

    @field_validator("preset")
    @classmethod
    def _preset_is_valid(cls, value: str) -> str:
        # Recipe owns the preset-name rule; reuse it with a known-good rest of the recipe.
        try:
            Recipe(value, "question", 5, "medium", "medium", "resolve")
        except InvalidRecipe as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("scene_count")
    @classmethod
    def _scene_count_in_range(cls, value: int) -> int:
        if not 5 <= value <= 10:
            raise ValueError(f"scene_count must be from 5 to 10; got {value}")
        return value

    @classmethod
    def of(cls, recipe: Recipe) -> PlanRecipe:
        # Recipe has already validated every field, so skip pydantic's pass (hot in batches).
        values: dict[str, Any] = recipe.to_dict()
        return cls.model_construct(**values)

    def to_recipe(self) -> Recipe:
        return Recipe.from_dict(self.model_dump())


class VideoPlan(BaseModel):
    """A validated plan for one video: the idea, its recipe and exactly scene_count scenes."""

    model_config = ConfigDict(frozen=True)

    idea: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_IDEA_CHARS)
    ]
    recipe: PlanRecipe
    recipe_hash: str
    target_duration_s: float = Field(ge=MIN_TARGET_DURATION_S, le=MAX_TARGET_DURATION_S)
    scenes: list[Scene]
    backend: str

    def to_recipe(self) -> Recipe:
        return self.recipe.to_recipe()

    @property
    def total_duration_s(self) -> float:
        return sum(scene.duration_s for scene in self.scenes)


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule of a plan; scene is 1-based, None for a rule about the whole plan."""

    rule: str
    scene: int | None
    message: str

    def __str__(self) -> str:
        where = f" (scene {self.scene})" if self.scene is not None else ""
        return f"{self.rule}{where}: {self.message}"
