"""The always-valid mixture SPRT against independent computations: numerical integration of the
likelihood ratio (scipy), root finding, and Monte Carlo of daily looks on hand-made streams."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from learning_loop.domain import sequential
from learning_loop.domain.sequential import (
    days_to_decision,
    half_width,
    log_mixture_ratio,
    minimum_detectable_effect,
    standing,
)

BASELINE = [0.31, 0.52, 0.44, 0.61, 0.38, 0.47, 0.55]
VARIANT = [0.58, 0.71, 0.49, 0.66, 0.80, 0.62]


def _ratio_by_quadrature(difference: float, variance: float, tau: float) -> float:
    """Integral over theta ~ N(0, tau^2) of the normal likelihood of D under theta over that
    under 0: the mixture likelihood ratio, computed numerically."""
    se = math.sqrt(variance)

    def integrand(theta: float) -> float:
        log_ratio = stats.norm.logpdf(difference, theta, se) - stats.norm.logpdf(difference, 0, se)
        return float(math.exp(log_ratio) * stats.norm.pdf(theta, 0.0, tau))

    value, _ = integrate.quad(integrand, -12 * tau, 12 * tau, limit=200)
    return float(value)


@pytest.mark.parametrize(
    ("difference", "variance", "tau"),
    [(0.12, 0.004, 0.2), (-0.05, 0.01, 0.1), (0.0, 0.02, 0.3), (0.3, 0.0025, 0.08)],
)
def test_the_mixture_ratio_matches_numerical_integration(difference, variance, tau):
    expected = _ratio_by_quadrature(difference, variance, tau)
    assert math.exp(log_mixture_ratio(difference, variance, tau)) == pytest.approx(
        expected, rel=1e-6
    )


@pytest.mark.parametrize(("variance", "alpha", "tau"), [(0.004, 0.05, 0.2), (0.02, 0.01, 0.1)])
def test_the_interval_ends_where_the_ratio_reaches_one_over_alpha(variance, alpha, tau):
    def excess(d: float) -> float:
        return math.log(_ratio_by_quadrature(d, variance, tau)) - math.log(1.0 / alpha)

    root = optimize.brentq(excess, 1e-9, 1.0, xtol=1e-12)
    assert half_width(variance, alpha, tau) == pytest.approx(root, rel=1e-6)


def test_standing_of_hand_made_arms():
    b, v = np.array(BASELINE), np.array(VARIANT)
    pooled = ((len(b) - 1) * b.var(ddof=1) + (len(v) - 1) * v.var(ddof=1)) / (len(b) + len(v) - 2)
    variance = pooled * (1 / len(b) + 1 / len(v))
    difference = v.mean() - b.mean()
    now = standing(BASELINE, VARIANT, 0.05, tau=0.2)
    assert now.difference == pytest.approx(difference)
    width = half_width(variance, 0.05, 0.2)
    assert (now.ci_low, now.ci_high) == pytest.approx((difference - width, difference + width))
    ratio = _ratio_by_quadrature(difference, variance, 0.2)
    assert now.p_value == pytest.approx(min(1.0, 1.0 / ratio), rel=1e-6)
    assert now.significant == (ratio >= 20.0)
    assert now.winner == ("variant" if ratio >= 20.0 else "inconclusive")


def test_small_arms_are_never_significant():
    now = standing([0.1, 0.1, 0.11], [0.9, 0.91, 0.9], 0.05)
    assert now.ci_low is not None and now.ci_low > 0  # the evidence is there...
    assert not now.significant  # ...but an arm is below MIN_ARM_SIZE
    assert standing([], [0.5], 0.05).ci_low is None


def test_daily_looks_at_an_aa_stream_decide_at_most_alpha():
    """Normal A/A streams, one video per arm a day for 40 days, looked at every day: the share
    ever significant stays within alpha (Monte Carlo, 1,500 streams)."""
    rng = np.random.default_rng(20261128)
    streams, days, alpha = 1500, 40, 0.05
    b = rng.normal(0.5, 0.19, size=(streams, days))
    v = rng.normal(0.5, 0.19, size=(streams, days))
    ever = 0
    for s in range(streams):
        for d in range(sequential.MIN_ARM_SIZE, days + 1):
            if standing(b[s, :d].tolist(), v[s, :d].tolist(), alpha).significant:
                ever += 1
                break
    share = ever / streams
    assert share <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / streams)
    # The same streams judged by a daily fixed-horizon t-test are not honest: the test above can
    # tell an always-valid rule from a naive one.
    naive = sum(
        any(
            stats.ttest_ind(v[s, :d], b[s, :d]).pvalue < alpha
            for d in range(sequential.MIN_ARM_SIZE, days + 1)
        )
        for s in range(300)
    )
    assert naive / 300 > 2 * alpha


def test_the_minimum_detectable_effect_has_its_power():
    variance, alpha, tau = 0.006, 0.05, 0.2
    mde = minimum_detectable_effect(variance, alpha, tau)
    width, se = half_width(variance, alpha, tau), math.sqrt(variance)
    power = stats.norm.sf((width - mde) / se) + stats.norm.cdf((-width - mde) / se)
    assert power == pytest.approx(sequential.MDE_POWER, abs=1e-3)


def test_days_to_decision_is_the_first_day_the_projection_decides():
    baseline = [0.30, 0.55, 0.42, 0.61, 0.38, 0.47]
    variant = [0.45, 0.70, 0.50, 0.66, 0.52, 0.59]
    days = days_to_decision(baseline, variant, 6.0, alpha=0.01, tau=0.2)
    assert days is not None and days > 0
    b, v = np.array(baseline), np.array(variant)
    pooled = (5 * b.var(ddof=1) + 5 * v.var(ddof=1)) / 10
    difference = v.mean() - b.mean()

    def decided(t: float) -> bool:  # each arm keeps its 1 video a day
        n = 6 + t
        return abs(difference) >= half_width(pooled * 2 / n, 0.01, 0.2)

    assert decided(days) and not decided(days - 0.02)
    assert days_to_decision(baseline, baseline, 6.0) is None  # no difference to project
    clear = [0.55, 0.58, 0.52, 0.60, 0.50, 0.57]
    assert days_to_decision([0.40, 0.45, 0.50, 0.42, 0.48, 0.44], clear, 6.0) == 0.0  # decided
