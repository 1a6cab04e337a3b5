"""The settings' options of `projects create` and `projects configure`, built from their
declarations (`domain.project_settings`): one option per setting, its help and placeholder
from the declaration, and the values read back into a `SettingsChange`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from learning_loop.cli.common import read_lines
from learning_loop.domain.project_settings import SETTINGS, Kind, Setting
from learning_loop.domain.setting_rules import SettingsChange, from_text

F = TypeVar("F", bound=Callable[..., Any])


def _option_type(setting: Setting) -> Any:
    """What Typer reads: the enum of a choice, a number, on/off, a file of topics, or text
    (the weights, the catalogue, the recipe and the days-or-never, read by `from_text`)."""
    if setting.choices is not None:
        return setting.choices
    types = {Kind.WHOLE: int, Kind.NUMBER: float, Kind.SWITCH: bool, Kind.TOPICS: Path}
    return types.get(setting.kind, str)


def _parameter(setting: Setting) -> inspect.Parameter:
    option = typer.Option(setting.option, help=setting.text, metavar=setting.metavar)
    return inspect.Parameter(
        setting.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[_option_type(setting) | None, option],
    )


def with_setting_options(*, creating: bool) -> Callable[[F], F]:
    """Give a command one option per setting (per setting taken at creation when `creating`),
    after its first parameter; the command receives them in its `**settings`."""

    def decorate(command: F) -> F:
        own = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(command, eval_str=True).parameters.values()
            if p.kind is not inspect.Parameter.VAR_KEYWORD
        ]
        settings = [_parameter(s) for s in SETTINGS if s.at_creation or not creating]
        command.__signature__ = inspect.Signature([own[0], *settings, *own[1:]])  # type: ignore[attr-defined]
        return command

    return decorate


def settings_change(
    given: Mapping[str, Any],
    add_presets: list[str] | None = None,
    remove_presets: list[str] | None = None,
) -> SettingsChange:
    """The change the options ask for (an option not given: None, the setting left as is)."""
    asked: dict[str, Any] = {}
    for setting in SETTINGS:
        value = given.get(setting.name)
        if value is None:
            continue
        if setting.kind is Kind.TOPICS:
            value = read_lines(value, setting.option.lstrip("-").replace("-", "_"))
        elif isinstance(value, str):
            value = from_text(setting, value)
        asked[setting.keyword] = value
    return SettingsChange(
        add_presets=tuple(add_presets or ()), remove_presets=tuple(remove_presets or ()), **asked
    )
