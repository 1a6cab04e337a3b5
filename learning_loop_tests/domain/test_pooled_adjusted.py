"""The final look's contrast adjusted for the publication time (`domain.pooled.adjusted_test`),
checked against statsmodels' weighted least squares on the videos one by one, and the rule's
use of it: only at the final look, in place of the summary's contrast."""

from __future__ import annotations

import numpy as np
import pytest

from learning_loop.domain.additive_model import catalogue, evidence_from_videos, summarise_evidence
from learning_loop.domain.experiments import RULE_POOLED_FINAL, decide
from learning_loop.domain.pooled import (
    BLOCKS,
    WEEKDAYS,
    adjusted_test,
    cell_evidence,
    pooled_tests,
    time_cells,
)
from learning_loop.domain.recipe import DEFAULT_PRESETS

PRESETS = tuple(DEFAULT_PRESETS)


def _videos(n: int, seed: int, weekday_pull: float):
    """n videos of a few recipes, published at random weekdays and hours, with a weekday pull
    on the reward; recipe 1 is recipe 0 with one field changed."""
    rng = np.random.default_rng(seed)
    index = rng.integers(0, 30, n)
    weekday = rng.integers(0, 7, n)
    hour = rng.integers(0, 24, n)
    pull = weekday_pull * np.array([0.0, 0.1, -0.1, 0.2, -0.2, 0.5, -0.5])[weekday]
    reward = rng.normal(0.5, 0.2, n) + 0.05 * (index == 1) + pull
    weight = rng.uniform(0.2, 1.0, n)
    return index, weekday, hour, reward, weight


def test_the_adjusted_contrast_is_weighted_least_squares_on_the_videos():
    """statsmodels' WLS on the videos one by one, with the recipe fields, weekday and block
    one-hot beside an intercept (rank-deficient: its pseudo-inverse): the same estimate,
    standard error, t and residual degrees of freedom as the fit from the cells."""
    sm = pytest.importorskip("statsmodels.api")
    index, weekday, hour, reward, weight = _videos(500, 3, 1.0)
    cells = cell_evidence(index, time_cells(weekday, hour), reward, weight)
    assert len(cells.index) < 500  # grouped
    cat = catalogue(PRESETS)
    for baseline, variant in ((0, 1), (0, 7), (3, 12)):
        test = adjusted_test(cells, PRESETS, baseline, variant, 0.05)
        assert test is not None
        x = np.hstack(
            [
                np.ones((len(index), 1)),
                cat.design[index],
                np.eye(WEEKDAYS)[weekday],
                np.eye(BLOCKS)[hour // 6],
            ]
        )
        with pytest.warns(Warning):  # statsmodels says the design is rank-deficient
            fit = sm.WLS(reward, x, weights=weight).fit(method="pinv")
        contrast = np.zeros(x.shape[1])
        contrast[1 : 1 + len(cat.columns)] = cat.design[variant] - cat.design[baseline]
        oracle = fit.t_test(contrast)
        assert test.estimate == pytest.approx(float(oracle.effect[0]), rel=1e-9, abs=1e-12)
        assert test.se == pytest.approx(float(oracle.sd[0][0]), rel=1e-9)
        assert test.t == pytest.approx(float(oracle.tvalue[0][0]), rel=1e-8, abs=1e-10)
        assert test.dof == int(fit.df_resid)
        assert test.fixed_p_value() == pytest.approx(float(oracle.pvalue), rel=1e-7)


def test_adjusting_removes_the_weekdays_pull_from_the_standard_error():
    """With a weekday pull on the reward the adjusted contrast is more precise than the
    summary's (adjusted for the fields alone). Without one the time columns explain nothing
    (their F-test above ADJUST_P): no adjusted contrast, the summary's serves."""
    index, weekday, hour, reward, weight = _videos(800, 5, 1.0)
    cells = cell_evidence(index, time_cells(weekday, hour), reward, weight)
    adjusted = adjusted_test(cells, PRESETS, 0, 1, 0.05)
    summary = summarise_evidence(evidence_from_videos(index, reward, weight), PRESETS)
    ((plain, _),) = pooled_tests(summary, [(0, 1)], 0.05)
    assert adjusted is not None and plain is not None
    assert adjusted.se < 0.7 * plain.se
    flat = [_videos(800, seed, 0.0) for seed in range(40)]
    used = [
        adjusted_test(cell_evidence(i, time_cells(d, h), y, w), PRESETS, 0, 1, 0.05) is not None
        for i, d, h, y, w in flat
    ]
    assert sum(used) <= 3  # about ADJUST_P of 40 (1% each: 4 or more has chance 0.07%)


def test_cells_leave_out_what_the_evidence_leaves_out_and_check_their_times():
    cells = cell_evidence(
        [0, 0, -1, 2], time_cells([0, 0, 1, 6], [0, 5, 7, 23]), [1, 2, 3, 4], [1, 1, 1, 0]
    )
    assert cells.index.tolist() == [0] and cells.videos.tolist() == [2]
    assert cells.total.tolist() == [3.0] and cells.squares.tolist() == [5.0]
    with pytest.raises(ValueError, match="weekdays"):
        time_cells([7], [0])
    with pytest.raises(ValueError, match="hours"):
        time_cells([0], [24])
    assert adjusted_test(cell_evidence([], [], [], []), PRESETS, 0, 1, 0.05) is None


def _summary_test():
    index, weekday, hour, reward, weight = _videos(600, 9, 1.0)
    summary = summarise_evidence(evidence_from_videos(index, reward, weight), PRESETS)
    ((plain, rejected),) = pooled_tests(summary, [(0, 1)], 0.05)
    cells = cell_evidence(index, time_cells(weekday, hour), reward, weight)
    return plain, rejected, adjusted_test(cells, PRESETS, 0, 1, 0.05)


def test_the_rule_asks_for_the_adjusted_contrast_at_the_final_look_only():
    plain, rejected, adjusted = _summary_test()
    assert plain is not None and adjusted is not None and not rejected
    calls = []

    def final():
        calls.append(1)
        return adjusted

    baseline = [0.4, 0.5, 0.45, 0.55, 0.5, 0.42, 0.48]
    variant = [0.5, 0.52, 0.6]
    # Before the final look (too few videos, no deadline): never asked.
    early = decide(baseline[:3], variant[:2], 0.05, 3, False, pooled=plain, final=final)
    assert early is None and calls == []
    # At the deadline: asked once, and the verdict shows the adjusted contrast.
    verdict = decide(baseline, variant, 0.05, 3, True, pooled=plain, final=final)
    assert calls == [1] and verdict is not None
    assert verdict.pooled_difference == pytest.approx(adjusted.estimate)
    assert verdict.pooled_p_value == pytest.approx(adjusted.fixed_p_value())
    low, high = adjusted.fixed_interval(0.95)
    assert (verdict.pooled_ci_low, verdict.pooled_ci_high) == pytest.approx((low, high))
    if verdict.winner != "inconclusive":
        assert verdict.rule == RULE_POOLED_FINAL
    # No adjusted contrast (None): the summary's decides, as before.
    same = decide(baseline, variant, 0.05, 3, True, pooled=plain, final=lambda: None)
    before = decide(baseline, variant, 0.05, 3, True, pooled=plain)
    assert same == before
    assert before is not None and before.pooled_difference == pytest.approx(plain.estimate)
