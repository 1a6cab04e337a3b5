"""Each project setting is declared once (`domain/project_settings.py`, issue #28): every layer
takes its settings from the declarations, so none can leave one out or write another range."""

from __future__ import annotations

from typing import Any

import pytest
from typer.main import get_command

from api.schemas import ProjectCreate, ProjectPatch
from learning_loop.cli import projects
from learning_loop.db.models import Project
from learning_loop.domain.project_settings import SETTINGS, Kind, Setting
from learning_loop.domain.setting_rules import ProjectSettings, check_settings
from learning_loop.errors import InvalidInput
from learning_loop.services.views import ProjectSettingsView, ProjectView

RANGED = [s for s in SETTINGS if s.range is not None]


def _options(command: str) -> dict[str, Any]:
    """The options of `shorts-engine projects COMMAND` as Typer built them, by parameter."""
    group: Any = get_command(projects.app)
    return {p.name: p for p in group.commands[command].params}


def test_names_are_unique_and_every_column_is_stored():
    assert len({s.name for s in SETTINGS}) == len(SETTINGS)
    columns = [c for s in SETTINGS for c in s.columns]
    assert len(set(columns)) == len(columns)
    assert set(columns) <= set(Project.__table__.columns.keys())


def test_every_layer_takes_every_setting():
    names = {s.name for s in SETTINGS}
    at_creation = {s.name for s in SETTINGS if s.at_creation}
    recorded = {s.name for s in SETTINGS if s.recorded}
    assert names <= set(ProjectPatch.model_fields)
    assert set(ProjectCreate.model_fields) & names == at_creation
    assert set(ProjectSettingsView.model_fields) & names == recorded
    assert {c for s in SETTINGS for c in s.columns} <= set(ProjectView.model_fields)
    assert names <= set(_options("configure"))
    assert set(_options("create")) & names == at_creation
    assert at_creation < names and recorded < names  # both flags are used


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_the_help_and_the_description_are_the_declarations(setting: Setting):
    option = _options("configure")[setting.name]
    assert option.help == setting.text
    assert "/".join([*option.opts, *option.secondary_opts]) == setting.option
    field = ProjectPatch.model_fields[setting.name]
    assert field.description == setting.text
    if setting.range is not None:
        assert str(setting.range) in setting.text


@pytest.mark.parametrize("setting", RANGED, ids=lambda s: s.name)
def test_a_value_beyond_the_range_is_refused_naming_the_range(setting: Setting):
    assert setting.range is not None
    check_settings(ProjectSettings())  # the defaults pass
    for bad in (setting.range.high + 1, setting.range.low - 1):
        with pytest.raises(InvalidInput) as info:
            check_settings(ProjectSettings(**{setting.keyword: bad}))
        assert info.value.field == setting.name
        assert info.value.message == f"{setting.name} must be within {setting.range}, got {bad}"


def test_the_range_is_in_the_schema():
    schema = ProjectPatch.model_json_schema()["properties"]
    for setting in RANGED:
        assert setting.range is not None
        low = "exclusiveMinimum" if setting.range.low_open else "minimum"
        got = schema[setting.name]
        assert (got[low], got["maximum"]) == (setting.range.low, setting.range.high)
    assert all(s.kind in (Kind.WHOLE, Kind.NUMBER, Kind.DAYS_OR_NEVER) for s in RANGED)
