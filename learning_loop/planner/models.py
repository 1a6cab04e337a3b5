"""The video plan the planner returns: pydantic models shared by every backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from learning_loop.domain.recipe import (
    SCENE_COUNT_MAX,
    SCENE_COUNT_MIN,
    DensityBucket,
    EndingType,
    HookType,
    Recipe,
    WpmBucket,
    check_preset,
)

SceneRole = Literal["hook", "body", "ending"]
PresetName = Annotated[str, AfterValidator(check_preset)]

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


class RecipeFields(BaseModel):
    """The six recipe fields of a video, as in plans, CLI JSON and API answers."""

    # The one outside shape of a recipe: the planner's plans and the services' views share it.
    # Field types are the domain enums (the JSON schema lists the allowed values), but
    # use_enum_values stores plain strings, so dumps and comparisons match Recipe.to_dict().
    # from_attributes lets views build it from ORM rows and Recipe objects.
    model_config = ConfigDict(frozen=True, from_attributes=True, use_enum_values=True)

    preset: PresetName
    hook_type: HookType
    scene_count: int
    narration_wpm_bucket: WpmBucket
    caption_density_bucket: DensityBucket
    ending_type: EndingType

    @field_validator("scene_count")
    @classmethod
    def _scene_count_in_range(cls, value: int) -> int:
        if not SCENE_COUNT_MIN <= value <= SCENE_COUNT_MAX:
            raise ValueError(
                f"scene_count must be from {SCENE_COUNT_MIN} to {SCENE_COUNT_MAX}; got {value}"
            )
        return value

    @classmethod
    def of(cls, recipe: Recipe) -> RecipeFields:
        # Recipe has already validated every field, so skip pydantic's pass (hot in batches).
        values: dict[str, Any] = recipe.to_dict()
        return cls.model_construct(**values)

    def to_recipe(self) -> Recipe:
        return Recipe.from_dict(self.model_dump())


# The planner's historical name for the same model.
PlanRecipe = RecipeFields


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
