"""An always-valid test of the difference of two means: the normal-mixture sequential
probability ratio test (mSPRT) and its confidence sequence (contract §7).

The experiment's evidence after any number of looks is the mixture likelihood ratio of the
observed difference of means ``D = mean(variant) - mean(baseline)``, whose variance is ``V``
(pooled within-arm variance times ``1/n_b + 1/n_v``), against "no difference", with the true
difference drawn from a normal mixing distribution ``N(0, tau^2)``::

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 * D^2 / (2 * V * (V + tau^2)))

Under no difference, Lambda is (for normal data with the variance known) a non-negative
martingale with mean 1, so by Ville's inequality it ever reaches ``1 / alpha`` with probability
at most ``alpha``, however often it is looked at. The experiment decides at the first look where
``Lambda >= 1 / alpha``; the set of differences ``theta`` with ``Lambda(D - theta) < 1 / alpha``
is a confidence sequence: ``D +- half_width(V)`` with::

    half_width(V)^2 = V * (V + tau^2) / tau^2 * (2 * log(1 / alpha) + log((V + tau^2) / V))

``tau`` is the scale of the differences the test is tuned to find quickly; docs/decisions.md
explains the value, measured on the simulator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

# Mixing sd of the true difference in reward (rewards are in [0, 1]); see docs/decisions.md.
MIXING_SD = 0.2
# Neither arm is judged before it has this many rewarded videos: the pooled variance of fewer
# is too rough for the always-valid guarantee to hold in practice.
MIN_ARM_SIZE = 6
# The "minimum detectable effect" of a completed experiment: detected with this probability at
# the final look alone.
MDE_POWER = 0.8
# Expected days to a decision are not projected beyond this horizon.
PROJECTION_DAYS_MAX = 365


@dataclass(frozen=True)
class ArmSummary:
    n: int
    mean: float | None
    variance: float | None  # sample variance (ddof 1); None below 2 values


def summarise_arm(values: Sequence[float]) -> ArmSummary:
    """n, mean and sample variance of an arm's rewards (constant arms exactly)."""
    n = len(values)
    if n == 0:
        return ArmSummary(0, None, None)
    first = float(values[0])
    if all(float(x) == first for x in values):
        return ArmSummary(n, first, 0.0 if n >= 2 else None)
    mean = math.fsum(float(x) for x in values) / n
    if n < 2:
        return ArmSummary(n, mean, None)
    variance = math.fsum((float(x) - mean) ** 2 for x in values) / (n - 1)
    return ArmSummary(n, mean, variance)


def pooled_variance(baseline: ArmSummary, variant: ArmSummary) -> float | None:
    """Pooled within-arm variance; None when neither arm has two values."""
    dof = 0
    total = 0.0
    for arm in (baseline, variant):
        if arm.variance is not None:
            total += (arm.n - 1) * arm.variance
            dof += arm.n - 1
    return total / dof if dof > 0 else None


def difference_variance(baseline: ArmSummary, variant: ArmSummary) -> float | None:
    """Variance of mean(variant) - mean(baseline) from the pooled variance."""
    pooled = pooled_variance(baseline, variant)
    if pooled is None or baseline.n == 0 or variant.n == 0:
        return None
    return pooled * (1.0 / baseline.n + 1.0 / variant.n)


def _check(alpha: float, tau: float) -> None:
    if isinstance(alpha, bool) or not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive); got {alpha!r}")
    if isinstance(tau, bool) or not math.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be a positive number; got {tau!r}")


def log_mixture_ratio(difference: float, variance: float, tau: float = MIXING_SD) -> float:
    """log Lambda: the normal-mixture likelihood ratio of the difference against 0."""
    if variance < 0 or tau <= 0:
        raise ValueError("variance must be >= 0 and tau > 0")
    if variance == 0.0:
        return 0.0 if difference == 0.0 else math.inf
    total = variance + tau * tau
    return 0.5 * math.log(variance / total) + tau * tau * difference * difference / (
        2.0 * variance * total
    )


def half_width(variance: float, alpha: float, tau: float = MIXING_SD) -> float:
    """Half-width of the always-valid (1 - alpha) confidence sequence at this variance."""
    _check(alpha, tau)
    if variance <= 0.0:
        return 0.0
    total = variance + tau * tau
    return math.sqrt(
        variance * total / (tau * tau) * (2.0 * math.log(1.0 / alpha) + math.log(total / variance))
    )


def minimum_detectable_effect(variance: float, alpha: float, tau: float = MIXING_SD) -> float:
    """The smallest true difference the test detects with MDE_POWER probability at this
    variance: the confidence sequence's half-width plus z(power) standard errors."""
    return half_width(variance, alpha, tau) + NormalDist().inv_cdf(MDE_POWER) * math.sqrt(
        max(variance, 0.0)
    )


@dataclass(frozen=True)
class Standing:
    """Where an experiment stands after a look."""

    baseline_n: int
    variant_n: int
    baseline_mean: float | None
    variant_mean: float | None
    difference: float | None  # variant - baseline
    ci_low: float | None  # always-valid (1 - alpha) interval of the difference
    ci_high: float | None
    p_value: float | None  # min(1, 1 / Lambda) at this look
    mde: float | None  # minimum detectable effect at this look
    significant: bool  # Lambda >= 1 / alpha with both arms of MIN_ARM_SIZE or more

    @property
    def winner(self) -> str:
        if not self.significant or self.difference is None:
            return "inconclusive"
        return "variant" if self.difference > 0 else "baseline"


def standing(
    baseline: Sequence[float],
    variant: Sequence[float],
    alpha: float = 0.05,
    tau: float = MIXING_SD,
    min_arm_size: int = MIN_ARM_SIZE,
) -> Standing:
    """The always-valid test of variant against baseline at this look."""
    _check(alpha, tau)
    for name, values in (("baseline", baseline), ("variant", variant)):
        if not all(math.isfinite(float(x)) for x in values):
            raise ValueError(f"{name} rewards must be finite numbers")
    b, v = summarise_arm(baseline), summarise_arm(variant)
    difference = None if b.mean is None or v.mean is None else v.mean - b.mean
    variance = difference_variance(b, v)
    if difference is None or variance is None:
        return Standing(b.n, v.n, b.mean, v.mean, difference, None, None, None, None, False)
    width = half_width(variance, alpha, tau)
    log_ratio = log_mixture_ratio(difference, variance, tau)
    p_value = 1.0 if log_ratio <= 0 else math.exp(-log_ratio)
    enough = b.n >= min_arm_size and v.n >= min_arm_size
    return Standing(
        baseline_n=b.n,
        variant_n=v.n,
        baseline_mean=b.mean,
        variant_mean=v.mean,
        difference=difference,
        ci_low=difference - width,
        ci_high=difference + width,
        p_value=p_value,
        mde=minimum_detectable_effect(variance, alpha, tau),
        significant=enough and log_ratio >= math.log(1.0 / alpha),
    )


def days_to_decision(
    baseline: Sequence[float],
    variant: Sequence[float],
    days_running: float,
    alpha: float = 0.05,
    tau: float = MIXING_SD,
    min_arm_size: int = MIN_ARM_SIZE,
) -> float | None:
    """Days until the test would decide if the current difference and variance held and each arm
    kept its traffic so far (rewarded videos per day since the start); 0 when decided now.

    None when there is no difference to project (no variance yet, a zero difference, an arm
    without traffic) or it would take more than PROJECTION_DAYS_MAX days.
    """
    _check(alpha, tau)
    b, v = summarise_arm(baseline), summarise_arm(variant)
    pooled = pooled_variance(b, v)
    if b.mean is None or v.mean is None or pooled is None or days_running <= 0:
        return None
    difference = v.mean - b.mean
    rate_b, rate_v = b.n / days_running, v.n / days_running

    def decided(t: float) -> bool:
        nb, nv = b.n + rate_b * t, v.n + rate_v * t
        if nb < min_arm_size or nv < min_arm_size:
            return False
        variance = pooled * (1.0 / nb + 1.0 / nv)
        if variance == 0.0:
            return difference != 0.0
        return abs(difference) >= half_width(variance, alpha, tau)

    if decided(0.0):
        return 0.0
    if difference == 0.0 or not decided(PROJECTION_DAYS_MAX):
        return None
    low, high = 0.0, float(PROJECTION_DAYS_MAX)
    while high - low > 0.01:  # decided() is monotone in t: the arms only grow
        mid = (low + high) / 2.0
        low, high = (low, mid) if decided(mid) else (mid, high)
    return high
