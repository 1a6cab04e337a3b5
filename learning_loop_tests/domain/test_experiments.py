"""Verdicts (contract §7): the Welch test, the former completion rule and the product's rule."""

import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy import stats as sps

from learning_loop.domain.experiments import (
    BASELINE_RATIO,
    EARLY_ALPHA_SHARE,
    RULE_FIXED_LOOK,
    RULE_SEQUENTIAL,
    decide,
    expected_days_to_verdict,
    should_complete,
    welch_verdict,
)

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


# The product's rule (contract §7): an always-valid early look, then one Welch look.

NOISY_B = [0.31, 0.52, 0.44, 0.61, 0.38, 0.47, 0.55, 0.40]
NOISY_V = [0.48, 0.71, 0.39, 0.66, 0.50, 0.62, 0.45, 0.58]
# The Welch look's baseline arm: BASELINE_RATIO (2) times min_samples.
LONG_B = [*NOISY_B, 0.42, 0.57, 0.35, 0.49, 0.60, 0.36, 0.51, 0.46]


def test_decide_waits_for_min_samples_when_the_evidence_is_not_clear() -> None:
    assert decide(NOISY_B[:5], NOISY_V[:5], 0.05, min_samples=8, deadline=False) is None


def test_the_welch_look_waits_for_a_baseline_of_twice_min_samples() -> None:
    assert BASELINE_RATIO == 2
    # Both arms at min_samples: the variant is done, the baseline arm (exploit traffic) is not.
    assert decide(NOISY_B, NOISY_V, 0.05, min_samples=8, deadline=False) is None
    assert decide(LONG_B[:15], NOISY_V, 0.05, min_samples=8, deadline=False) is None
    # A baseline of 16 but a variant short of min_samples waits too.
    assert decide(LONG_B, NOISY_V[:7], 0.05, min_samples=8, deadline=False) is None
    # The deadline does not wait; a ratio of 1 is the former look at min_samples per arm.
    assert decide(NOISY_B, NOISY_V, 0.05, min_samples=8, deadline=True) is not None
    former = decide(NOISY_B, NOISY_V, 0.05, min_samples=8, deadline=False, baseline_ratio=1)
    assert former is not None and former.rule == RULE_FIXED_LOOK
    with pytest.raises(ValueError):
        decide(NOISY_B, NOISY_V, 0.05, min_samples=8, deadline=False, baseline_ratio=0)


def test_decide_at_min_samples_is_welch_at_the_rest_of_alpha() -> None:
    verdict = decide(LONG_B, NOISY_V, 0.05, min_samples=8, deadline=False)
    assert verdict is not None and verdict.rule == RULE_FIXED_LOOK
    assert (verdict.baseline_n, verdict.variant_n) == (16, 8)
    t = sps.ttest_ind(NOISY_V, LONG_B, equal_var=False)
    assert verdict.p_value == pytest.approx(t.pvalue)
    final_alpha = 0.05 * (1 - EARLY_ALPHA_SHARE)
    assert verdict.winner == ("variant" if t.pvalue < final_alpha else "inconclusive")
    # The MDE: the standard error times z(1 - alpha/2) + z(0.8), the se from scipy's interval.
    se = float(np.sqrt(np.var(LONG_B, ddof=1) / 16 + np.var(NOISY_V, ddof=1) / 8))
    z = sps.norm.ppf(1 - final_alpha / 2) + sps.norm.ppf(0.8)
    # Read back from a t interval with Welch's degrees of freedom (about 15 here).
    assert verdict.mde == pytest.approx(se * z, rel=0.15)


def test_decide_early_when_the_always_valid_test_is_clear() -> None:
    low = [0.20, 0.22, 0.25, 0.21, 0.23, 0.24]
    high = [0.80, 0.78, 0.83, 0.79, 0.81, 0.77]
    verdict = decide(low, high, 0.05, min_samples=8, deadline=False)
    assert verdict is not None and verdict.rule == RULE_SEQUENTIAL
    assert verdict.winner == "variant" and verdict.reason == "significant"
    assert verdict.ci_low is not None and verdict.ci_low > 0
    # Looked at with the early test's own level, the interval is the always-valid one.
    assert verdict.p_value is not None and verdict.p_value <= 0.05 * EARLY_ALPHA_SHARE


def test_decide_at_the_deadline_without_samples_is_inconclusive() -> None:
    verdict = decide([0.5], [], 0.05, min_samples=8, deadline=True)
    assert verdict is not None
    assert verdict.winner == "inconclusive" and verdict.reason == "insufficient_samples"


def test_decide_looked_at_daily_on_aa_streams_stays_within_alpha() -> None:
    """Normal A/A streams of one video per arm a day, the variant stopping at min_samples as the
    planner's does, decided by `decide` every day until its verdict: the share decided stays
    within alpha (Monte Carlo, 1,500 streams)."""
    rng = np.random.default_rng(16)
    streams, alpha, min_samples = 1500, 0.05, 8
    decided = 0
    for _ in range(streams):
        b = rng.normal(0.5, 0.19, size=BASELINE_RATIO * min_samples)
        v = rng.normal(0.5, 0.19, size=min_samples)
        for d in range(2, BASELINE_RATIO * min_samples + 1):
            verdict = decide(
                b[:d].tolist(), v[: min(d, min_samples)].tolist(), alpha, min_samples, False
            )
            if verdict is not None:
                decided += verdict.winner != "inconclusive"
                break
    assert decided / streams <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / streams)


def test_expected_days_to_verdict() -> None:
    # 4 videos per arm after 4 days: the variant needs 4 more, the baseline 12 more (it waits
    # for twice min_samples), so the Welch look is 12 days away, the deadline 24.
    days = expected_days_to_verdict(NOISY_B[:4], NOISY_V[:4], 4.0, 0.05, 8, 28)
    assert days == pytest.approx(12.0)
    # With a ratio of 1 (both arms at min_samples) it is 4 days away.
    days = expected_days_to_verdict(NOISY_B[:4], NOISY_V[:4], 4.0, 0.05, 8, 28, baseline_ratio=1)
    assert days == pytest.approx(4.0)
    # Both arms complete: the next look is now; an arm without traffic waits for the deadline.
    assert expected_days_to_verdict(LONG_B, NOISY_V, 8.0, 0.05, 8, 28) == 0.0
    assert expected_days_to_verdict(NOISY_B, NOISY_V, 8.0, 0.05, 8, 28) == pytest.approx(8.0)
    assert expected_days_to_verdict(NOISY_B, [], 8.0, 0.05, 8, 28) == pytest.approx(20.0)


def _summary_with_field_effect(effect: float, videos_per_recipe: int, seed: int = 1):
    """An evidence summary of many recipes where hook `question` beats `mystery` by `effect`
    everywhere (the other fields random), and the two recipes an experiment would test."""
    from learning_loop.domain.additive_model import (
        catalogue,
        evidence_from_videos,
        summarise_evidence,
    )
    from learning_loop.domain.recipe import DEFAULT_PRESETS

    rng = np.random.default_rng(seed)
    cat = catalogue(DEFAULT_PRESETS)
    hook = {v: cat.columns[(1, v)] for v in cat.values[1]}
    picks = rng.choice(cat.size, 40, replace=False)
    indices, rewards = [], []
    for r in picks:
        row = cat.design[r]
        mean = 0.5 + effect * row[hook[cat.values[1][0]]]
        for _ in range(videos_per_recipe):
            indices.append(int(r))
            rewards.append(float(mean + rng.normal(0, 0.15)))
    baseline = next(int(r) for r in picks if cat.design[r][hook[cat.values[1][1]]] == 1)
    fields = list(cat.recipe(baseline).as_tuple())
    fields[1] = cat.values[1][0]
    variant = cat.lookup[tuple(fields)]
    evidence = evidence_from_videos(indices, rewards)
    return summarise_evidence(evidence, DEFAULT_PRESETS), baseline, variant


def test_the_pooled_contrast_decides_when_the_arms_agree() -> None:
    from learning_loop.domain.experiments import RULE_POOLED, WITH_POOLED
    from learning_loop.domain.pooled import pooled_tests

    summary, baseline, variant = _summary_with_field_effect(0.15, 4)
    ((test, rejected),) = pooled_tests(
        summary, [(baseline, variant)], 0.05 * WITH_POOLED.pooled_early
    )
    assert test is not None and rejected and test.estimate > 0.1
    arms_b, arms_v = [0.50, 0.55, 0.45], [0.60, 0.62, 0.58]  # too few for the arms' own test
    verdict = decide(arms_b, arms_v, 0.05, 40, False, pooled=test, pooled_rejected=True)
    assert verdict is not None
    assert (verdict.winner, verdict.rule) == ("variant", RULE_POOLED)
    assert verdict.pooled_difference == pytest.approx(test.estimate)
    assert verdict.pooled_ci_low == pytest.approx(test.low) and test.low > 0
    # The arms pointing the other way hold the pooled verdict back: the experiment runs on.
    assert decide(arms_v, arms_b, 0.05, 40, False, pooled=test, pooled_rejected=True) is None
    # Not rejected by e-BH: no early pooled verdict either.
    assert decide(arms_b, arms_v, 0.05, 40, False, pooled=test, pooled_rejected=False) is None


def test_the_final_look_tries_the_pooled_t_test_then_welch() -> None:
    from learning_loop.domain.experiments import RULE_POOLED_FINAL, WITH_POOLED
    from learning_loop.domain.pooled import pooled_tests

    summary, baseline, variant = _summary_with_field_effect(0.08, 3, seed=2)
    ((test, rejected),) = pooled_tests(
        summary, [(baseline, variant)], 0.05 * WITH_POOLED.pooled_early
    )
    assert test is not None and not rejected  # not clear enough for the always-valid test...
    assert test.fixed_p_value() < 0.05 * WITH_POOLED.pooled_final  # ...but for one fixed look
    b = [0.42, 0.5, 0.45, 0.55, 0.5, 0.42]
    v = [0.5, 0.55, 0.52, 0.5, 0.58, 0.47]
    verdict = decide(b, v, 0.05, 3, False, baseline_ratio=1, pooled=test)
    assert verdict is not None and (verdict.winner, verdict.rule) == ("variant", RULE_POOLED_FINAL)
    assert verdict.p_value == pytest.approx(test.fixed_p_value())
    low, high = test.fixed_interval(0.95)
    assert (verdict.pooled_ci_low, verdict.pooled_ci_high) == (
        pytest.approx(low),
        pytest.approx(high),
    )
    # The arms disagreeing: no pooled verdict, and no Welch look beside it (its share is 0):
    # inconclusive, with the arms' figures and the pooled test's MDE.
    against = decide(v, b, 0.05, 3, False, baseline_ratio=1, pooled=test)
    assert against is not None and (against.rule, against.winner) == ("fixed_look", "inconclusive")
    assert against.difference == pytest.approx(welch_verdict(v, b).difference)
    level = 0.05 * WITH_POOLED.pooled_final
    assert against.mde == pytest.approx(test.se * (sps.norm.ppf(1 - level / 2) + sps.norm.ppf(0.8)))


def test_alpha_shares_are_checked() -> None:
    from learning_loop.domain.experiments import WITH_POOLED, AlphaShares, arms_only

    assert arms_only(0.2) == AlphaShares(arms_early=0.2, welch=0.8)
    total = WITH_POOLED.arms_early + WITH_POOLED.pooled_early + WITH_POOLED.pooled_final
    assert total + WITH_POOLED.welch <= 1.0
    with pytest.raises(ValueError, match="alpha shares"):
        AlphaShares(arms_early=0.5, pooled_final=0.6)


@pytest.mark.parametrize(
    ("planned", "rewarded"),
    [((20, 10), (18, 9)), ((30, 8), (29, 2)), ((12, 12), (12, 3)), ((7, 40), (2, 39))],
)
def test_the_allocation_check_is_pearsons_chi_square(planned, rewarded) -> None:
    from learning_loop.domain.experiments import allocation_p_value

    (pb, pv), (rb, rv) = planned, rewarded
    table = [[rb, pb - rb], [rv, pv - rv]]
    oracle = sps.chi2_contingency(table, correction=False).pvalue
    assert allocation_p_value(planned, rewarded) == pytest.approx(oracle, rel=1e-9)


def test_the_allocation_check_needs_both_arms_and_both_outcomes() -> None:
    from learning_loop.domain.experiments import allocation_p_value

    assert allocation_p_value((0, 5), (0, 5)) is None  # nothing planned in one arm
    assert allocation_p_value((6, 5), (6, 5)) is None  # every planned video rewarded
    assert allocation_p_value((6, 5), (0, 0)) is None  # none yet


def test_a_mismatched_allocation_holds_the_verdict_back() -> None:
    from learning_loop.domain.experiments import REASON_ALLOCATION, allocation_p_value

    b = [0.3, 0.35, 0.32, 0.31, 0.33, 0.36, 0.3, 0.34]
    v = [0.8, 0.85, 0.82, 0.81, 0.83, 0.86, 0.8, 0.84]
    clear = decide(b, v, 0.05, 3, False, baseline_ratio=1)
    assert clear is not None and clear.winner == "variant"
    # The variant arm got 8 of its 40 planned videos rewarded, the baseline 8 of 8.
    mismatch = allocation_p_value((8, 40), (8, 8))
    assert mismatch is not None and mismatch < 0.001
    assert decide(b, v, 0.05, 3, False, baseline_ratio=1, allocation=mismatch) is None
    late = decide(b, v, 0.05, 3, True, baseline_ratio=1, allocation=mismatch)
    assert late is not None
    assert (late.winner, late.reason) == ("inconclusive", REASON_ALLOCATION)
    # A share within chance changes nothing.
    fine = allocation_p_value((8, 10), (8, 9))
    assert decide(b, v, 0.05, 3, False, baseline_ratio=1, allocation=fine) == clear
