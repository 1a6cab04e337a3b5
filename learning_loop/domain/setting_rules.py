"""What each kind of project setting means (`domain.project_settings` declares the settings):
a project's values, a change to them, their checks and messages, their text and JSON forms,
and their stored columns. Nothing here names a setting; it reads the declarations.

Light at import, as the declarations: the CLI parses its options' text with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from enum import StrEnum
from typing import Any, Self

from learning_loop.domain.project_settings import BY_KEYWORD, SETTINGS, Kind, Setting
from learning_loop.domain.recipe import InvalidRecipe, Recipe, check_preset
from learning_loop.domain.rewards import RewardWeights
from learning_loop.domain.topics import InvalidTopic, clean_topic
from learning_loop.errors import InvalidInput

NEVER = "never"
BACKLOG_MAX = 10_000

CATALOGUE = next(s for s in SETTINGS if s.kind is Kind.PRESETS)


class _Values:
    """Setting values by name, read as attributes, by name or by keyword (`s.weights`);
    immutable, compared by value. Built with the settings' keywords."""

    __slots__ = ("_values",)
    _values: dict[str, Any]

    def __init__(self, **values: Any) -> None:
        known: dict[str, Any] = {}
        for key, value in values.items():
            setting = BY_KEYWORD.get(key)
            if setting is None:
                raise TypeError(f"{type(self).__name__} has no setting {key!r}")
            known[setting.name] = value
        object.__setattr__(self, "_values", self._complete(known))

    def _complete(self, values: dict[str, Any]) -> dict[str, Any]:
        return values

    def __getattr__(self, key: str) -> Any:
        setting = BY_KEYWORD.get(key)
        if setting is None or key.startswith("_"):
            raise AttributeError(key)
        return self._values[setting.name]

    def __setattr__(self, key: str, value: object) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to {key}")

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, _Values)
            and other._values == self._values
        )

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._values.items())))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"{type(self).__name__}({shown})"

    def value(self, setting: Setting) -> Any:
        return self._values[setting.name]


class ProjectSettings(_Values):
    """Every setting of a project, checked by `check_settings` (a default for any not given)."""

    __slots__ = ()

    def _complete(self, values: dict[str, Any]) -> dict[str, Any]:
        return {s.name: values.get(s.name, s.default) for s in SETTINGS}

    def replace(self, **values: Any) -> Self:
        return type(self)(**{**self._values, **values})


class SettingsChange(_Values):
    """The settings a `configure` asks to change; None (or empty) leaves a setting as it is.
    `add_presets` and `remove_presets` edit the catalogue instead of replacing it. The days of
    a half-life may be text: a number, or "never"."""

    __slots__ = ("add_presets", "remove_presets")
    add_presets: tuple[str, ...]
    remove_presets: tuple[str, ...]

    def __init__(
        self,
        *,
        add_presets: tuple[str, ...] = (),
        remove_presets: tuple[str, ...] = (),
        **values: Any,
    ) -> None:
        super().__init__(**values)
        object.__setattr__(self, "add_presets", tuple(add_presets))
        object.__setattr__(self, "remove_presets", tuple(remove_presets))

    def __eq__(self, other: object) -> bool:
        return (
            super().__eq__(other)
            and isinstance(other, SettingsChange)
            and (other.add_presets, other.remove_presets) == (self.add_presets, self.remove_presets)
        )

    __hash__ = _Values.__hash__

    def asked(self) -> Iterator[tuple[Setting, Any]]:
        """The settings asked for, with their values as given."""
        for setting in SETTINGS:
            value = self._values.get(setting.name)
            if value is not None:
                yield setting, value


def check_range(setting: Setting, value: float) -> None:
    if setting.range is not None and value not in setting.range:
        raise InvalidInput(
            f"{setting.name} must be within {setting.range}, got {value}", setting.name
        )


def days_or_never(setting: Setting, value: int | str) -> int | None:
    """Days as given: a whole number, or "never" (None: evidence never fades)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == NEVER:
            return None
        if not text.isdigit():
            raise InvalidInput(
                f"{setting.name} must be a whole number of days or {NEVER!r}, got {value[:40]!r}",
                setting.name,
            )
        value = int(text)
    check_range(setting, value)
    return value


def _checked_presets(setting: Setting, presets: tuple[str, ...]) -> tuple[str, ...]:
    for preset in presets:
        try:
            check_preset(preset)
        except InvalidRecipe as exc:
            raise InvalidInput(str(exc), setting.name) from None
    return tuple(presets)


def _cleaned_topics(setting: Setting, topics: tuple[str, ...]) -> tuple[str, ...]:
    if len(topics) > BACKLOG_MAX:
        raise InvalidInput(f"at most {BACKLOG_MAX} topics in the backlog", setting.name)
    cleaned = []
    for i, topic in enumerate(topics):
        try:
            cleaned.append(clean_topic(topic))
        except InvalidTopic as exc:
            raise InvalidInput(f"{setting.name}[{i}]: {exc}", setting.name) from None
    return tuple(cleaned)


def asked_values(change: SettingsChange) -> dict[str, Any]:
    """The values `change` asks for, as the settings hold them: the days read ("never": None),
    the preset names checked, the topics checked and cleaned (InvalidInput naming the setting).
    The ranges and the rules between settings are `check_settings`', on the merged settings, so
    that the errors come in the order of docs/decisions.md ("Project settings")."""
    asked: dict[str, Any] = {}
    for setting, value in change.asked():
        if setting.kind is Kind.DAYS_OR_NEVER:
            value = days_or_never(setting, value)
        elif setting.kind is Kind.TOPICS:
            value = _cleaned_topics(setting, tuple(value))
        elif setting.kind is Kind.PRESETS:
            value = _checked_presets(setting, tuple(value))
        asked[setting.name] = value
    return asked


def check_settings(s: ProjectSettings) -> None:
    """Every setting of `s` within its rules, in the declared order (InvalidInput naming the
    first that is not). The topics are checked, and cleaned, when given (`asked_values`)."""
    for setting in SETTINGS:
        value = s.value(setting)
        if setting.kind in (Kind.WHOLE, Kind.NUMBER) or (
            setting.kind is Kind.DAYS_OR_NEVER and value is not None
        ):
            check_range(setting, value)
        elif setting.kind is Kind.WEIGHTS:
            try:
                value.validate()
            except ValueError as exc:
                raise InvalidInput(f"{setting.name}: {exc}", setting.name) from None
        elif setting.kind is Kind.PRESETS:
            if not value:
                raise InvalidInput(f"{setting.name} must name at least one preset", setting.name)
            if len(set(value)) != len(value):
                raise InvalidInput(f"{setting.name} must not name a preset twice", setting.name)
            _checked_presets(setting, value)
    for setting in SETTINGS:
        recipe = s.value(setting)
        if setting.kind is Kind.RECIPE and recipe.preset not in s.value(CATALOGUE):
            raise InvalidInput(
                f"{setting.name}.preset {recipe.preset} is not in the preset catalogue",
                setting.name,
            )


def from_text(setting: Setting, text: str) -> Any:
    """A value as the CLI's option gives it (the text of its `metavar`)."""
    if setting.kind is Kind.PRESETS:
        return tuple(p.strip() for p in text.split(",") if p.strip())
    if setting.kind is Kind.WEIGHTS:
        try:
            weights = [float(p.strip()) for p in text.split(",")]
            if len(weights) != 3:
                raise ValueError
        except ValueError:
            raise InvalidInput(
                f"{setting.name} must be three numbers {setting.metavar}, got {text[:60]!r}",
                setting.name,
            ) from None
        return RewardWeights(*weights)
    if setting.kind is Kind.RECIPE:
        parts = [p.strip() for p in text.split("/")]
        if len(parts) != 6:
            raise InvalidInput(
                f"{setting.name} must be {setting.metavar}, got {text[:80]!r}", setting.name
            )
        try:
            return Recipe(parts[0], parts[1], int(parts[2]), parts[3], parts[4], parts[5])
        except (InvalidRecipe, ValueError) as exc:
            raise InvalidInput(f"{setting.name}: {exc}", setting.name) from None
    return text


def from_json(setting: Setting, value: Any) -> Any:
    """A value as JSON gives it (the API's bodies): objects for the weights and the recipe,
    lists for the catalogue and the topics."""
    if setting.kind is Kind.WEIGHTS:
        return RewardWeights(**dict(value))
    if setting.kind is Kind.RECIPE:
        try:
            return Recipe.from_dict(value)
        except InvalidRecipe as exc:
            raise InvalidInput(f"{setting.name}: {exc}", setting.name) from None
    if setting.kind in (Kind.PRESETS, Kind.TOPICS):
        return tuple(value)
    return value


def to_json(setting: Setting, value: Any) -> Any:
    """A value as `projects show --json`, the API and the change log write it."""
    if setting.kind is Kind.WEIGHTS:
        return dataclasses.asdict(value)
    if setting.kind is Kind.RECIPE:
        return value.to_dict()
    if setting.kind in (Kind.PRESETS, Kind.TOPICS):
        return list(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


def to_columns(setting: Setting, value: Any) -> dict[str, Any]:
    """The stored columns' values of a setting (`setting.columns`)."""
    if setting.kind is Kind.WEIGHTS:
        return dict(zip(setting.columns, value.as_tuple(), strict=True))
    if isinstance(value, StrEnum):  # an enumeration's column takes the member itself
        return dict(zip(setting.columns, [value], strict=True))
    return dict(zip(setting.columns, [to_json(setting, value)], strict=True))


def from_columns(setting: Setting, stored: tuple[Any, ...]) -> Any:
    """A setting's value from its stored columns' values, in the order of `setting.columns`."""
    if setting.kind is Kind.WEIGHTS:
        return RewardWeights(*stored)
    (value,) = stored
    if setting.kind is Kind.RECIPE:
        return Recipe.from_dict(value)
    if setting.kind in (Kind.PRESETS, Kind.TOPICS):
        return tuple(value)
    if setting.choices is not None:
        return setting.choices(value)
    return value
