"""An always-valid test of one contrast in a linear model, and false-discovery control over a
project's concurrent tests (contract §7).

**The test.** In the linear model ``y = X beta + e``, ``e ~ N(0, sigma^2 I)``, the contrast
``delta = c' beta`` (for an experiment: the variant value's effect less the baseline value's,
adjusted for every other column of ``X``) is tested against ``delta = 0`` by the Bayes factor of
the t statistic's maximal invariant, with the standardised contrast drawn from a normal mixture
``delta / sigma ~ N(0, 1 / phi)`` (Lindon, Ham, Tingley and Bojinov, "Anytime-valid linear models
and regression adjusted causal inference in randomized experiments", 2022)::

    log E = 1/2 log r + (nu + 1)/2 * (log(1 + t^2/nu) - log(1 + r t^2/nu)),
    r = phi / (phi + z2)

with ``t`` the ordinary least-squares t statistic of ``c' beta_hat``, ``nu = n - rank(X)`` its
residual degrees of freedom and ``z2 = 1 / (c' (X'X)^- c)`` the information about ``delta`` in
units of ``sigma^2``. Under ``delta = 0`` the Bayes factor, as the data grow, is a non-negative
martingale of mean 1: it ever reaches ``1 / alpha`` with probability at most ``alpha``, however
often it is looked at (Ville's inequality). So ``p = min(1, 1 / E)`` is an anytime-valid p-value,
and the values ``delta_0`` whose test would not reject form a confidence sequence, the estimate
plus or minus ``radius * se``::

    radius^2 = nu (1 - P) / (P - r),  P = (r alpha^2) ^ (1 / (nu + 1))

(infinite while ``P <= r``: too little evidence for any decision).

Everything is computed from the sufficient statistics ``X'X``, ``X'y``, ``y'y`` and ``n``, so a
verdict never needs the videos themselves once their sums are kept.

**Many tests at once.** ``E`` at a look is an e-value. Applied to the e-values of a project's
concurrent tests, the e-BH procedure (Wang and Ramdas, "False discovery rate control with
e-values", 2022) rejects the ``k`` largest, ``k`` the largest with ``E_(k) >= K / (alpha k)``: the
false discovery rate of that look's rejections is at most ``alpha`` under any dependence between
the tests. It is Benjamini-Hochberg on the p-values ``1 / E``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# The mixture's prior precision of the standardised contrast: delta / sigma ~ N(0, 1 / PHI), an
# sd of 0.5 noise sds, the scale of the one-field changes an experiment tests (with the reward's
# within-recipe sd near 0.2, about 0.1 in reward). docs/decisions.md has the figures behind it.
PHI = 4.0
# A contrast is estimable when its part outside the design's row space is below this (relative).
_ESTIMABLE_TOL = 1e-8


@dataclass(frozen=True)
class ContrastTest:
    """The always-valid test of ``c' beta = 0`` at one look."""

    estimate: float  # c' beta_hat
    se: float  # its ordinary least-squares standard error
    dof: int  # residual degrees of freedom, n - rank(X)
    t: float
    log_e: float  # log of the Bayes factor against delta = 0 (an e-value)
    p_value: float  # anytime-valid: min(1, 1 / E)
    low: float  # the (1 - alpha) confidence sequence's bounds (+-inf: no decision possible yet)
    high: float
    alpha: float

    @property
    def significant(self) -> bool:
        return self.log_e >= math.log(1.0 / self.alpha)

    def fixed_p_value(self) -> float:
        """The ordinary two-sided t-test's p-value: valid at one look fixed in advance."""
        from scipy import stats

        return float(min(1.0, 2.0 * stats.t.sf(abs(self.t), self.dof)))

    def fixed_interval(self, level: float = 0.95) -> tuple[float, float]:
        """The ordinary t interval of the contrast at `level` (one look fixed in advance)."""
        from scipy import stats

        half = float(stats.t.ppf(0.5 + level / 2.0, self.dof)) * self.se
        return self.estimate - half, self.estimate + half


def log_e_value(t2: float, dof: int, information: float, phi: float = PHI) -> float:
    """log E of a squared t statistic with `dof` residual degrees of freedom and `information`
    z2 = 1 / (c' (X'X)^- c) about the contrast (see the module's docstring)."""
    _check_positive("phi", phi)
    if dof < 1:
        raise ValueError(f"the test needs at least one residual degree of freedom; got {dof}")
    r = phi / (phi + information)
    return 0.5 * math.log(r) + 0.5 * (dof + 1) * (math.log1p(t2 / dof) - math.log1p(r * t2 / dof))


def radius(dof: int, information: float, alpha: float, phi: float = PHI) -> float:
    """The confidence sequence's half-width in standard errors (inf when no t would reject)."""
    _check_alpha(alpha)
    _check_positive("phi", phi)
    r = phi / (phi + information)
    power = (r * alpha * alpha) ** (1.0 / (dof + 1))
    if power <= r:
        return math.inf
    return math.sqrt(dof * (1.0 - power) / (power - r))


@dataclass(frozen=True)
class LeastSquares:
    """A least-squares fit from its sufficient statistics, factorised once for any number of
    contrasts: the eigen-decomposition of ``X'X`` on its row space (the pseudo-inverse; the
    eigenvalues below a relative tolerance are the design's null space, such as one-hot fields
    summing to the intercept), the coefficients, and the residual variance."""

    basis: FloatArray  # eigenvectors spanning the row space of X
    values: FloatArray  # their eigenvalues
    beta: FloatArray  # a least-squares solution (the minimum-norm one)
    dof: int  # n - rank(X)
    s2: float  # residual variance, rss / dof

    @classmethod
    def fit(cls, gram: FloatArray, xy: FloatArray, yy: float, n: int) -> LeastSquares | None:
        """The fit of ``gram = X'X``, ``xy = X'y``, ``yy = y'y`` over ``n`` rows; None when no
        residual degree of freedom is left or the residuals are exactly zero."""
        gram = np.asarray(gram, dtype=np.float64)
        xy = np.asarray(xy, dtype=np.float64)
        if gram.ndim != 2 or gram.shape[0] != gram.shape[1] or xy.shape != (gram.shape[0],):
            raise ValueError("gram must be square and xy of its size")
        scale = float(np.max(np.abs(np.diag(gram)), initial=0.0))
        if scale <= 0.0:
            return None
        d, vectors = np.linalg.eigh((gram + gram.T) / 2.0)
        keep = d > scale * 1e-10
        dof = n - int(keep.sum())
        if dof < 1:
            return None
        basis, values = vectors[:, keep], d[keep]
        beta = basis @ ((basis.T @ xy) / values)
        rss = float(yy) - float(beta @ xy)
        if rss <= 1e-12 * max(float(yy), 1e-300):
            return None  # an exact fit (up to rounding): no noise to scale a contrast by
        return cls(basis=basis, values=values, beta=beta, dof=dof, s2=rss / dof)

    def test(
        self, contrast: FloatArray, alpha: float = 0.05, phi: float = PHI
    ) -> ContrastTest | None:
        """The always-valid test of ``contrast' beta = 0``; None when the contrast is not
        estimable (outside the row space: a value never seen)."""
        _check_alpha(alpha)
        c = np.asarray(contrast, dtype=np.float64)
        if c.shape != self.beta.shape:
            raise ValueError("the contrast must have one entry per column")
        along = self.basis.T @ c
        outside = c - self.basis @ along
        if float(np.linalg.norm(outside)) > _ESTIMABLE_TOL * max(float(np.linalg.norm(c)), 1.0):
            return None
        unscaled = float(np.sum(along * along / self.values))  # c' (X'X)^- c
        if unscaled <= 0.0:
            return None
        estimate = float(c @ self.beta)
        se = math.sqrt(self.s2 * unscaled)
        t = estimate / se
        information = 1.0 / unscaled
        log_e = log_e_value(t * t, self.dof, information, phi)
        width = radius(self.dof, information, alpha, phi) * se
        return ContrastTest(
            estimate=estimate,
            se=se,
            dof=self.dof,
            t=t,
            log_e=log_e,
            p_value=1.0 if log_e <= 0.0 else math.exp(-log_e),
            low=estimate - width,
            high=estimate + width,
            alpha=alpha,
        )


def contrast_test(
    gram: FloatArray,
    xy: FloatArray,
    yy: float,
    n: int,
    contrast: FloatArray,
    alpha: float = 0.05,
    phi: float = PHI,
) -> ContrastTest | None:
    """The always-valid test of ``contrast' beta = 0`` from the sufficient statistics of the
    model: ``gram = X'X``, ``xy = X'y``, ``yy = y'y`` and ``n`` rows. ``X`` may be rank-deficient
    (one-hot fields beside an intercept); the contrast must then be estimable.

    None when there is nothing to test: the contrast is not estimable (a value never seen), no
    residual degree of freedom is left, or the residuals are exactly zero.
    """
    _check_alpha(alpha)
    fit = LeastSquares.fit(gram, xy, yy, n)
    return None if fit is None else fit.test(contrast, alpha, phi)


def e_bh(e_values: Sequence[float], alpha: float = 0.05) -> list[bool]:
    """Which of these concurrent tests the e-BH procedure rejects at level alpha (in the order
    given): the k largest e-values, k the largest with ``E_(k) >= K / (alpha k)``."""
    _check_alpha(alpha)
    values = [float(e) for e in e_values]
    if any(math.isnan(e) or e < 0.0 for e in values):
        raise ValueError("e-values must be numbers >= 0")
    count = len(values)
    order = sorted(range(count), key=lambda i: -values[i])
    rejected = 0
    for k in range(1, count + 1):
        if values[order[k - 1]] * alpha * k >= count:
            rejected = k
    chosen = set(order[:rejected])
    return [i in chosen for i in range(count)]


def _check_alpha(alpha: float) -> None:
    if isinstance(alpha, bool) or not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive); got {alpha!r}")


def _check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}")
