"""Learning on the simulator: what the estimates know, and the regret of the policies that use them.

    python -m bench.learning            # 200 seeds x 90 days x 5 videos/day; 200 histories
    python -m bench.learning --quick    # 12 seeds x 30 days; 20 histories (about a minute)

Everything runs the product's own rules (`learning_loop.simulation`): its planners, rewards,
estimates (`domain.estimates`) and verdicts, never a copy. Two channel settings: additive, and
with interactions as strong as the main effects.

1. **Estimates** (`simulation.estimation`): histories of 300 videos of uniformly random recipes
   (most recipes made 1-3 times), rewarded and estimated by the product. Printed: the Spearman
   correlation with the true expected rewards of the recipe estimates and of the raw averages
   (mean +- SE over histories, scipy's spearmanr as the independent computation), and the
   coverage of the 95% intervals of the recipe estimates (every recipe of the catalogue) and of
   the field effects (every value against its reference), with standard errors over the
   histories.
   Goals: estimates rank closer than raw averages; coverage 90-98% on both channels.
2. **Regret**: cumulative regret of the seed policy (70/30, ranking by estimate over the
   catalogue: the product's), of the seed policy as it was (window averages, `ranking="window"`)
   and restricted to recipes made (`exploit_scope=made`), of Thompson sampling (weighted
   evidence: the product's) and as it was (every video, unweighted), and of the yardsticks
   random and oracle, on the same channels (paired over seeds). Goals: the seed policy at least
   50% less regret than before; Thompson no worse than before (within two standard errors).

3. **Half-life** (`--half-lives 60,90,180,365`, instead of 1 and 2): the regret of the seed
   and Thompson policies with each half-life against `never`, paired over seeds, on the
   additive channel, the channel with interactions and a drifting one (0.01 a day): how the
   default of `half_life_days` was chosen (docs/decisions.md).

A missed goal is reported, never fatal. A final markdown block sums it up.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from bench.common import record
from learning_loop.domain.sampler import PlannerSettings
from learning_loop.domain.statuses import ExploitScope
from learning_loop.simulation.channel import ChannelConfig
from learning_loop.simulation.estimation import EstimationSummary, estimation_quality
from learning_loop.simulation.policy_names import POLICIES
from learning_loop.simulation.regret import (
    LoopSettings,
    default_workers,
    relative_regret,
    simulate_regrets,
)

EFFECT_SD = 0.15
NOISE_SD = 0.35
INTERACTION_SD = 0.15  # interactions as strong as the main effects
HISTORY_VIDEOS = 300
GOAL_SEED_CUT = -0.50
COVERAGE = (0.90, 0.98)

# (label, policy, loop settings): the product's rules first, then the rules they replace.
VARIANTS: tuple[tuple[str, str, LoopSettings], ...] = (
    ("seed", "seed", LoopSettings()),
    ("seed, window averages (before)", "seed", LoopSettings(ranking="window")),
    (
        "seed, recipes made only",
        "seed",
        LoopSettings(planner=PlannerSettings(exploit_scope=ExploitScope.MADE)),
    ),
    ("thompson", "thompson", LoopSettings()),
    ("thompson, unweighted (before)", "thompson", LoopSettings(half_life_days=None)),
)


@dataclass
class ChannelRun:
    label: str
    estimation: EstimationSummary
    regret: dict[str, np.ndarray]
    wall: float


def _mean_se(values: np.ndarray) -> str:
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    return f"{values.mean():.2f} +- {se:.2f}"


def _run(
    label: str,
    seeds: int,
    histories: int,
    days: int,
    per_day: int,
    interaction_sd: float,
    workers: int,
) -> ChannelRun:
    start = time.perf_counter()
    estimation = estimation_quality(histories, HISTORY_VIDEOS, EFFECT_SD, NOISE_SD, interaction_sd)

    def regrets(policies: list[str], settings: LoopSettings) -> dict[str, np.ndarray]:
        return simulate_regrets(
            policies,
            seeds=seeds,
            days=days,
            per_day=per_day,
            channel=ChannelConfig(
                effect_sd=EFFECT_SD, noise_sd=NOISE_SD, interaction_sd=interaction_sd
            ),
            workers=workers,
            settings=settings,
        )

    regret: dict[str, np.ndarray] = {
        name: regrets([policy], settings)[policy] for name, policy, settings in VARIANTS
    }
    yardsticks = regrets([p for p in POLICIES if p in ("random", "oracle")], LoopSettings())
    regret.update(yardsticks)
    run = ChannelRun(label, estimation, regret, time.perf_counter() - start)
    e = estimation
    print(f"\n{label}: interaction_sd {interaction_sd} ({run.wall:.0f} s, {workers} workers)")
    print(
        f"  Spearman with the truth: estimates {e.spearman_estimate[0]:.3f} +- "
        f"{e.spearman_estimate[1]:.3f}, raw averages {e.spearman_raw[0]:.3f} +- "
        f"{e.spearman_raw[1]:.3f} ({e.runs} histories of {HISTORY_VIDEOS} videos)"
    )
    print(
        f"  95% interval coverage: recipes {100 * e.recipe_coverage[0]:.1f}% +- "
        f"{100 * e.recipe_coverage[1]:.1f}%, field effects {100 * e.effect_coverage[0]:.1f}% +- "
        f"{100 * e.effect_coverage[1]:.1f}%"
    )
    for name, values in regret.items():
        print(f"  {name:32s} regret {_mean_se(values)}")
    return run


def _covered(share: float) -> str:
    return "yes" if COVERAGE[0] <= share <= COVERAGE[1] else "no"


DRIFT_SD_PER_DAY = 0.01


def half_life_table(
    half_lives: list[int], seeds: int, days: int, per_day: int, workers: int
) -> list[str]:
    """Regret with each half-life against `never`, per channel and policy (paired)."""
    lines = [
        f"Change in cumulative regret against `half_life_days = never` ({seeds} channels, {days} "
        f"days x {per_day} videos/day, paired over channels, mean +- SE).",
        "",
        "| channel | half-life | seed policy | Thompson |",
        "|---|---|---|---|",
    ]
    additive = ChannelConfig(effect_sd=EFFECT_SD, noise_sd=NOISE_SD)
    channels = (
        ("additive", additive),
        ("interactions (sd 0.15)", dataclasses.replace(additive, interaction_sd=INTERACTION_SD)),
        (
            f"drift ({DRIFT_SD_PER_DAY} a day)",
            dataclasses.replace(additive, drift_sd_per_day=DRIFT_SD_PER_DAY),
        ),
    )
    for label, channel in channels:

        def run(half_life: int | None, channel: ChannelConfig = channel) -> dict[str, np.ndarray]:
            return simulate_regrets(
                ["seed", "thompson"],
                seeds=seeds,
                days=days,
                per_day=per_day,
                channel=channel,
                workers=workers,
                settings=LoopSettings(half_life_days=half_life),
            )

        never = run(None)
        for half_life in half_lives:
            found = run(half_life)
            cells = []
            for policy in ("seed", "thompson"):
                change, se = relative_regret(found[policy], never[policy])
                cells.append(f"{100 * change:+.1f}% +- {100 * se:.1f}%")
            lines.append(f"| {label} | {half_life} | {cells[0]} | {cells[1]} |")
            print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 seeds x 30 days")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--histories", type=int, default=None)
    parser.add_argument("--per-day", type=int, default=5)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument(
        "--half-lives", default=None, help="e.g. 60,90,180,365: the half-life comparison only"
    )
    args = parser.parse_args(argv)
    if args.half_lives:
        seeds = args.seeds or (4 if args.quick else 32)
        days = args.days or (20 if args.quick else 120)
        half_lives = [int(h) for h in args.half_lives.split(",")]
        lines = half_life_table(half_lives, seeds, days, args.per_day, args.workers)
        print("\n```markdown\n" + "\n".join(lines) + "\n```")
        if not args.quick:
            record("Half-life of the evidence (bench.learning --half-lives)", "\n".join(lines))
        return
    seeds = args.seeds or (12 if args.quick else 200)
    days = args.days or (30 if args.quick else 90)
    histories = args.histories or (20 if args.quick else 200)

    runs = [
        _run("Additive channel", seeds, histories, days, args.per_day, 0.0, args.workers),
        _run(
            "Channel with interactions",
            seeds,
            histories,
            days,
            args.per_day,
            INTERACTION_SD,
            args.workers,
        ),
    ]
    lines = [
        f"Estimates: {histories} histories of {HISTORY_VIDEOS} videos of uniformly random recipes "
        f"per channel (seeds 0..{histories - 1}); Spearman correlation with the true expected "
        "rewards over the recipes made (mean +- SE); coverage of the 95% intervals over every "
        "recipe of the catalogue and every field value against its reference (share +- SE "
        f"over the histories). effect_sd {EFFECT_SD}, noise_sd {NOISE_SD}.",
        "",
        "| channel | Spearman, estimates | Spearman, raw averages | recipe coverage | met | "
        "field-effect coverage | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        e = run.estimation
        lines.append(
            f"| {run.label.lower()} | {e.spearman_estimate[0]:.3f} +- {e.spearman_estimate[1]:.3f} "
            f"| {e.spearman_raw[0]:.3f} +- {e.spearman_raw[1]:.3f} "
            f"| {100 * e.recipe_coverage[0]:.1f}% +- {100 * e.recipe_coverage[1]:.1f}% "
            f"| {_covered(e.recipe_coverage[0])} "
            f"| {100 * e.effect_coverage[0]:.1f}% +- {100 * e.effect_coverage[1]:.1f}% "
            f"| {_covered(e.effect_coverage[0])} |"
        )
    lines += [
        "",
        f"Regret: cumulative over {days} days x {args.per_day} videos/day of expected_reward(best) "
        f"- expected_reward(chosen), mean +- SE over {seeds} simulated channels (seeds "
        f"0..{seeds - 1}), every variant on the same channels.",
        "",
        "| channel | policy | regret |",
        "|---|---|---|",
    ]
    for run in runs:
        for name, values in run.regret.items():
            lines.append(f"| {run.label.lower()} | {name} | {_mean_se(values)} |")
    lines += [
        "",
        "| channel | comparison (paired over seeds) | change in regret | goal | met | wall time |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        r = run.regret
        seed_cut = relative_regret(r["seed"], r["seed, window averages (before)"])
        thompson = relative_regret(r["thompson"], r["thompson, unweighted (before)"])
        lines.append(
            f"| {run.label.lower()} | seed: estimates against window averages | "
            f"{100 * seed_cut[0]:+.1f}% +- {100 * seed_cut[1]:.1f}% | <= "
            f"{100 * GOAL_SEED_CUT:+.0f}% | {'yes' if seed_cut[0] <= GOAL_SEED_CUT else 'no'} "
            f"| {run.wall:.0f} s |"
        )
        lines.append(
            f"| {run.label.lower()} | thompson: weighted against unweighted | "
            f"{100 * thompson[0]:+.1f}% +- {100 * thompson[1]:.1f}% | no worse (<= 2 SE) | "
            f"{'yes' if thompson[0] <= 2 * thompson[1] else 'no'} | |"
        )
    print("\n```markdown")
    print("\n".join(lines))
    print("```")
    if not args.quick:
        record("Learning efficiency (bench.learning)", "\n".join(lines))


if __name__ == "__main__":
    main()
