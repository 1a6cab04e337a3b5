"""Recipe: the six production parameters of a video, their validation and their stable hash.

The hash is the cross-process identity of a recipe (contract §2), so its byte format is fixed here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

RECIPE_FIELDS: tuple[str, ...] = (
    "preset",
    "hook_type",
    "scene_count",
    "narration_wpm_bucket",
    "caption_density_bucket",
    "ending_type",
)


class HookType(StrEnum):
    QUESTION = "question"
    STATEMENT = "statement"
    VISUAL = "visual"
    STORY = "story"
    CONTRAST = "contrast"
    MYSTERY = "mystery"


class EndingType(StrEnum):
    CLIFFHANGER = "cliffhanger"
    RESOLVE = "resolve"
    CTA = "cta"
    LOOP = "loop"


class WpmBucket(StrEnum):
    SLOW = "slow"
    MEDIUM = "medium"
    FAST = "fast"


class DensityBucket(StrEnum):
    SPARSE = "sparse"
    MEDIUM = "medium"
    DENSE = "dense"


# The value lists as plain strings, in declaration order (messages and samplers use them).
HOOK_TYPES: tuple[str, ...] = tuple(m.value for m in HookType)
ENDING_TYPES: tuple[str, ...] = tuple(m.value for m in EndingType)
WPM_BUCKETS: tuple[str, ...] = tuple(m.value for m in WpmBucket)
DENSITY_BUCKETS: tuple[str, ...] = tuple(m.value for m in DensityBucket)
SCENE_COUNT_MIN = 5
SCENE_COUNT_MAX = 10
SCENE_COUNTS: tuple[int, ...] = tuple(range(SCENE_COUNT_MIN, SCENE_COUNT_MAX + 1))
DEFAULT_PRESETS: tuple[str, ...] = ("DARK_DYSTOPIAN_ANIME", "VIBRANT_MOTION_GRAPHICS")
PRESET_MAX_LENGTH = 64

_PRESET_RE = re.compile(r"[A-Za-z0-9_]+")
_CHOICES: dict[str, tuple[str, ...]] = {
    "hook_type": HOOK_TYPES,
    "narration_wpm_bucket": WPM_BUCKETS,
    "caption_density_bucket": DENSITY_BUCKETS,
    "ending_type": ENDING_TYPES,
}

RecipeTuple = tuple[str, str, int, str, str, str]


class InvalidRecipe(ValueError):
    """A recipe field is missing or has a value outside its allowed set."""


def check_preset(name: object) -> str:
    """The preset name as a plain str, or InvalidRecipe if it is not a well-formed name.

    The one preset-name rule: Recipe, the plan/view model and the project settings all use it.
    Whether the preset is in a project's catalogue is validate_preset's business.
    """
    if (
        not isinstance(name, str)
        or len(name) > PRESET_MAX_LENGTH
        or _PRESET_RE.fullmatch(name) is None
    ):
        raise InvalidRecipe(
            f"preset must be a non-empty name of letters, digits and _ (case-sensitive, at most "
            f"{PRESET_MAX_LENGTH} characters), e.g. one of {', '.join(DEFAULT_PRESETS)}; "
            f"got {name!r}"
        )
    return str(name)


def _check_scene_count(value: object) -> int:
    # bool is an Integral subclass but True/False as a scene count is always a caller bug.
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not SCENE_COUNT_MIN <= int(value) <= SCENE_COUNT_MAX
    ):
        raise InvalidRecipe(
            f"scene_count must be an integer from {SCENE_COUNT_MIN} to {SCENE_COUNT_MAX}; "
            f"got {value!r}"
        )
    return int(value)


def _check_choice(field: str, value: object) -> str:
    allowed = _CHOICES[field]
    if not isinstance(value, str) or value not in allowed:
        raise InvalidRecipe(f"{field} must be one of {', '.join(allowed)}; got {value!r}")
    return str(value)


def _check_field(field: str, value: object) -> object:
    if field == "preset":
        return check_preset(value)
    if field == "scene_count":
        return _check_scene_count(value)
    if field in _CHOICES:
        return _check_choice(field, value)
    raise InvalidRecipe(f"unknown recipe field {field!r}; fields are {', '.join(RECIPE_FIELDS)}")


@lru_cache(maxsize=65536)
def _hash_tuple(values: RecipeTuple) -> str:
    # ensure_ascii stays at its default (True): every valid value is ASCII anyway, and pinning
    # the default keeps the bytes identical to any other json.dumps-based implementation.
    payload = json.dumps(
        dict(zip(RECIPE_FIELDS, values, strict=True)), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Recipe:
    """A validated recipe; the preset is checked against a project catalogue by validate_preset."""

    preset: str
    hook_type: str
    scene_count: int
    narration_wpm_bucket: str
    caption_density_bucket: str
    ending_type: str

    def __post_init__(self) -> None:
        # Normalising (e.g. numpy.int64 -> int, str subclasses -> str) keeps the hash JSON-safe.
        for field in RECIPE_FIELDS:
            object.__setattr__(self, field, _check_field(field, getattr(self, field)))

    @property
    def recipe_hash(self) -> str:
        return _hash_tuple(self.as_tuple())

    def as_tuple(self) -> RecipeTuple:
        return (
            self.preset,
            self.hook_type,
            self.scene_count,
            self.narration_wpm_bucket,
            self.caption_density_bucket,
            self.ending_type,
        )

    def to_dict(self) -> dict[str, str | int]:
        return dict(zip(RECIPE_FIELDS, self.as_tuple(), strict=True))

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Recipe:
        """Build a recipe from a mapping holding the six fields; other keys are ignored."""
        values: dict[str, Any] = {}
        for field in RECIPE_FIELDS:
            if field not in d:
                raise InvalidRecipe(f"missing recipe field: {field}")
            values[field] = d[field]
        return cls(**values)

    def with_field(self, field: str, value: object) -> Recipe:
        if field not in RECIPE_FIELDS:
            raise InvalidRecipe(
                f"unknown recipe field {field!r}; fields are {', '.join(RECIPE_FIELDS)}"
            )
        changes: dict[str, Any] = {field: value}
        return dataclasses.replace(self, **changes)

    def differing_fields(self, other: Recipe) -> list[str]:
        return [
            field
            for field, mine, theirs in zip(
                RECIPE_FIELDS, self.as_tuple(), other.as_tuple(), strict=True
            )
            if mine != theirs
        ]


def recipe_hash(fields: Mapping[str, object]) -> str:
    """Hash of the six recipe fields of a mapping (extra keys ignored).

    The mapping is validated as a Recipe first, so a malformed value (say scene_count "7")
    raises InvalidRecipe instead of silently hashing to a different recipe.
    """
    return Recipe.from_dict(fields).recipe_hash


def validate_preset(recipe: Recipe, presets: Sequence[str]) -> None:
    if recipe.preset not in presets:
        raise InvalidRecipe(
            f"preset must be one of {', '.join(presets)} (the project's catalogue); "
            f"got {recipe.preset!r}"
        )


def field_values(field: str, presets: Sequence[str]) -> tuple[object, ...]:
    """Every valid value of a field, in a fixed order (catalogue order for presets)."""
    if field == "preset":
        return tuple(dict.fromkeys(check_preset(p) for p in presets))
    if field == "scene_count":
        return SCENE_COUNTS
    if field in _CHOICES:
        return _CHOICES[field]
    raise InvalidRecipe(f"unknown recipe field {field!r}; fields are {', '.join(RECIPE_FIELDS)}")


def format_field_value(field: str, value: object) -> str:
    """The string form used for experiment values (scene_count 8 -> "8")."""
    return str(_check_field(field, value))


def parse_field_value(field: str, text: str) -> object:
    """Inverse of format_field_value: an experiment's stored string back to a field value."""
    if field == "scene_count":
        try:
            value: object = int(text)
        except (TypeError, ValueError):
            raise InvalidRecipe(
                f"scene_count must be an integer from {SCENE_COUNT_MIN} to {SCENE_COUNT_MAX}; "
                f"got {text!r}"
            ) from None
        return _check_field(field, value)
    return _check_field(field, text)


DEFAULT_RECIPE = Recipe("DARK_DYSTOPIAN_ANIME", "question", 7, "medium", "medium", "cliffhanger")
