"""`shorts-engine simulate`: try planning policies on simulated channels before trusting one.

Runs each policy for `--days` days of `--per-day` videos on `--seeds` simulated channels (the
production sampler code, in memory) and prints its mean cumulative regret against the simulator's
ground truth, the standard error, and the share of the random-to-oracle gap it closes; and, per
channel, its experiments: completed, decided (a baseline or variant verdict), decided for the arm
whose true expected reward is lower, and the median days from start to a decision.
"""

from __future__ import annotations

import math
from typing import Annotated

import typer

from learning_loop.cli.common import JsonOpt
from learning_loop.cli.output import print_table, show
from learning_loop.errors import InvalidInput
from learning_loop.simulation.policy_names import POLICIES, parse_policies

DAYS_MAX = 1000
PER_DAY_MAX = 100
SEEDS_MAX = 10000
WORKERS_MAX = 64
SD_MAX = 10.0


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InvalidInput(
            f"--{name.replace('_', '-')} must be a whole number from {low} to {high}, got {value}",
            name,
        )


def _check_sd(name: str, value: float) -> None:
    if not math.isfinite(value) or not 0.0 <= value <= SD_MAX:
        raise InvalidInput(
            f"--{name.replace('_', '-')} must be a number from 0 to {SD_MAX:g}, got {value}", name
        )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def simulate(
    policy: Annotated[
        list[str] | None,
        typer.Option(
            "--policy",
            help=f"Policy to simulate: {'|'.join(POLICIES)}; repeat it or separate with commas. "
            "Default: all four.",
        ),
    ] = None,
    days: Annotated[int, typer.Option("--days", help="Simulated days per run.")] = 90,
    per_day: Annotated[int, typer.Option("--per-day", help="Videos planned per day.")] = 5,
    seeds: Annotated[
        int, typer.Option("--seeds", help="Simulated channels (seeds 0..N-1) per policy.")
    ] = 200,
    effect_sd: Annotated[
        float, typer.Option("--effect-sd", help="Sd of the true effect of each field value.")
    ] = 0.15,
    noise_sd: Annotated[
        float, typer.Option("--noise-sd", help="Sd of one video's noise on its quality.")
    ] = 0.35,
    interaction_sd: Annotated[
        float,
        typer.Option("--interaction-sd", help="Sd of the true interactions between fields."),
    ] = 0.0,
    weekday_sd: Annotated[
        float,
        typer.Option(
            "--weekday-sd", help="Sd of the day of the week's pull on every video of the day."
        ),
    ] = 0.0,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Worker processes (default: up to 2).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Mean cumulative regret of planning policies on simulated channels, with the gap closed."""
    try:
        policies = parse_policies(policy)
    except ValueError as exc:
        raise InvalidInput(str(exc), "policy") from None
    _check_int("days", days, 1, DAYS_MAX)
    _check_int("per_day", per_day, 1, PER_DAY_MAX)
    _check_int("seeds", seeds, 1, SEEDS_MAX)
    if workers is not None:
        _check_int("workers", workers, 1, WORKERS_MAX)
    for name, value in (
        ("effect_sd", effect_sd),
        ("noise_sd", noise_sd),
        ("interaction_sd", interaction_sd),
        ("weekday_sd", weekday_sd),
    ):
        _check_sd(name, value)

    # numpy-heavy: load on use
    from learning_loop.simulation.channel import ChannelConfig
    from learning_loop.simulation.regret import compare

    results = compare(
        policies,
        seeds=seeds,
        days=days,
        per_day=per_day,
        channel=ChannelConfig(
            effect_sd=effect_sd,
            noise_sd=noise_sd,
            interaction_sd=interaction_sd,
            weekday_sd=weekday_sd,
        ),
        workers=workers,
    )
    knobs = {
        "effect_sd": effect_sd,
        "noise_sd": noise_sd,
        "interaction_sd": interaction_sd,
        "weekday_sd": weekday_sd,
    }
    document = [{**r.as_dict(), **knobs} for r in results]
    show(
        json_out,
        document,
        lambda: print_table(
            f"Cumulative regret: {seeds} seeds x {days} days x {per_day}/day, sd effect "
            f"{effect_sd:g} noise {noise_sd:g} interaction {interaction_sd:g} weekday "
            f"{weekday_sd:g}",
            [
                "policy",
                "regret_mean",
                "regret_se",
                "gap_closed",
                "regret_per_video",
                "experiments_completed",
                "experiments_decided",
                "experiments_wrong",
                "days_to_decision_median",
            ],
            [_row(r.as_dict()) for r in results],
        ),
    )


def _row(result: dict[str, object]) -> tuple[object, ...]:
    def number(key: str, digits: int) -> str | None:
        value = result[key]
        return None if value is None else f"{float(value):.{digits}f}"  # type: ignore[arg-type]

    gap = result["gap_closed"]
    return (
        result["policy"],
        number("regret_mean", 2),
        number("regret_se", 2),
        _percent(None if gap is None else float(gap)),  # type: ignore[arg-type]
        number("regret_per_video", 4),
        number("experiments_completed", 2),
        number("experiments_decided", 2),
        number("experiments_wrong", 2),
        number("days_to_decision_median", 1),
    )
