"""`shorts-engine learn recipes`, `insights` and `experiments`: what the loop has learnt, as
tables; and the recipe's columns the other tables share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from learning_loop.cli.common import JsonOpt, ProjectOpt, database
from learning_loop.cli.output import print_table, show
from learning_loop.cli.services import experiments as experiments_service
from learning_loop.cli.services import stats
from learning_loop.domain.formatting import interval_text
from learning_loop.domain.guardrail import REASON_GUARDRAIL, state_text
from learning_loop.domain.recipe import RECIPE_FIELDS
from learning_loop.domain.refs import short_id
from learning_loop.domain.statuses import ExperimentStatus

if TYPE_CHECKING:
    from learning_loop.services.views import (
        ExperimentStanding,
        ExperimentView,
        InsightsView,
        RecipeFields,
        RecipeView,
        SkippedTopicView,
    )

# The recipe fields (`RECIPE_FIELDS`) as the tables head them.
RECIPE_COLUMNS = ("preset", "hook", "scenes", "wpm", "captions", "ending")


def short_hash(h: str | None) -> str | None:
    """A recipe hash as the tables show it: its first 12 characters."""
    return h[:12] if h else h


def recipe_cells(r: RecipeFields) -> tuple[object, ...]:
    """A recipe's values under `RECIPE_COLUMNS`."""
    return tuple(getattr(r, field) for field in RECIPE_FIELDS)


def echo_skipped(skipped: list[SkippedTopicView], note: str | None) -> None:
    for s in skipped:
        typer.echo(f"skipped topic {s.topic!r}: {s.reason}")
    if note:
        typer.echo(note)


def print_recipes(title: str, rows: list[RecipeView]) -> None:
    print_table(
        title,
        [
            "#",
            "recipe_hash",
            *RECIPE_COLUMNS,
            "estimate [95%]",
            "planned",
            "published",
            "rewarded",
            "window avg",
        ],
        [
            (
                i,
                short_hash(r.recipe_hash),
                *recipe_cells(r),
                interval_text(r.estimate, r.estimate_low, r.estimate_high),
                r.planned_videos,
                r.published_videos,
                r.evidence_videos,
                r.avg_reward_score,
            )
            for i, r in enumerate(rows, start=1)
        ],
    )


def recipes(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Recipes, best first by estimate (the model's expected reward over the whole history,
    with its 95% interval), its videos planned, published and rewarded, and the raw average
    of the window's videos."""
    from learning_loop.services.recipes import list_recipes

    rows = list_recipes(database(), project)

    def text() -> None:
        print_recipes("Recipes (best first)", rows)
        if not rows or all(r.estimate is None for r in rows):
            for hint in stats.missing_steps_of(database(), project):
                typer.echo(f"hint: {hint}")

    show(json_, rows, text)


def insights(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Which value of each recipe field works on this channel: each value's effect on the
    expected reward against the default recipe's value, with a 95% interval, the videos behind
    it and the chance it is the best, and one sentence per field."""
    from learning_loop.services.estimates import insights as project_insights

    view = project_insights(database(), project)
    show(json_, view, lambda: _print_insights(view))


def _print_insights(view: InsightsView) -> None:
    fading = (
        "evidence never fades"
        if view.half_life_days is None
        else f"evidence counts half every {view.half_life_days} days"
    )
    typer.echo(f"{view.videos} rewarded video(s) as of {view.as_of or '-'}; {fading}")
    for f in view.fields:
        typer.echo(f.summary)
    for f in view.fields:
        print_table(
            f"{f.field} (against {f.reference})",
            ["value", "effect", "95% interval", "videos", "P(best)"],
            [
                (
                    v.value,
                    f"{v.effect:+.3f}",
                    f"[{v.low:+.3f}, {v.high:+.3f}]",
                    v.videos,
                    f"{100 * v.p_best:.0f}%",
                )
                for v in f.values
            ],
        )


def experiments(
    project: ProjectOpt,
    status: Annotated[
        ExperimentStatus | None, typer.Option("--status", help="Only this status.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Experiments and their verdicts; a running one with where it stands (rewarded videos per
    arm, the difference with its always-valid interval, expected days to the verdict), a
    completed one with the minimum effect its test could detect (MDE). Both show the pooled,
    adjusted difference (every rewarded video, adjusted for the other fields) with its
    always-valid interval, and a completed one which evidence decided it and its guardrail
    (the component, whether the variant hurt it and the p-value)."""
    rows = experiments_service.list_experiments(database(), project, status)
    show(json_, rows, lambda: print_experiments(rows))


def print_experiments(rows: Sequence[ExperimentView]) -> None:
    """The experiments table of `learn experiments` (and of the demo's summary)."""
    print_table(EXPERIMENTS_TITLE, EXPERIMENT_COLUMNS, [_experiment_cells(e) for e in rows])


EXPERIMENTS_TITLE = (
    "Experiments (running: always-valid 95% intervals; completed: the verdict's, and p the "
    "deciding test's)"
)
EXPERIMENT_COLUMNS = (
    "id",
    "status",
    "change",
    "jobs",
    "n base/var",
    "arms diff [interval]",
    "p",
    "pooled diff [interval]",
    "winner",
    "decided by",
    "MDE",
    "guardrail",
    "days to verdict",
)


def _experiment_cells(e: ExperimentView) -> tuple[object, ...]:
    now = e.standing
    n_arms: str | None
    days: str | None = None
    if now is not None:  # running: where it stands
        n_arms = f"{now.baseline_n}/{now.variant_n}"
        diff, low, high = now.difference, now.ci_low, now.ci_high
        if now.expected_days_to_decision is not None:
            days = f"~{now.expected_days_to_decision:.1f}"
    else:
        n_arms = f"{e.baseline_n}/{e.variant_n}" if e.baseline_n is not None else None
        diff, low, high = e.difference, e.ci_low, e.ci_high
    pooled = now if now is not None else e
    return (
        short_id(e.id),
        e.status,
        f"{e.variable_tested}: {e.baseline_value} → {e.variant_value}",
        e.variant_jobs,
        n_arms,
        _difference_text(diff, low, high),
        _deciding_p(e),
        _pooled_text(e, pooled),
        _winner_text(e, pooled.allocation_p_value),
        e.decision_rule,
        e.mde,
        state_text(e.guardrail, e.guardrail_p_value, e.reason),
        days,
    )


def _pooled_text(e: ExperimentView, pooled: ExperimentView | ExperimentStanding) -> str | None:
    """The pooled difference and interval, marked when the final look adjusted it for the
    publication time."""
    text = _difference_text(pooled.pooled_difference, pooled.pooled_ci_low, pooled.pooled_ci_high)
    return f"{text} (time-adj.)" if text and e.pooled_time_adjusted else text


def _deciding_p(e: ExperimentView) -> float | None:
    """The p-value of the test that decided a verdict: at a final look judged with the pooled
    contrast, the pooled test's, even when it found nothing (the arms' Welch figures are shown
    beside it but decide nothing there); else the verdict's own."""
    from learning_loop.domain.experiments import RULE_FIXED_LOOK

    if e.decision_rule == RULE_FIXED_LOOK and e.pooled_p_value is not None:
        return e.pooled_p_value
    return e.p_value


def _winner_text(e: ExperimentView, allocation: float | None) -> str | None:
    """The winner, and why a completed experiment has none when no test's p-value says it:
    the allocation check or the guardrail held the verdict back, or too few videos by the
    deadline."""
    from learning_loop.domain.experiments import (
        ALLOCATION_ALPHA,
        REASON_ALLOCATION,
        REASON_TOO_FEW,
    )

    if e.winner is None:
        return "waits: allocation mismatch" if (allocation or 1.0) < ALLOCATION_ALPHA else None
    why = {
        REASON_ALLOCATION: "allocation mismatch",
        REASON_GUARDRAIL: "guardrail",
        REASON_TOO_FEW: "too few videos",
    }.get(e.reason or "")
    return e.winner if why is None else f"{e.winner} ({why})"


def _difference_text(value: float | None, low: float | None, high: float | None) -> str | None:
    """A difference with its interval (unbounded while the evidence is too thin)."""
    if value is None:
        return None
    if low is None or high is None:
        return f"{value:.3f} [unbounded]"
    return interval_text(value, low, high)
