"""Fixed-horizon A/B verdicts: Welch's two-sided t-test and the completion rule (contract §7)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: the CLI's start must not pay for numpy and scipy
    import numpy as np

CI_LEVEL = 0.95
MIN_ARM_SIZE = 2


@dataclass(frozen=True)
class Verdict:
    winner: str  # "variant" | "baseline" | "inconclusive"
    reason: str  # "significant" | "not_significant" | "insufficient_samples"
    baseline_mean: float | None
    variant_mean: float | None
    baseline_n: int
    variant_n: int
    difference: float | None  # variant - baseline
    ci_low: float | None
    ci_high: float | None  # 95% CI of the difference (Welch-Satterthwaite df)
    p_value: float | None


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
            reason="insufficient_samples",
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
