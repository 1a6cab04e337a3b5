import uuid

import pytest

from learning_loop.domain.recipe import DEFAULT_RECIPE, Recipe
from learning_loop.domain.rewards import RewardWeights
from learning_loop.errors import Conflict, InvalidInput, NotFound
from learning_loop.services.projects import (
    ProjectSettings,
    create_project,
    list_projects,
    show_project,
)


def test_create_and_list(db):
    a = create_project(db, "alpha")
    b = create_project(db, "  beta  ")
    assert b.name == "beta"
    assert [p.name for p in list_projects(db)] == ["alpha", "beta"]
    shown = show_project(db, a.id)
    assert shown.window_days == 30 and shown.explore_rate == 0.3 and shown.top_k == 3
    assert shown.min_samples == 8 and shown.max_days == 28 and shown.alpha == 0.05
    assert Recipe.from_dict(shown.default_recipe.model_dump()) == DEFAULT_RECIPE
    assert shown.presets == ["DARK_DYSTOPIAN_ANIME", "VIBRANT_MOTION_GRAPHICS"]


def test_duplicate_name_conflicts(db):
    create_project(db, "alpha")
    with pytest.raises(Conflict, match="already exists"):
        create_project(db, "alpha")
    assert len(list_projects(db)) == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "bad\x00name"])
def test_bad_names(db, name):
    with pytest.raises(InvalidInput) as info:
        create_project(db, name)
    assert info.value.field == "name"
    assert list_projects(db) == []


def test_bad_settings_rejected(db):
    with pytest.raises(InvalidInput, match="weights"):
        create_project(db, "w", ProjectSettings(weights=RewardWeights(0.5, 0.5, 0.5)))
    with pytest.raises(InvalidInput, match="explore_rate"):
        create_project(db, "e", ProjectSettings(explore_rate=1.5))
    assert list_projects(db) == []


def test_unknown_ids(db):
    # A malformed id never reaches the services: the CLI's options and the API's parameters
    # parse it (cli/test_cli.py, api/test_bad_input.py).
    with pytest.raises(NotFound, match="no project"):
        show_project(db, uuid.uuid4())
