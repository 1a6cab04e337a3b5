"""Recipe validation, hashing and helpers (contract §2)."""

import hashlib
import json

import numpy as np
import pytest

from learning_loop.domain.recipe import (
    DEFAULT_PRESETS,
    DEFAULT_RECIPE,
    RECIPE_FIELDS,
    InvalidRecipe,
    Recipe,
    field_values,
    format_field_value,
    parse_field_value,
    recipe_hash,
    validate_preset,
)

DEFAULT_FIELDS = {
    "preset": "DARK_DYSTOPIAN_ANIME",
    "hook_type": "question",
    "scene_count": 7,
    "narration_wpm_bucket": "medium",
    "caption_density_bucket": "medium",
    "ending_type": "cliffhanger",
}


def test_default_recipe_hash_matches_independent_computation() -> None:
    text = (
        '{"caption_density_bucket":"medium","ending_type":"cliffhanger",'
        '"hook_type":"question","narration_wpm_bucket":"medium",'
        '"preset":"DARK_DYSTOPIAN_ANIME","scene_count":7}'
    )
    assert json.dumps(DEFAULT_FIELDS, sort_keys=True, separators=(",", ":")) == text
    expected = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert DEFAULT_RECIPE.recipe_hash == expected
    assert recipe_hash(DEFAULT_FIELDS) == expected
    assert recipe_hash({**DEFAULT_FIELDS, "extra": 1}) == expected
    # Another recipe: the same canonical JSON (keys sorted, no spaces), lowercase hex digest.
    story = {**DEFAULT_FIELDS, "hook_type": "story", "scene_count": 9}
    story_text = json.dumps(story, sort_keys=True, separators=(",", ":"))
    story_recipe = DEFAULT_RECIPE.with_field("hook_type", "story").with_field("scene_count", 9)
    assert story_recipe.recipe_hash == hashlib.sha256(story_text.encode("utf-8")).hexdigest()


def test_hash_differs_per_field_and_is_stable() -> None:
    hashes = {DEFAULT_RECIPE.recipe_hash}
    for field, value in [("scene_count", 8), ("hook_type", "story"), ("ending_type", "loop")]:
        hashes.add(DEFAULT_RECIPE.with_field(field, value).recipe_hash)
    assert len(hashes) == 4
    assert Recipe(**DEFAULT_FIELDS).recipe_hash == DEFAULT_RECIPE.recipe_hash  # type: ignore[arg-type]


def test_to_dict_from_dict_round_trip() -> None:
    assert DEFAULT_RECIPE.to_dict() == DEFAULT_FIELDS
    assert list(DEFAULT_RECIPE.to_dict()) == list(RECIPE_FIELDS)
    assert Recipe.from_dict({**DEFAULT_FIELDS, "id": "x"}) == DEFAULT_RECIPE
    assert DEFAULT_RECIPE.as_tuple() == tuple(DEFAULT_FIELDS.values())


@pytest.mark.parametrize("missing", RECIPE_FIELDS)
def test_from_dict_names_missing_field(missing: str) -> None:
    data = {k: v for k, v in DEFAULT_FIELDS.items() if k != missing}
    with pytest.raises(InvalidRecipe, match=missing):
        Recipe.from_dict(data)


@pytest.mark.parametrize(
    ("field", "value", "mentions"),
    [
        ("preset", "", "preset"),
        ("preset", "dark-anime", "letters, digits and _"),
        ("preset", "A" * 65, "64"),
        ("preset", "WITH SPACE", "preset"),
        ("preset", "TRAILING\n", "preset"),
        ("preset", 3, "preset"),
        ("hook_type", "shout", "question, statement, visual, story, contrast, mystery"),
        ("hook_type", None, "hook_type"),
        ("scene_count", 4, "5 to 10"),
        ("scene_count", 11, "5 to 10"),
        ("scene_count", True, "scene_count"),
        ("scene_count", 7.0, "scene_count"),
        ("scene_count", "7", "scene_count"),
        ("narration_wpm_bucket", "quick", "slow, medium, fast"),
        ("caption_density_bucket", "heavy", "sparse, medium, dense"),
        ("ending_type", "twist", "cliffhanger, resolve, cta, loop"),
    ],
)
def test_invalid_field_values_are_rejected(field: str, value: object, mentions: str) -> None:
    with pytest.raises(InvalidRecipe, match=field) as info:
        Recipe.from_dict({**DEFAULT_FIELDS, field: value})
    assert mentions in str(info.value)
    assert isinstance(info.value, ValueError)


def test_numpy_integer_scene_count_is_normalised() -> None:
    recipe = DEFAULT_RECIPE.with_field("scene_count", np.int64(9))
    assert type(recipe.scene_count) is int
    assert recipe.recipe_hash == DEFAULT_RECIPE.with_field("scene_count", 9).recipe_hash


def test_preset_up_to_64_characters_is_valid() -> None:
    assert DEFAULT_RECIPE.with_field("preset", "A_1" + "B" * 61).preset.endswith("B")


def test_with_field_and_differing_fields() -> None:
    changed = DEFAULT_RECIPE.with_field("ending_type", "cta")
    assert changed.ending_type == "cta"
    assert DEFAULT_RECIPE.differing_fields(changed) == ["ending_type"]
    assert DEFAULT_RECIPE.differing_fields(DEFAULT_RECIPE) == []
    with pytest.raises(InvalidRecipe, match="colour"):
        DEFAULT_RECIPE.with_field("colour", "red")


def test_recipe_is_frozen() -> None:
    with pytest.raises(AttributeError):
        DEFAULT_RECIPE.scene_count = 8  # type: ignore[misc]


def test_validate_preset_against_catalogue() -> None:
    validate_preset(DEFAULT_RECIPE, DEFAULT_PRESETS)
    custom = DEFAULT_RECIPE.with_field("preset", "NOIR")
    with pytest.raises(InvalidRecipe, match="preset"):
        validate_preset(custom, DEFAULT_PRESETS)
    validate_preset(custom, (*DEFAULT_PRESETS, "NOIR"))


def test_field_values() -> None:
    assert field_values("scene_count", DEFAULT_PRESETS) == (5, 6, 7, 8, 9, 10)
    assert field_values("preset", ["B", "A", "B"]) == ("B", "A")
    assert field_values("ending_type", ()) == ("cliffhanger", "resolve", "cta", "loop")
    with pytest.raises(InvalidRecipe):
        field_values("nope", DEFAULT_PRESETS)


def test_format_and_parse_field_values() -> None:
    assert format_field_value("scene_count", 8) == "8"
    assert parse_field_value("scene_count", "8") == 8
    assert parse_field_value("hook_type", "story") == "story"
    with pytest.raises(InvalidRecipe, match="scene_count"):
        parse_field_value("scene_count", "eight")
    with pytest.raises(InvalidRecipe, match="scene_count"):
        parse_field_value("scene_count", "11")
