"""Learning efficiency on the simulator (issue #7, points 3 and 4): cumulative regret per policy.

    python -m bench.learning            # 200 seeds x 90 days x 5 videos/day, additive channel
                                        # and a channel with interactions
    python -m bench.learning --quick    # 20 seeds x 30 days (under a minute)

For each channel setting, every policy (seed = the product's default 70/30 sampler, thompson,
and the yardsticks random and oracle) runs on the same simulated channels (seed s runs on
ChannelConfig(seed=s)) through the production sampler code (`learning_loop.simulation.regret`).
Printed: mean cumulative regret +- its standard error over seeds, the share of the
random-to-oracle gap closed, and Thompson's regret relative to the seed policy's, paired over
seeds (delta-method standard error). Goals (issue #7): Thompson at least 35% less regret than
the seed policy on the additive channel, and no worse than it on a channel with interactions.
A final markdown block sums it up.
"""

from __future__ import annotations

import argparse
import time

from bench.common import record
from learning_loop.simulation.policy_names import POLICIES
from learning_loop.simulation.regret import (
    PolicyResult,
    default_workers,
    relative_regret,
    simulate_regrets,
    summarise,
)

EFFECT_SD = 0.15
NOISE_SD = 0.35
INTERACTION_SD = 0.15  # interactions as strong as the main effects
GOAL_ADDITIVE = -0.35
GOAL_INTERACTIONS = 0.0


def _run(
    label: str, seeds: int, days: int, per_day: int, interaction_sd: float, workers: int
) -> tuple[str, list[PolicyResult], tuple[float, float], float]:
    start = time.perf_counter()
    regrets = simulate_regrets(
        POLICIES,
        seeds=seeds,
        days=days,
        per_day=per_day,
        effect_sd=EFFECT_SD,
        noise_sd=NOISE_SD,
        interaction_sd=interaction_sd,
        workers=workers,
    )
    wall = time.perf_counter() - start
    results = summarise(regrets, days, per_day)
    relative = relative_regret(regrets["thompson"], regrets["seed"])
    print(
        f"\n{label}: {seeds} seeds x {days} days x {per_day}/day, effect_sd {EFFECT_SD}, "
        f"noise_sd {NOISE_SD}, interaction_sd {interaction_sd} ({wall:.1f} s, {workers} workers)"
    )
    for r in results:
        gap = "-" if r.gap_closed is None else f"{100 * r.gap_closed:5.1f}%"
        print(
            f"  {r.policy:9s} regret {r.regret_mean:8.2f} +- {r.regret_se:5.2f}   gap closed {gap}"
        )
    print(f"  thompson vs seed: {100 * relative[0]:+.1f}% +- {100 * relative[1]:.1f}% regret")
    return label, results, relative, wall


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 seeds x 30 days")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--per-day", type=int, default=5)
    parser.add_argument("--workers", type=int, default=default_workers())
    args = parser.parse_args(argv)
    seeds = args.seeds or (20 if args.quick else 200)
    days = args.days or (30 if args.quick else 90)

    runs = [
        _run("Additive channel", seeds, days, args.per_day, 0.0, args.workers),
        _run("Channel with interactions", seeds, days, args.per_day, INTERACTION_SD, args.workers),
    ]

    lines = [
        f"Cumulative regret (sum over {days} days x {args.per_day} videos/day of "
        "expected_reward(best) - expected_reward(chosen)), mean +- standard error over "
        f"{seeds} simulated channels (seeds 0..{seeds - 1}); gap closed = (R_random - R_policy) / "
        f"(R_random - R_oracle). effect_sd {EFFECT_SD}, noise_sd {NOISE_SD}.",
        "",
        "| channel | policy | regret | gap closed |",
        "|---|---|---|---|",
    ]
    for label, results, _, _ in runs:
        for r in results:
            gap = "-" if r.gap_closed is None else f"{100 * r.gap_closed:.1f}%"
            lines.append(
                f"| {label.lower()} | {r.policy} | {r.regret_mean:.2f} +- {r.regret_se:.2f} "
                f"| {gap} |"
            )
    lines += [
        "",
        "| channel | Thompson vs seed (regret) | goal | met | wall time |",
        "|---|---|---|---|---|",
    ]
    for (label, _, (rel, se), wall), goal in zip(
        runs, (GOAL_ADDITIVE, GOAL_INTERACTIONS), strict=True
    ):
        met = "yes" if rel <= goal else "no"
        lines.append(
            f"| {label.lower()} | {100 * rel:+.1f}% +- {100 * se:.1f}% | <= {100 * goal:+.0f}% "
            f"| {met} | {wall:.0f} s |"
        )
    print("\n```markdown")
    print("\n".join(lines))
    print("```")
    if not args.quick:
        record("Learning efficiency (bench.learning)", "\n".join(lines))


if __name__ == "__main__":
    main()
