"""The always-valid contrast test of a linear model and e-BH, against independent oracles:
statsmodels' least squares and multiple testing, scipy's noncentral t, and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import integrate, stats
from statsmodels.stats.multitest import multipletests

from learning_loop.domain.linear_sequential import (
    PHI,
    contrast_test,
    e_bh,
    log_e_value,
    radius,
)

ALPHA = 0.05


def _design(rng: np.random.Generator, n: int) -> np.ndarray:
    """An intercept, a 3-valued and a 4-valued one-hot field (rank-deficient, as the recipe
    fields are) and a numeric covariate."""
    a = rng.integers(0, 3, n)
    b = rng.integers(0, 4, n)
    return np.column_stack([np.ones(n), np.eye(3)[a], np.eye(4)[b], rng.normal(size=n)])


def _sums(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, int]:
    return x.T @ x, x.T @ y, float(y @ y), len(y)


# Field a's value 2 against its value 0.
CONTRAST = np.array([0, -1, 0, 1, 0, 0, 0, 0, 0], dtype=float)


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")
def test_estimate_and_standard_error_are_the_least_squares_ones() -> None:
    rng = np.random.default_rng(3)
    x = _design(rng, 80)
    y = x @ rng.normal(0, 0.1, x.shape[1]) + rng.normal(0, 0.2, 80)
    test = contrast_test(*_sums(x, y), CONTRAST)
    assert test is not None
    fit = sm.OLS(y, x).fit()  # the pseudo-inverse fit of a rank-deficient design
    oracle = fit.t_test(CONTRAST)
    assert test.estimate == pytest.approx(float(oracle.effect[0]), rel=1e-9)
    assert test.se == pytest.approx(float(oracle.sd[0, 0]), rel=1e-9)
    assert test.t == pytest.approx(float(oracle.tvalue[0, 0]), rel=1e-9)
    assert test.dof == 80 - 7  # rank: 1 + 2 + 3 + 1
    assert test.dof == pytest.approx(fit.df_resid)
    assert test.low < test.estimate < test.high


@pytest.mark.parametrize(
    ("t", "dof", "information", "phi"),
    [(0.5, 10, 5.0, 4.0), (2.5, 30, 12.0, 4.0), (3.1, 100, 40.0, 2.0), (-1.7, 7, 3.3, 1.0)],
)
def test_e_value_is_the_mixture_of_noncentral_t_densities(
    t: float, dof: int, information: float, phi: float
) -> None:
    """The Bayes factor of t: the noncentral t density mixed over its noncentrality
    (delta / sigma ~ N(0, 1 / phi), so lambda ~ N(0, information / phi)) over the central one."""
    sd = math.sqrt(information / phi)
    mixed, _ = integrate.quad(
        lambda lam: stats.nct.pdf(t, dof, lam) * stats.norm.pdf(lam, 0.0, sd),
        -12 * sd,
        12 * sd,
        limit=200,
    )
    oracle = math.log(mixed / stats.t.pdf(t, dof))
    assert log_e_value(t * t, dof, information, phi) == pytest.approx(oracle, abs=1e-7)


def test_the_confidence_sequence_is_where_the_test_would_not_reject() -> None:
    dof, information = 40, 25.0
    width = radius(dof, information, ALPHA)
    at_edge = log_e_value(width * width, dof, information)
    assert at_edge == pytest.approx(math.log(1 / ALPHA), abs=1e-9)
    assert log_e_value((0.99 * width) ** 2, dof, information) < math.log(1 / ALPHA)
    # Too little information for any t to reach 1 / alpha: no bound yet.
    assert radius(3, 0.01, ALPHA) == math.inf


def test_nothing_to_test() -> None:
    rng = np.random.default_rng(5)
    x = _design(rng, 40)
    x[:, 3] = 0.0  # field a's value 2 never seen
    x[:, 1] = 1.0 - x[:, 2]
    y = rng.normal(size=40)
    assert contrast_test(*_sums(x, y), CONTRAST) is None
    # No residual degree of freedom: each of field a's values seen once.
    once = np.column_stack([np.ones(3), np.eye(3)])
    assert contrast_test(*_sums(once, rng.normal(size=3)), np.array([0, -1, 0, 1.0])) is None
    # Residuals exactly zero: nothing to scale the contrast by.
    exact = _design(rng, 30)
    assert contrast_test(*_sums(exact, exact @ np.arange(9.0)), CONTRAST) is None


def _looks(rng: np.random.Generator, effect: float, looks: int, per_look: int) -> list[float]:
    """log E at each daily look of one simulated experiment whose contrast is `effect`."""
    beta = np.concatenate([[0.5], rng.normal(0, 0.1, 8)])
    beta[3] = beta[1] + effect  # value 2 of field a = value 0 + effect
    gram = np.zeros((9, 9))
    xy = np.zeros(9)
    yy, n = 0.0, 0
    out = []
    for _ in range(looks):
        x = _design(rng, per_look)
        y = x @ beta + rng.normal(0, 0.2, per_look)
        gram += x.T @ x
        xy += x.T @ y
        yy += float(y @ y)
        n += per_look
        test = contrast_test(gram, xy, yy, n, CONTRAST)
        out.append(-math.inf if test is None else test.log_e)
    return out


def test_daily_looks_keep_the_error_rate() -> None:
    """Under no effect, an experiment looked at every day for 60 days (5 observations a day)
    is ever significant at most alpha of the time (Ville), with its simulation error."""
    rng = np.random.default_rng(11)
    reps = 600
    ever = sum(max(_looks(rng, 0.0, 60, 5)) >= math.log(1 / ALPHA) for _ in range(reps))
    rate = ever / reps
    se = math.sqrt(ALPHA * (1 - ALPHA) / reps)
    assert rate <= ALPHA + 2 * se, rate
    # And it decides real effects: a contrast of 0.15 (0.75 noise sds) within the 60 days.
    decided = sum(max(_looks(rng, 0.15, 60, 5)) >= math.log(1 / ALPHA) for _ in range(100))
    assert decided >= 80


def test_the_confidence_sequence_covers_the_truth_at_every_look() -> None:
    rng = np.random.default_rng(13)
    reps, missed = 300, 0
    for _ in range(reps):
        beta = np.concatenate([[0.5], rng.normal(0, 0.1, 8)])
        truth = float(CONTRAST @ beta)
        x_all = _design(rng, 200)
        y_all = x_all @ beta + rng.normal(0, 0.2, 200)
        for n in range(20, 201, 5):
            test = contrast_test(*_sums(x_all[:n], y_all[:n]), CONTRAST)
            if test is not None and not test.low <= truth <= test.high:
                missed += 1
                break
    rate = missed / reps
    assert rate <= ALPHA + 2 * math.sqrt(ALPHA * (1 - ALPHA) / reps), rate


def test_e_bh_is_benjamini_hochberg_on_one_over_e() -> None:
    rng = np.random.default_rng(17)
    for _ in range(200):
        k = int(rng.integers(1, 12))
        e = np.exp(rng.normal(1.5, 2.0, k))
        mine = e_bh(list(e), ALPHA)
        theirs, *_ = multipletests(np.minimum(1.0, 1.0 / e), alpha=ALPHA, method="fdr_bh")
        assert mine == list(theirs)


def test_e_bh_controls_false_discoveries_across_concurrent_experiments() -> None:
    """Six concurrent experiments, half without effect, each looked at on the same days: the
    false discovery proportion of the rejections at a look averages at most alpha."""
    rng = np.random.default_rng(19)
    reps, fdp = 300, 0.0
    effects = [0.0, 0.0, 0.0, 0.12, 0.15, 0.2]
    for _ in range(reps):
        e = [math.exp(_looks(rng, effect, 1, 120)[0]) for effect in effects]
        rejected = e_bh(e, ALPHA)
        false = sum(r and eff == 0.0 for r, eff in zip(rejected, effects, strict=True))
        fdp += false / max(sum(rejected), 1)
    assert fdp / reps <= ALPHA


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="alpha"):
        e_bh([1.0], 1.5)
    with pytest.raises(ValueError, match="e-values"):
        e_bh([-1.0])
    with pytest.raises(ValueError, match="phi"):
        log_e_value(1.0, 5, 2.0, phi=0.0)
    with pytest.raises(ValueError, match="degree"):
        log_e_value(1.0, 0, 2.0)
    assert PHI > 0
