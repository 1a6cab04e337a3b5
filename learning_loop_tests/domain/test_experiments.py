"""Welch verdicts and the completion rule (contract §7)."""

import math
from datetime import datetime, timedelta

import pytest
from scipy import stats as sps

from learning_loop.domain.experiments import should_complete, welch_verdict

BASELINE = [0.2, 0.3, 0.4, 0.5]
VARIANT = [0.5, 0.6, 0.7, 0.8, 0.9]


def test_welch_matches_scipy_on_hand_example() -> None:
    verdict = welch_verdict(BASELINE, VARIANT)
    reference = sps.ttest_ind(VARIANT, BASELINE, equal_var=False)
    ci = reference.confidence_interval(0.95)
    assert verdict.baseline_mean == pytest.approx(0.35)
    assert verdict.variant_mean == pytest.approx(0.7)
    assert verdict.difference == pytest.approx(0.35)
    assert (verdict.baseline_n, verdict.variant_n) == (4, 5)
    assert verdict.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert verdict.ci_low == pytest.approx(ci.low, rel=1e-9)
    assert verdict.ci_high == pytest.approx(ci.high, rel=1e-9)
    assert verdict.p_value is not None and verdict.p_value < 0.05
    assert (verdict.winner, verdict.reason) == ("variant", "significant")


def test_baseline_wins_when_higher() -> None:
    verdict = welch_verdict(VARIANT, BASELINE)
    assert (verdict.winner, verdict.reason) == ("baseline", "significant")
    assert verdict.difference == pytest.approx(-0.35)


def test_not_significant() -> None:
    verdict = welch_verdict([0.1, 0.9, 0.5], [0.2, 0.8, 0.6])
    assert (verdict.winner, verdict.reason) == ("inconclusive", "not_significant")
    reference = sps.ttest_ind([0.2, 0.8, 0.6], [0.1, 0.9, 0.5], equal_var=False)
    assert verdict.p_value == pytest.approx(reference.pvalue, rel=1e-9)


def test_alpha_changes_decision_but_not_the_ci() -> None:
    strict = welch_verdict(BASELINE, VARIANT, alpha=1e-6)
    loose = welch_verdict(BASELINE, VARIANT)
    assert strict.winner == "inconclusive" and strict.reason == "not_significant"
    assert (strict.ci_low, strict.ci_high) == (loose.ci_low, loose.ci_high)


@pytest.mark.parametrize(
    ("baseline", "variant", "b_mean", "v_mean"),
    [
        ([], [], None, None),
        ([0.4], [0.5, 0.6], 0.4, 0.55),
        ([0.4, 0.6], [0.9], 0.5, 0.9),
        ([], [0.3, 0.5], None, 0.4),
    ],
)
def test_insufficient_samples(
    baseline: list[float], variant: list[float], b_mean: float | None, v_mean: float | None
) -> None:
    verdict = welch_verdict(baseline, variant)
    assert (verdict.winner, verdict.reason) == ("inconclusive", "insufficient_samples")
    assert verdict.baseline_mean == pytest.approx(b_mean)
    assert verdict.variant_mean == pytest.approx(v_mean)
    assert (verdict.baseline_n, verdict.variant_n) == (len(baseline), len(variant))
    assert verdict.p_value is None and verdict.ci_low is None and verdict.ci_high is None
    if b_mean is None or v_mean is None:
        assert verdict.difference is None
    else:
        assert verdict.difference == pytest.approx(v_mean - b_mean)


def test_zero_variance_equal_means() -> None:
    verdict = welch_verdict([0.1, 0.1, 0.1], [0.1, 0.1])
    assert verdict.p_value == 1.0
    assert (verdict.winner, verdict.reason) == ("inconclusive", "not_significant")
    assert verdict.difference == 0.0 and verdict.ci_low == verdict.ci_high == 0.0


def test_zero_variance_different_means() -> None:
    verdict = welch_verdict([0.1, 0.1, 0.1], [0.3, 0.3])
    assert verdict.p_value == 0.0
    assert (verdict.winner, verdict.reason) == ("variant", "significant")
    assert verdict.ci_low == verdict.ci_high == verdict.difference
    assert verdict.difference is not None and math.isfinite(verdict.difference)


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")
def test_one_constant_arm_is_a_normal_welch_test() -> None:
    verdict = welch_verdict([0.5, 0.5, 0.5], [0.4, 0.6, 0.7, 0.9])
    reference = sps.ttest_ind([0.4, 0.6, 0.7, 0.9], [0.5, 0.5, 0.5], equal_var=False)
    assert verdict.p_value == pytest.approx(reference.pvalue, rel=1e-9)


def test_non_finite_rewards_rejected() -> None:
    with pytest.raises(ValueError):
        welch_verdict([0.1, float("nan")], [0.2, 0.3])


START = datetime(2024, 1, 1, 12, 0)


@pytest.mark.parametrize(
    ("baseline_n", "variant_n", "as_of_end", "expected"),
    [
        (8, 8, START + timedelta(days=1), True),
        (9, 20, START + timedelta(days=1), True),
        (7, 8, START + timedelta(days=1), False),
        (8, 7, START + timedelta(days=1), False),
        (0, 0, START + timedelta(days=28), False),
        (0, 0, START + timedelta(days=28, microseconds=1), True),
        (1, 0, START + timedelta(days=40), True),
    ],
)
def test_should_complete(
    baseline_n: int, variant_n: int, as_of_end: datetime, expected: bool
) -> None:
    assert should_complete(baseline_n, variant_n, 8, START, as_of_end, 28) is expected
