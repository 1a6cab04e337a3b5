"""Every project setting, declared once (issue #28): its name, kind, default, range, help text
(with the unit) and whether its changes are recorded.

Everything else follows from `SETTINGS`: the checks and their messages
(`domain.setting_rules`), the reading and writing of the stored columns and the change log
(`services.projects`), the views (`services.views`), the API's bodies (`api.schemas`) and the
CLI's options (`cli.setting_options`). Adding a setting is one `Setting` here, plus its column in
`db/models.py` and a migration.

Light at import (the CLI builds its options from it): dataclasses and enums only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from learning_loop.domain.decay import (
    DEFAULT_HALF_LIFE_DAYS,
    HALF_LIFE_MAX_DAYS,
    HALF_LIFE_MIN_DAYS,
)
from learning_loop.domain.recipe import DEFAULT_PRESETS, DEFAULT_RECIPE
from learning_loop.domain.rewards import RewardWeights
from learning_loop.domain.statuses import ExploitScope, Guardrail, PlannerBackend, Policy


class Kind(enum.Enum):
    """What a setting's value is: each kind is read, checked, stored and shown its own way
    (`domain.setting_rules` and the layers above)."""

    WHOLE = "an int within its range"
    NUMBER = "a float within its range"
    CHOICE = "a member of its enum (`choices`), stored as its value"
    DAYS_OR_NEVER = "an int of days within its range, or None for never ('never' as text)"
    WEIGHTS = "a RewardWeights, one stored column per weight"
    PRESETS = "the preset catalogue: a tuple of preset names, none twice"
    RECIPE = "a Recipe, whose preset is in the catalogue"
    SWITCH = "a bool"
    TOPICS = "a tuple of topics, each cleaned"


@dataclass(frozen=True)
class Range:
    """The values a number may take: `low..high`, or `(low, high]` when `low` is excluded."""

    low: float
    high: float
    low_open: bool = False

    def __contains__(self, value: float) -> bool:
        # NaN and infinities fail the comparison too.
        if self.low_open:
            return self.low < value <= self.high
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"({self.low}, {self.high}]" if self.low_open else f"{self.low}..{self.high}"


@dataclass(frozen=True)
class Setting:
    """One project setting.

    `name` is its field everywhere: the API's bodies and views, `projects show`, the change
    log, and (with dashes) the CLI's option. `help` is the CLI's help and the API's description;
    `{range}` in it stands for the range. `recorded`: its changes go to the change log and
    `projects show` lists it. `at_creation`: `projects create` and `POST /projects` take it
    (`configure` and `PATCH` take every setting).
    """

    name: str
    kind: Kind
    default: Any
    help: str
    range: Range | None = None
    choices: type[StrEnum] | None = None
    recorded: bool = True
    at_creation: bool = True
    # The columns of `projects` that store it (default: one column named as the setting).
    columns: tuple[str, ...] = ()
    # Its keyword in `ProjectSettings`/`SettingsChange` when not its name.
    keyword: str = ""
    # The CLI's option when not `--name-with-dashes`, and the placeholder of its value.
    option: str = ""
    metavar: str | None = None
    # Its column header in `projects list`; None: not listed.
    listed: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", self.columns or (self.name,))
        object.__setattr__(self, "keyword", self.keyword or self.name)
        object.__setattr__(self, "option", self.option or f"--{self.name.replace('_', '-')}")

    @property
    def text(self) -> str:
        """The help, its range written in."""
        return self.help.replace("{range}", str(self.range))


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "presets",
        Kind.PRESETS,
        DEFAULT_PRESETS,
        "The whole preset catalogue.",
        metavar="A,B,C",
        listed="presets",
    ),
    Setting(
        "reward_weights",
        Kind.WEIGHTS,
        RewardWeights(),
        "Weights of avg view duration, views in 6 h and engagement (>= 0, sum 1).",
        columns=("weight_avg_view_duration", "weight_views_6h", "weight_engagement"),
        keyword="weights",
        metavar="W1,W2,W3",
    ),
    Setting(
        "window_days",
        Kind.WHOLE,
        30,
        "Reward and stats window, {range} days.",
        Range(1, 3650),
        listed="window",
    ),
    Setting(
        "explore_rate",
        Kind.NUMBER,
        0.3,
        "Share of explore jobs, {range}.",
        Range(0, 1),
        listed="explore",
    ),
    Setting("top_k", Kind.WHOLE, 3, "Recipes exploited, {range}.", Range(1, 100)),
    Setting(
        "max_running_experiments",
        Kind.WHOLE,
        6,
        "Experiments running at once, {range}.",
        Range(1, 100),
    ),
    Setting(
        "min_samples",
        Kind.WHOLE,
        8,
        "Videos per arm before a decision, {range}.",
        Range(2, 10_000),
    ),
    Setting("max_days", Kind.WHOLE, 28, "Days an experiment may run, {range}.", Range(1, 3650)),
    Setting(
        "alpha",
        Kind.NUMBER,
        0.05,
        "Significance level of the test, {range}.",
        Range(0, 0.5, low_open=True),
    ),
    Setting(
        "default_recipe",
        Kind.RECIPE,
        DEFAULT_RECIPE,
        "The recipe planned when there is no history; its preset must be in the catalogue.",
        metavar="PRESET/HOOK/SCENES/WPM_BUCKET/DENSITY_BUCKET/ENDING",
    ),
    Setting(
        "target_duration_s",
        Kind.NUMBER,
        45.0,
        "Target video length, {range} s.",
        Range(1, 600),
    ),
    Setting(
        "policy",
        Kind.CHOICE,
        Policy.SEED,
        "seed (70% exploit / 30% explore, default) or thompson.",
        choices=Policy,
    ),
    Setting(
        "auto_plan",
        Kind.SWITCH,
        False,
        "Plan a batch every night (02:00 UTC).",
        at_creation=False,
        option="--auto-plan/--no-auto-plan",
    ),
    Setting(
        "auto_plan_count",
        Kind.WHOLE,
        5,
        "Batch size of the nightly plan, {range}.",
        Range(1, 100),
        at_creation=False,
    ),
    Setting(
        "planner_backend",
        Kind.CHOICE,
        PlannerBackend.TEMPLATE,
        "Who writes the jobs' video plans: template (offline, at planning, default) or openai "
        "(after planning, by the video_plans run; LEARNING_LOOP_LLM_* settings).",
        choices=PlannerBackend,
    ),
    Setting(
        "half_life_days",
        Kind.DAYS_OR_NEVER,
        DEFAULT_HALF_LIFE_DAYS,
        "How fast old evidence fades in the recipe estimates: {range} days, or never.",
        Range(HALF_LIFE_MIN_DAYS, HALF_LIFE_MAX_DAYS),
        metavar="DAYS|never",
    ),
    Setting(
        "exploit_scope",
        Kind.CHOICE,
        ExploitScope.CATALOGUE,
        "Recipes exploit slots may take: catalogue (every recipe, ranked by estimate, default) "
        "or made (only recipes with a rewarded video).",
        choices=ExploitScope,
    ),
    Setting(
        "guardrail",
        Kind.CHOICE,
        Guardrail.ENGAGEMENT,
        "The reward component a variant's win must not significantly hurt: engagement "
        "(default), avg_view_duration, views_6h, or none.",
        choices=Guardrail,
    ),
    Setting(
        "topic_backlog",
        Kind.TOPICS,
        (),
        "The topic backlog in order of use, replacing the one before (the CLI reads a file: "
        "one topic a line).",
        recorded=False,
        at_creation=False,
        option="--backlog-file",
    ),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
BY_KEYWORD: dict[str, Setting] = {**BY_NAME, **{s.keyword: s for s in SETTINGS}}
