"""The project report as a self-contained HTML page: a Jinja2 template with inline SVG charts.

Receives a `ProjectReportData` (built by `learning_loop.services.report`); imports nothing from
services.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from markupsafe import Markup

from learning_loop.reporting.data import MODE_WORDS, SMOOTHING_DAYS, PooledRow, ProjectReportData
from learning_loop.reporting.svg import interval_chart, line_chart, stacked_bars

if TYPE_CHECKING:  # imported where used: only the report pays for Jinja2
    from jinja2 import Environment

TEMPLATE = "report.html.j2"


@dataclass(frozen=True)
class Card:
    label: str
    value: int


@dataclass(frozen=True)
class Chart:
    title: str
    note: str
    svg: Markup  # drawn by reporting.svg, which escapes every text it places


@cache
def environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("learning_loop.reporting", "templates"),
        # `.html.j2` is not among select_autoescape's default extensions: name it explicitly.
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def reward_note(data: ProjectReportData) -> str:
    """What the daily chart shows: the lines it has, in words, and the smoothing."""
    modes = [MODE_WORDS[s.mode] for s in data.reward_per_day]
    if not modes:
        return "By publication day, once videos have rewards."
    lines = modes[0] if len(modes) == 1 else ", ".join(modes[:-1]) + " and " + modes[-1]
    return (
        f"By publication day, one line per way the videos were made: {lines}. Each line is the "
        f"average reward of the last {SMOOTHING_DAYS} days' videos; the faint dots are the "
        "single days' averages, which swing with few videos a day."
    )


def leaderboard_note(data: ProjectReportData) -> str:
    shown = len(data.leaderboard)
    which = (
        f"The best {shown} of the {data.recipes_estimated} recipes with an estimate"
        if data.recipes_estimated > shown
        else f"All {shown} recipes with an estimate"
    )
    return (
        f"{which}, best first (shorts-engine learn recipes lists them all). Each recipe's "
        "estimate is the expected reward from the model of every rewarded video (the recipes' "
        "shared field values pooled, old videos weighted down), with its 95% interval, and the "
        "videos made with the recipe that have a reward. A label reads preset · hook · scenes "
        "· narration speed · caption density · ending."
    )


def report_charts(data: ProjectReportData) -> list[Chart]:
    return [
        Chart(
            "Average reward per day",
            reward_note(data),
            Markup(
                line_chart(
                    "reward-per-day",
                    "Average reward per day",
                    [d.isoformat() for d in data.days],
                    {s.mode: s.smoothed for s in data.reward_per_day},
                    x_title="publication day",
                    y_title=f"reward ({SMOOTHING_DAYS}-day average)",
                    points={s.mode: s.means for s in data.reward_per_day},
                )
            ),
        ),
        Chart(
            "Recipe leaderboard",
            leaderboard_note(data),
            Markup(
                interval_chart(
                    "leaderboard",
                    "Recipe leaderboard",
                    [(r.label, r.mean, r.ci_low, r.ci_high) for r in data.leaderboard],
                    (0.0, 1.0),
                    empty="No recipe has a reward yet.",
                    x_title="expected reward (0 to 1), with its 95% interval",
                )
            ),
        ),
        Chart(
            "Experiments",
            "Difference of mean reward, variant minus baseline. A decided experiment shows the "
            "interval of its verdict (the always-valid one for an early decision, else the 95% "
            "Welch one), which evidence decided it and the minimum effect (MDE) its test "
            "detected with 80% power; a running one, where it stands: its always-valid 95% "
            "interval (valid however often it is looked at), the rewarded videos per arm and the "
            "expected days to its verdict at the current traffic. Below each, its pooled "
            "difference: every rewarded video with either value, adjusted for the other fields, "
            "with its always-valid 95% interval (none drawn while the evidence is too thin).",
            Markup(
                interval_chart(
                    "experiments",
                    "Experiments",
                    _experiment_rows(data),
                    zero_line=True,
                    empty="No experiment has a verdict yet.",
                    x_title="difference of mean reward, variant minus baseline",
                )
            ),
        ),
        Chart(
            "Explore / exploit mix per batch",
            "Jobs planned per batch by mode.",
            Markup(
                stacked_bars(
                    "mix",
                    "Explore / exploit mix",
                    [b.batch_date.isoformat() for b in data.batches],
                    {
                        "exploit": [b.exploit for b in data.batches],
                        "explore": [b.explore for b in data.batches],
                    },
                    x_title="batch (planning day)",
                    y_title="jobs planned",
                )
            ),
        ),
    ] + insight_charts(data)


def _experiment_rows(
    data: ProjectReportData,
) -> list[tuple[str, float, float | None, float | None]]:
    """Each experiment's row (decided, then running), each followed by its pooled row."""
    rows: list[tuple[str, float, float | None, float | None]] = []

    def add(
        label: str,
        difference: float | None,
        low: float | None,
        high: float | None,
        pooled: PooledRow | None,
    ) -> None:
        if difference is not None:
            rows.append((label, difference, low, high))
        if pooled is not None:
            rows.append((pooled.label(label), pooled.difference, pooled.ci_low, pooled.ci_high))

    for e in data.experiments:
        add(e.label, e.difference, e.ci_low, e.ci_high, e.pooled)
    for r in data.running:
        add(r.label, r.difference, r.ci_low, r.ci_high, r.pooled)
    return rows


def insight_charts(data: ProjectReportData) -> list[Chart]:
    """One forest plot per recipe field: each value's effect on the expected reward against the
    field's reference value, with its 95% interval."""
    if not data.insights:
        return [
            Chart(
                "Field insights",
                "What each value of each recipe field does to the expected reward.",
                Markup(
                    interval_chart(
                        "insight",
                        "Field insights",
                        [],
                        empty="No rewarded videos yet.",
                        x_title="effect on the expected reward",
                    )
                ),
            )
        ]
    return [
        Chart(
            f"Field insight: {f.field}",
            f"{f.summary}. Effect on the expected reward against {f.reference} (the default "
            "recipe's value), with its 95% interval; the rewarded videos with the value, and its "
            "chance of being the best.",
            Markup(
                interval_chart(
                    f"insight-{f.field}",
                    f"Field insight: {f.field}",
                    [(v.label, v.effect, v.low, v.high) for v in f.values],
                    zero_line=True,
                    x_title=f"effect on the expected reward against {f.reference}",
                )
            ),
        )
        for f in data.insights
    ]


def render_report(data: ProjectReportData) -> str:
    cards = [
        Card("videos with a reward", data.videos_rewarded),
        Card("batches planned", len(data.batches)),
        Card("experiments running", data.experiments_running),
        Card("experiments decided", data.experiments_completed),
    ]
    template = environment().get_template(TEMPLATE)
    return template.render(data=data, cards=cards, charts=report_charts(data))
