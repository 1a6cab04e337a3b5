"""A/B verdicts (contract §7): the always-valid sequential rule experiments are decided by, and
the fixed-horizon Welch t-test that decided them before it (kept for the verdicts it gave)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:  # imported where used: the CLI's start must not pay for numpy and scipy
    import numpy as np

    from learning_loop.domain.linear_sequential import ContrastTest
    from learning_loop.domain.sequential import Standing

CI_LEVEL = 0.95
MIN_ARM_SIZE = 2
RULE_WELCH = "welch"  # the former rule: one Welch test at min_samples (verdicts before 0006)
RULE_SEQUENTIAL = "sequential"  # decided early by the always-valid test
RULE_FIXED_LOOK = "fixed_look"  # decided at min_samples (or the deadline) by the Welch look
RULE_POOLED = "pooled"  # decided early by the pooled, adjusted contrast (all the evidence)
RULE_POOLED_FINAL = "pooled_look"  # decided at the final look by the pooled contrast's t-test


@dataclass(frozen=True)
class Verdict:
    winner: str  # "variant" | "baseline" | "inconclusive"
    reason: str  # "significant" | "not_significant" | "insufficient_samples" | "guardrail" ...
    baseline_mean: float | None
    variant_mean: float | None
    baseline_n: int
    variant_n: int
    difference: float | None  # variant - baseline
    ci_low: float | None
    ci_high: float | None  # 95% CI of the difference (Welch-Satterthwaite df)
    p_value: float | None
    mde: float | None = None  # minimum detectable effect (sequential rule only)
    rule: str = "welch"  # RULE_WELCH | RULE_SEQUENTIAL | RULE_FIXED_LOOK | RULE_POOLED
    # The pooled, adjusted contrast (every video's evidence, `pooled_tests`) and its
    # always-valid interval, when it was computed.
    pooled_difference: float | None = None
    pooled_ci_low: float | None = None
    pooled_ci_high: float | None = None
    pooled_p_value: float | None = None
    pooled_time_adjusted: bool | None = None  # that contrast also adjusted for the time
    guardrail: str | None = None  # the component judged with (`domain.guardrail`), and its p
    guardrail_p_value: float | None = None


def _arm(name: str, values: Sequence[float]) -> np.ndarray:
    import numpy as np

    array = np.asarray(list(values), dtype="float64")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} rewards must be finite numbers")
    return array


def _mean(values: np.ndarray) -> float | None:
    import numpy as np

    if values.size == 0:
        return None
    # The float mean of identical values can miss them by one ulp; a constant arm must report
    # its exact value so that two constant arms with the same value have difference 0.
    if np.ptp(values) == 0:
        return float(values[0])
    return float(np.mean(values))


def welch_verdict(
    baseline: Sequence[float], variant: Sequence[float], alpha: float = 0.05
) -> Verdict:
    """Two-sided Welch t-test of variant against baseline; significant when p < alpha.

    Matches scipy.stats.ttest_ind(variant, baseline, equal_var=False). When both arms have zero
    variance the t statistic is undefined: equal means give p = 1, different means p = 0 with a
    zero-width interval, so no NaN ever reaches storage.
    """
    import numpy as np
    from scipy import stats as sps

    if isinstance(alpha, bool) or not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive); got {alpha!r}")
    b = _arm("baseline", baseline)
    v = _arm("variant", variant)
    nb, nv = len(b), len(v)
    mean_b = _mean(b)
    mean_v = _mean(v)
    if mean_b is None or mean_v is None or nb < MIN_ARM_SIZE or nv < MIN_ARM_SIZE:
        return Verdict(
            winner="inconclusive",
            reason=REASON_TOO_FEW,
            baseline_mean=mean_b,
            variant_mean=mean_v,
            baseline_n=nb,
            variant_n=nv,
            difference=None if mean_b is None or mean_v is None else mean_v - mean_b,
            ci_low=None,
            ci_high=None,
            p_value=None,
        )
    difference = mean_v - mean_b
    # A constant arm is tested by its values, not by var == 0: the float mean of identical values
    # can differ from them in the last bit and leave a spurious 1e-34 variance.
    var_b = 0.0 if np.ptp(b) == 0 else float(np.var(b, ddof=1))
    var_v = 0.0 if np.ptp(v) == 0 else float(np.var(v, ddof=1))
    se_b2, se_v2 = var_b / nb, var_v / nv
    se2 = se_b2 + se_v2
    if se2 == 0.0:
        p_value = 1.0 if difference == 0.0 else 0.0
        ci_low = ci_high = difference
    else:
        se = math.sqrt(se2)
        df = se2**2 / (se_b2**2 / (nb - 1) + se_v2**2 / (nv - 1))
        t_stat = difference / se
        p_value = float(min(1.0, 2.0 * sps.t.sf(abs(t_stat), df)))
        half_width = float(sps.t.ppf(0.5 + CI_LEVEL / 2.0, df)) * se
        ci_low, ci_high = difference - half_width, difference + half_width
    if p_value < alpha:
        winner = "variant" if difference > 0 else "baseline"
        reason = "significant"
    else:
        winner, reason = "inconclusive", "not_significant"
    return Verdict(
        winner=winner,
        reason=reason,
        baseline_mean=mean_b,
        variant_mean=mean_v,
        baseline_n=nb,
        variant_n=nv,
        difference=difference,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
    )


# The share of alpha the always-valid early look spends; the fixed-horizon Welch test at
# min_samples gets the rest (docs/decisions.md has the figures behind both numbers).
EARLY_ALPHA_SHARE = 0.2
# The Welch look waits for a baseline arm this many times min_samples: the baseline arm is
# exploit traffic, which the project publishes anyway, so a larger one makes the verdict more
# precise without spending explore videos (docs/decisions.md has the figures).
BASELINE_RATIO = 2


@dataclass(frozen=True)
class AlphaShares:
    """How a verdict spends alpha over its looks (contract §7): the arms' always-valid early
    look, the pooled contrast's always-valid early look (with e-BH over the project's running
    experiments), and at the final look (min_samples or the deadline) the pooled contrast's
    t-test and the arms' Welch test. The shares sum to at most 1."""

    arms_early: float
    pooled_early: float = 0.0
    pooled_final: float = 0.0
    welch: float = 0.0

    def __post_init__(self) -> None:
        shares = (self.arms_early, self.pooled_early, self.pooled_final, self.welch)
        if not 0.0 < self.arms_early < 1.0 or min(shares) < 0.0 or sum(shares) > 1.0 + 1e-12:
            raise ValueError(f"alpha shares must be >= 0 and sum to at most 1; got {shares!r}")


def arms_only(early_share: float = EARLY_ALPHA_SHARE) -> AlphaShares:
    """The rule without pooled evidence: the arms' early look, then the Welch look."""
    return AlphaShares(arms_early=early_share, welch=1.0 - early_share)


# With pooled evidence (docs/decisions.md has the figures): the final look's pooled t-test is
# where the power is, and the arms' Welch look adds almost nothing beside it; 0.1 of alpha is
# kept unspent as a margin for what the pooled test's assumptions miss, above all that the
# baseline recipe was chosen by the ranking from the same evidence (its values' lucky past
# leans the contrast toward `baseline`), which the A/A simulation measures.
WITH_POOLED = AlphaShares(arms_early=0.1, pooled_early=0.05, pooled_final=0.75, welch=0.0)


# The sample-ratio-mismatch threshold of experimentation platforms: a p-value this small says
# the arms lost different shares of their planned videos, not chance.
ALLOCATION_ALPHA = 0.001
REASON_ALLOCATION = "sample_ratio_mismatch"
REASON_TOO_FEW = "insufficient_samples"  # the deadline came with an arm under 2 videos


def allocation_p_value(planned: tuple[int, int], rewarded: tuple[int, int]) -> float | None:
    """The allocation check of an experiment (contract §7): of the (baseline, variant) arms'
    planned videos, the rewarded ones; the p-value of Pearson's chi-square test (1 degree of
    freedom, no continuity correction) that both arms had the same share of their planned
    videos rewarded. None while it cannot be computed (an arm with nothing planned, or every
    planned video rewarded or none)."""
    from scipy import stats

    (pb, pv), (rb, rv) = planned, rewarded
    rb, rv = min(rb, pb), min(rv, pv)  # a video imported into an arm was not planned
    cells = ((rb, pb - rb), (rv, pv - rv))
    rows = (pb, pv)
    cols = (rb + rv, pb + pv - rb - rv)
    if min(rows) <= 0 or min(cols) <= 0:
        return None
    spread = (cells[0][0] * cells[1][1] - cells[0][1] * cells[1][0]) ** 2
    stat = (pb + pv) * spread / (rows[0] * rows[1] * cols[0] * cols[1])
    return float(stats.chi2.sf(stat, 1))


def decide(
    baseline: Sequence[float],
    variant: Sequence[float],
    alpha: float,
    min_samples: int,
    deadline: bool,
    tau: float | None = None,
    early_share: float = EARLY_ALPHA_SHARE,
    baseline_ratio: int = BASELINE_RATIO,
    pooled: ContrastTest | None = None,
    pooled_rejected: bool = False,
    shares: AlphaShares | None = None,
    allocation: float | None = None,
    final: Callable[[], ContrastTest | None] | None = None,
) -> Verdict | None:
    """The verdict of the experiment at this daily look, None while it runs on (contract §7).

    Without `pooled` (``arms_only(early_share)``):

    1. Early, at any look: the always-valid mixture SPRT (`domain.sequential`) at level
       ``early_share * alpha`` decides as soon as the evidence is clear (both arms of at least
       `sequential.MIN_ARM_SIZE`).
    2. Otherwise, once the variant arm has `min_samples` rewarded videos and the baseline arm
       ``baseline_ratio * min_samples`` (or at the deadline), one Welch t-test at level
       ``(1 - early_share) * alpha`` gives the final verdict.

    With `pooled`, the experiment's pooled, adjusted contrast (`pooled_tests`: every rewarded
    video with either value of the field, adjusted for the other fields), and `shares`
    (default `WITH_POOLED`):

    1. Early, at any look: the arms' always-valid test at ``arms_early * alpha``; else the
       pooled contrast, when e-BH over the project's running experiments rejects it at
       ``pooled_early * alpha`` (`pooled_rejected`).
    2. At the final look: the pooled contrast's t-test at ``pooled_final * alpha``; else the
       arms' Welch test at ``welch * alpha``. `final`, when given, supplies the contrast that
       look uses instead (`pooled.adjusted_test`: also adjusted for the publication time); it
       is called at the final look only, and its None leaves `pooled`.

    The pooled contrast decides only where the arms' own difference points the same way:
    where fields interact, the arms are the cleanest evidence of the change at this baseline,
    so they can hold a pooled verdict back (never make one).

    Under no true difference each look of the rule decides with probability at most its share
    of alpha (the early ones however many days they are looked at), so an experiment evaluated
    every day decides falsely with probability at most alpha.

    `allocation` is the experiment's allocation check (`allocation_p_value`): below
    ALLOCATION_ALPHA the arms are not comparable, so the verdict waits, and at the deadline it
    is `inconclusive` for that reason.
    """
    from statistics import NormalDist

    from learning_loop.domain import sequential

    if not 0.0 < early_share < 1.0:
        raise ValueError(f"early_share must be between 0 and 1 (exclusive); got {early_share!r}")
    if isinstance(alpha, bool) or not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive); got {alpha!r}")
    if baseline_ratio < 1:
        raise ValueError(f"baseline_ratio must be an integer >= 1; got {baseline_ratio!r}")
    spend = shares or (WITH_POOLED if pooled is not None else arms_only(early_share))
    mixing = sequential.MIXING_SD if tau is None else tau
    early = sequential.standing(baseline, variant, alpha * spend.arms_early, mixing)
    if allocation is not None and allocation < ALLOCATION_ALPHA:
        if not deadline:
            return None
        return _arms_verdict(
            early, "inconclusive", REASON_ALLOCATION, None, None, RULE_FIXED_LOOK, pooled
        )

    def agrees(test: ContrastTest | None) -> bool:
        return (
            test is not None
            and early.difference is not None
            and early.difference != 0.0
            and test.estimate != 0.0
            and (early.difference > 0.0) == (test.estimate > 0.0)
        )

    if early.significant:
        return _arms_verdict(
            early, early.winner, "significant", early.p_value, early.mde, RULE_SEQUENTIAL, pooled
        )
    if pooled is not None and pooled_rejected and agrees(pooled):
        winner = "variant" if pooled.estimate > 0 else "baseline"
        return _arms_verdict(
            early, winner, "significant", pooled.p_value, early.mde, RULE_POOLED, pooled
        )
    if not at_final_look(len(baseline), len(variant), min_samples, deadline, baseline_ratio):
        return None
    welch_alpha = alpha * spend.welch
    if welch_alpha > 0.0:
        fixed = welch_verdict(baseline, variant, welch_alpha)
    else:  # no Welch look: its arms' figures shown, never a verdict
        fixed = welch_verdict(baseline, variant, alpha)
        if fixed.reason == "significant":
            fixed = dataclasses.replace(fixed, winner="inconclusive", reason="not_significant")
        welch_alpha = alpha
    if pooled is not None and spend.pooled_final > 0.0:
        adjusted = final() if final is not None else None
        pooled = adjusted or pooled
        level = alpha * spend.pooled_final
        final_p = pooled.fixed_p_value()
        shown = pooled_fields(pooled, final=True, adjusted=adjusted is not None)
        # The pooled test is the final look's power: its MDE is the verdict's.
        z = NormalDist()
        mde = pooled.se * (z.inv_cdf(1.0 - level / 2.0) + z.inv_cdf(0.8))
        if final_p < level and agrees(pooled):
            return dataclasses.replace(
                fixed,
                winner="variant" if pooled.estimate > 0 else "baseline",
                reason="significant",
                p_value=final_p,
                mde=mde,
                rule=RULE_POOLED_FINAL,
                **shown,
            )
        return dataclasses.replace(fixed, mde=mde, rule=RULE_FIXED_LOOK, **shown)
    return dataclasses.replace(
        fixed,
        mde=fixed_horizon_mde(fixed, welch_alpha),
        rule=RULE_FIXED_LOOK,
        **pooled_fields(pooled),
    )


def at_final_look(
    baseline_n: int,
    variant_n: int,
    min_samples: int,
    deadline: bool,
    baseline_ratio: int = BASELINE_RATIO,
) -> bool:
    """Whether an experiment with arms of these sizes is at its final look (if no early look
    decides first): the deadline, or the variant arm at `min_samples` and the baseline arm at
    ``baseline_ratio * min_samples``."""
    return deadline or (variant_n >= min_samples and baseline_n >= baseline_ratio * min_samples)


def _arms_verdict(
    arms: Standing,
    winner: str,
    reason: str,
    p_value: float | None,
    mde: float | None,
    rule: str,
    pooled: ContrastTest | None,
) -> Verdict:
    """A verdict given at an early look: the arms' figures and always-valid interval as they
    stand, and the pooled test beside them."""
    return Verdict(
        winner=winner,
        reason=reason,
        baseline_mean=arms.baseline_mean,
        variant_mean=arms.variant_mean,
        baseline_n=arms.baseline_n,
        variant_n=arms.variant_n,
        difference=arms.difference,
        ci_low=arms.ci_low,
        ci_high=arms.ci_high,
        p_value=p_value,
        mde=mde,
        rule=rule,
        **pooled_fields(pooled),
    )


class PooledFields(TypedDict, total=False):
    pooled_difference: float | None
    pooled_ci_low: float | None
    pooled_ci_high: float | None
    pooled_p_value: float | None
    pooled_time_adjusted: bool


def pooled_fields(
    pooled: ContrastTest | None, final: bool = False, adjusted: bool = False
) -> PooledFields:
    """The pooled test as a verdict and the listings show it: its always-valid interval and
    p-value (an unbounded interval as None), or at the `final` look its ordinary 95% t interval
    and p-value; and whether it was `adjusted` for the publication time."""
    if pooled is None:
        return {}
    if final:
        low, high = pooled.fixed_interval(CI_LEVEL)
        return {
            "pooled_difference": pooled.estimate,
            "pooled_ci_low": low,
            "pooled_ci_high": high,
            "pooled_p_value": pooled.fixed_p_value(),
            "pooled_time_adjusted": adjusted,
        }
    return {
        "pooled_difference": pooled.estimate,
        "pooled_ci_low": pooled.low if math.isfinite(pooled.low) else None,
        "pooled_ci_high": pooled.high if math.isfinite(pooled.high) else None,
        "pooled_p_value": pooled.p_value,
        "pooled_time_adjusted": adjusted,
    }


def fixed_horizon_mde(verdict: Verdict, alpha: float) -> float | None:
    """The difference a Welch test of this verdict's precision detects with 80% power: the
    standard error (from the stored interval) times z(1 - alpha/2) + z(0.8)."""
    from statistics import NormalDist

    if verdict.ci_low is None or verdict.ci_high is None or verdict.p_value is None:
        return None
    z = NormalDist()
    # The interval is difference +- t(df) * se at CI_LEVEL; the normal quantile is the large-df
    # value of t, so se is read back to within a few percent at the sample sizes used.
    se = (verdict.ci_high - verdict.ci_low) / (2.0 * z.inv_cdf(0.5 + CI_LEVEL / 2.0))
    return se * (z.inv_cdf(1.0 - alpha / 2.0) + z.inv_cdf(0.8))


def past_deadline(started_at: datetime, as_of_end: datetime, max_days: int) -> bool:
    """The experiment has run longer than max_days: its verdict is due whatever the evidence."""
    return as_of_end - started_at > timedelta(days=max_days)


def should_complete(
    baseline_n: int,
    variant_n: int,
    min_samples: int,
    started_at: datetime,
    as_of_end: datetime,
    max_days: int,
) -> bool:
    """Complete when both arms have min_samples rewarded videos or the experiment is too old."""
    if baseline_n >= min_samples and variant_n >= min_samples:
        return True
    return as_of_end - started_at > timedelta(days=max_days)


def expected_days_to_verdict(
    baseline: Sequence[float],
    variant: Sequence[float],
    days_running: float,
    alpha: float,
    min_samples: int,
    max_days: int,
    tau: float | None = None,
    early_share: float = EARLY_ALPHA_SHARE,
    baseline_ratio: int = BASELINE_RATIO,
) -> float:
    """Days until a running experiment gets its verdict at each arm's traffic so far (rewarded
    videos per day since it started): the sooner of the early decision, if the current difference
    and variance held, the Welch look once the variant has min_samples and the baseline
    ``baseline_ratio * min_samples``, and the deadline."""
    from learning_loop.domain import sequential

    remaining = max(0.0, max_days - days_running)
    candidates = [remaining]
    early = sequential.days_to_decision(
        baseline,
        variant,
        days_running,
        alpha * early_share,
        sequential.MIXING_SD if tau is None else tau,
    )
    if early is not None:
        candidates.append(early)
    if days_running > 0:
        waits = []
        for n, target in (
            (len(baseline), baseline_ratio * min_samples),
            (len(variant), min_samples),
        ):
            missing = max(0, target - n)
            rate = n / days_running
            waits.append(0.0 if missing == 0 else (missing / rate if rate > 0 else math.inf))
        candidates.append(max(waits))
    return min(candidates)
