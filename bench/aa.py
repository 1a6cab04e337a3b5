"""Honest verdicts (issue #7, point 5; contract §7): simulated experiments through the real code.

    python -m bench.aa            # 2,000 A/A experiments, then 2,000 with a true +0.10
    python -m bench.aa --quick    # 300 of each

Each experiment is a simulated project (`learning_loop.simulation.ab_honesty.simulate_experiments`):
a 30-day window of 5 videos a day, one baseline and one variant video a day once the experiment
starts, rewards recomputed daily with `compute_rewards` (mid-rank percentiles in the window), and
the product's rule, `decide` every day (an always-valid early look, then one Welch look once the
variant has min_samples = 8 and the baseline twice that, or the 28-day deadline), next to the
former rule (`should_complete`, then `welch_verdict` once). Printed: the share of
non-inconclusive verdicts in A/A experiments (the variant is the baseline's recipe) with its
binomial standard error (goal: at most 5.5%); the same data judged by daily peeking (test every
day from 2 + 2 videos and stop at the first significant result), to show why the verdict is
computed once; and the power of the product's rule for a true +0.10 difference in expected
reward.
"""

from __future__ import annotations

import argparse
import time

from bench.common import record
from learning_loop.simulation.ab_honesty import ExperimentSimulation, simulate_experiments

MIN_SAMPLES = 8
DIFFERENCE = 0.10
GOAL_AA = 0.055


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 experiments of each kind")
    parser.add_argument("--experiments", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    count = args.experiments or (300 if args.quick else 2000)

    start = time.perf_counter()
    aa = simulate_experiments(count, 0.0, min_samples=MIN_SAMPLES, seed=args.seed)
    aa_wall = time.perf_counter() - start
    start = time.perf_counter()
    ab = simulate_experiments(count, DIFFERENCE, min_samples=MIN_SAMPLES, seed=args.seed + 1)
    ab_wall = time.perf_counter() - start

    def row(label: str, sim: ExperimentSimulation) -> list[str]:
        out = []
        for rule, shares in (
            ("the product's rule (decide), daily", sim.product),
            ("one Welch look at min_samples (former rule)", sim.fixed),
            ("peek daily until min_samples", sim.peek_until_samples),
            ("peek daily until the deadline", sim.peek_until_deadline),
        ):
            out.append(
                f"| {label} | {rule} | {_pct(shares.decided_share)} +- "
                f"{_pct(shares.decided_se)} | {_pct(shares.variant_share)} +- "
                f"{_pct(shares.variant_se)} |"
            )
        return out

    fixed = aa.product  # the product's rule
    met = "yes" if fixed.decided_share <= GOAL_AA else "no"
    print(
        f"A/A, {count} experiments ({aa_wall:.1f} s): non-inconclusive {_pct(fixed.decided_share)}"
        f" +- {_pct(fixed.decided_se)} (goal <= {_pct(GOAL_AA)}: {met}); peeking until "
        f"min_samples {_pct(aa.peek_until_samples.decided_share)}, until the deadline "
        f"{_pct(aa.peek_until_deadline.decided_share)}"
    )
    print(
        f"A/B +{DIFFERENCE:.2f} (realised {ab.true_difference:+.4f}), {count} experiments "
        f"({ab_wall:.1f} s): power (variant verdicts) {_pct(ab.product.variant_share)} +- "
        f"{_pct(ab.product.variant_se)} at min_samples {MIN_SAMPLES}; within-arm reward sd "
        f"{ab.arm_sd:.3f}, so 80% power needs about {ab.samples_for_power(DIFFERENCE)} videos "
        "per arm"
    )
    lines = [
        f"{count} simulated experiments per row; 5 videos/day per project, 1 baseline + 1 variant "
        f"video a day, min_samples {MIN_SAMPLES}, max_days 28, alpha 0.05. "
        f"A/A: the variant is the baseline's recipe. A/B: the variant's expected reward is "
        f"{DIFFERENCE:+.2f} higher (realised mean {ab.true_difference:+.4f}).",
        "",
        "| experiments | evaluation | non-inconclusive | variant verdicts |",
        "|---|---|---|---|",
        *row("A/A", aa),
        *row(f"A/B {DIFFERENCE:+.2f}", ab),
        "",
        f"- A/A false verdicts with the product's rule: {_pct(fixed.decided_share)} +- "
        f"{_pct(fixed.decided_se)} (goal <= {_pct(GOAL_AA)}: {met}).",
        f"- Power for a true {DIFFERENCE:+.2f} at min_samples {MIN_SAMPLES}: "
        f"{_pct(ab.product.variant_share)} +- {_pct(ab.product.variant_se)}; the within-arm reward "
        f"sd is {ab.arm_sd:.3f}, so 80% power would take about "
        f"{ab.samples_for_power(DIFFERENCE)} videos per arm.",
        f"- Wall time: {aa_wall:.0f} s (A/A) + {ab_wall:.0f} s (A/B).",
    ]
    print("\n```markdown")
    print("\n".join(lines))
    print("```")
    if not args.quick:
        record("Honest verdicts (bench.aa)", "\n".join(lines))


if __name__ == "__main__":
    main()
