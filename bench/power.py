"""Experiments that decide (issue #16; contract §7): the verdict rule's errors, power and output.

    python -m bench.power           # 2,000 experiments per row; 200 simulated channels
    python -m bench.power --quick   # 200 experiments per row; 12 channels (CI; records nothing)

Two measurements, both through the product's code:

1. Single experiments (`learning_loop.simulation.ab_honesty.simulate_experiments`): one baseline
   and one variant video a day (the product's rule sees the first min_samples variant videos, as
   the planner plans them), rewards recomputed daily, the product's rule (`decide`) evaluated
   every day. Printed: the share decided with no true difference (A/A, daily looks), the power
   (variant verdicts) at true differences of +0.05, +0.10 and +0.20, and the median days to a
   decision.
2. The loop (`learning_loop.simulation.regret`, as `shorts-engine simulate`): the seed policy on
   the default channel at the default traffic (90 days x 5 videos), per channel: experiments
   completed and decided, the share of decided ones in the wrong direction, and with
   `--effect-sd 0` the share decided; for the product's rule (the arms and the pooled evidence,
   contract §7), the arms alone (the rule before issue #26), the arms alone with both arms at
   min_samples and 3 experiments at once, and the former one (one Welch test at min_samples).
   Then the product's rule on the other channels of issue #26: effect sd 0.12 with noise sd 0.4,
   fields that interact (interaction sd 0.05; wrong direction judged against the difference
   at the experiment's own baseline), and a channel whose weekday pulls every video of the day
   (weekday sd 0.15: the final look's adjustment for the publication time, with and without it,
   and with no true effect).

The run fails (exit 1) when a measured error rate is above its goal by more than two standard
errors: A/A decided share <= 5%, wrong-direction share of decided <= 3%.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from bench.common import record
from learning_loop.domain.batch import PlannerSettings
from learning_loop.domain.experiments import RULE_WELCH
from learning_loop.simulation.ab_honesty import simulate_experiments
from learning_loop.simulation.channel import ChannelConfig
from learning_loop.simulation.regret import LoopSettings, PolicyResult, compare

DIFFERENCES = (0.05, 0.10, 0.20)
GOAL_AA = 0.05
GOAL_WRONG = 0.03
GOAL_DECIDED = 5.8  # decided experiments per channel per 90 days (twice the former 2.9)


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def _se(p: float, n: float) -> float:
    return math.sqrt(max(p * (1 - p), 1e-12) / max(n, 1.0))


# The loop's rules: the product's; the same with both arms at min_samples and 3 experiments at
# once (the rule before the baseline ratio); the former one Welch look at min_samples.
RULES: tuple[tuple[str, str, LoopSettings], ...] = (
    ("product", "the product's rule (arms and pooled evidence)", LoopSettings()),
    ("arms", "the arms alone (the rule before issue #26)", LoopSettings(pooled=False)),
    (
        "previous",
        "arms alone, both at min_samples, 3 at once",
        LoopSettings(
            baseline_ratio=1, pooled=False, planner=PlannerSettings(max_running_experiments=3)
        ),
    ),
    (
        "fixed",
        "former rule (one Welch look)",
        LoopSettings(
            rule=RULE_WELCH,
            baseline_ratio=1,
            pooled=False,
            planner=PlannerSettings(max_running_experiments=3),
        ),
    ),
)
# The other channels of issue #26's goals, for the product's rule unless said: (label, the
# channel's knobs, the loop's settings, goal on decided per channel or None). The weekday rows
# show the final look's adjustment for the publication time where the weekday pulls the reward,
# with and without it, and that it keeps the error promise there.
NOT_ADJUSTED = LoopSettings(adjusted=False)
CHANNELS: tuple[tuple[str, dict[str, float], LoopSettings, float | None], ...] = (
    ("effect sd 0.12, noise sd 0.4", {"effect_sd": 0.12, "noise_sd": 0.4}, LoopSettings(), 3.78),
    ("interactions (sd 0.05)", {"interaction_sd": 0.05}, LoopSettings(), None),
    ("weekday pull (sd 0.15)", {"weekday_sd": 0.15}, LoopSettings(), None),
    ("weekday pull (sd 0.15), final look not adjusted", {"weekday_sd": 0.15}, NOT_ADJUSTED, None),
    (
        "weekday pull (sd 0.15), no true effect",
        {"weekday_sd": 0.15, "effect_sd": 0.0},
        LoopSettings(),
        None,
    ),
)


def _loop(
    seeds: int,
    effect_sd: float,
    settings: LoopSettings,
    **knobs: float,
) -> PolicyResult:
    return compare(
        ["seed"],
        seeds=seeds,
        channel=ChannelConfig(
            effect_sd=effect_sd,
            noise_sd=knobs.get("noise_sd", 0.35),
            interaction_sd=knobs.get("interaction_sd", 0.0),
            weekday_sd=knobs.get("weekday_sd", 0.0),
        ),
        settings=settings,
    )[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI size; records nothing")
    parser.add_argument("--experiments", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=None, help="simulated channels")
    args = parser.parse_args(argv)
    count = args.experiments or (200 if args.quick else 2000)
    seeds = args.seeds or (12 if args.quick else 200)
    failures: list[str] = []

    start = time.perf_counter()
    aa = simulate_experiments(count, 0.0, seed=0)
    rows = [
        f"| A/A (none) | {_pct(aa.product.decided_share)} +- {_pct(aa.product.decided_se)} | "
        f"- | {aa.days_to_decision_median} | {_pct(aa.fixed.decided_share)} |"
    ]
    if aa.product.decided_share > GOAL_AA + 2 * aa.product.decided_se:
        failures.append(f"A/A decided share {_pct(aa.product.decided_share)}")
    for k, difference in enumerate(DIFFERENCES):
        ab = simulate_experiments(count, difference, seed=k + 1)
        rows.append(
            f"| +{difference:.2f} (realised {ab.true_difference:+.3f}) | "
            f"{_pct(ab.product.decided_share)} | {_pct(ab.product.variant_share)} +- "
            f"{_pct(ab.product.variant_se)} | {ab.days_to_decision_median} | "
            f"{_pct(ab.fixed.variant_share)} |"
        )
    single_wall = time.perf_counter() - start

    start = time.perf_counter()
    loop_rows = []
    figures: dict[tuple[str, float], dict[str, object]] = {}
    for rule, label, settings in RULES:
        for effect_sd in (0.15, 0.0):
            figures[(rule, effect_sd)] = _loop(seeds, effect_sd, settings).as_dict()
        real, null = figures[(rule, 0.15)], figures[(rule, 0.0)]
        decided = float(real["experiments_decided"])  # type: ignore[arg-type]
        wrong = float(real["experiments_wrong"])  # type: ignore[arg-type]
        null_decided = float(null["experiments_decided"])  # type: ignore[arg-type]
        null_completed = float(null["experiments_completed"])  # type: ignore[arg-type]
        wrong_share = wrong / decided if decided else 0.0
        null_share = null_decided / null_completed if null_completed else 0.0
        loop_rows.append(
            f"| {label} | {float(real['experiments_completed']):.2f} | {decided:.2f} | "  # type: ignore[arg-type]
            f"{_pct(wrong_share)} +- {_pct(_se(wrong_share, decided * seeds))} | "
            f"{real['days_to_decision_median']} | {_pct(null_share)} +- "
            f"{_pct(_se(null_share, null_completed * seeds))} | "
            f"{float(real['regret_mean']):.1f} |"  # type: ignore[arg-type]
        )
        if rule == "product":
            product = (decided, wrong_share, null_share)
            if wrong_share > GOAL_WRONG + 2 * _se(wrong_share, decided * seeds):
                failures.append(f"wrong-direction share {_pct(wrong_share)}")
            if null_share > GOAL_AA + 2 * _se(null_share, null_completed * seeds):
                failures.append(f"decided share with no true effect {_pct(null_share)}")
    channel_rows = []
    for label, knobs, settings, goal in CHANNELS:
        channel = {"effect_sd": 0.15, **knobs}
        got = _loop(seeds, channel.pop("effect_sd"), settings, **channel).as_dict()
        got_decided = float(got["experiments_decided"])  # type: ignore[arg-type]
        got_completed = float(got["experiments_completed"])  # type: ignore[arg-type]
        share = got_decided / got_completed if got_completed else 0.0
        got_wrong = float(got["experiments_wrong"])  # type: ignore[arg-type]
        wrong_of = got_wrong / got_decided if got_decided else 0.0
        # Decided per channel, its SE from the share decided of the completed experiments.
        per_se = got_completed * _se(share, got_completed * seeds)
        verdict = (
            ""
            if goal is None
            else f" (goal >= {goal}: {'met' if got_decided >= goal else 'NOT met'})"
        )
        if knobs.get("effect_sd") == 0.0:  # no true effect: the decided share is the error
            verdict = f" ({_pct(share)} +- {_pct(_se(share, got_completed * seeds))} decided)"
            if share > GOAL_AA + 2 * _se(share, got_completed * seeds):
                failures.append(f"decided share with no true effect {_pct(share)} ({label})")
        channel_rows.append(
            f"| {label} | {got_completed:.2f} | {got_decided:.2f} +- {per_se:.2f}{verdict} | "
            f"{_pct(wrong_of)} +- {_pct(_se(wrong_of, got_decided * seeds))} | "
            f"{got['days_to_decision_median']} | {float(got['regret_mean']):.1f} |"  # type: ignore[arg-type]
        )
        if wrong_of > 0.05 + 2 * _se(wrong_of, got_decided * seeds):
            failures.append(f"wrong-direction share {_pct(wrong_of)} ({label})")
    loop_wall = time.perf_counter() - start

    decided, wrong_share, null_share = product
    lines = [
        f"Single experiments ({count} per row; 1 baseline + 1 variant video a day, the variant "
        "arm stopping at min_samples 8, max_days 28, alpha 0.05, evaluated every day):",
        "",
        "| true difference | decided | variant verdicts (power) | median days to a decision "
        "| former rule: variant verdicts |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"The loop: seed policy, {seeds} simulated channels x 90 days x 5 videos a day, default "
        "channel; per channel:",
        "",
        "| rule | completed | decided | wrong direction (of decided) | median days to a decision "
        "| decided with --effect-sd 0 | regret |",
        "|---|---|---|---|---|---|---|",
        *loop_rows,
        "",
        "The product's rule on the other channels of issue #26 (same channels and traffic):",
        "",
        "| channel | completed | decided | wrong direction (of decided; truth at the experiment's "
        "own baseline) | median days to a decision | regret |",
        "|---|---|---|---|---|---|",
        *channel_rows,
        "",
        f"- Goal decided >= {GOAL_DECIDED} per channel per 90 days: "
        f"{'met' if decided >= GOAL_DECIDED else 'not met'} ({decided:.2f}).",
        f"- Goal wrong direction <= {_pct(GOAL_WRONG)} of decided: {_pct(wrong_share)}.",
        f"- Goal decided with no true effect <= {_pct(GOAL_AA)}: {_pct(null_share)}.",
        f"- Wall time: {single_wall:.0f} s (single experiments) + {loop_wall:.0f} s (loop).",
    ]
    print("```markdown")
    print("\n".join(lines))
    print("```")
    if not args.quick:
        record("Experiments that decide (bench.power)", "\n".join(lines))
    if failures:
        print("error rate above its goal by more than 2 SE: " + "; ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
