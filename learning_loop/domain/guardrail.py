"""The guardrail of a verdict (contract §7), written once: a variant is not declared the winner
when it significantly hurts the project's guardrail component of the reward.

`arms.verdict` applies it to the verdict `experiments.decide` gives, so the services and the
simulator run the same rule. It can only take a win from the variant, never give one, so the
verdict's error guarantees hold with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from learning_loop.domain.experiments import Verdict, welch_verdict
from learning_loop.domain.statuses import Guardrail, Winner

REASON_GUARDRAIL = "guardrail"


def column_of(component: Guardrail) -> str:
    """A component's column of a reward row: the per-video percentile the reward is built from
    (`pct_engagement`, ...)."""
    return f"pct_{component.value}"


@dataclass(frozen=True)
class GuardrailArms:
    """An experiment's guardrail and its arms' per-video values of that component (the same
    videos as the arms' rewards; empty for `Guardrail.NONE`)."""

    component: Guardrail
    baseline: Sequence[float] = ()
    variant: Sequence[float] = ()


def harm_p_value(baseline: Sequence[float], variant: Sequence[float]) -> float | None:
    """The one-sided Welch p-value that the variant's mean is lower than the baseline's (as
    ``scipy.stats.ttest_ind(variant, baseline, equal_var=False, alternative="less")``; two
    constant arms: 0 when the variant's value is lower, else 1 or, equal, 0.5). None with fewer
    than two values in an arm."""
    two_sided = welch_verdict(baseline, variant)
    if two_sided.p_value is None or two_sided.difference is None:
        return None
    half = two_sided.p_value / 2.0
    return half if two_sided.difference < 0.0 else 1.0 - half


def guard(verdict: Verdict, arms: GuardrailArms | None, alpha: float) -> Verdict:
    """The verdict under the guardrail: when it names the variant and the variant's values of
    the guardrail component are lower than the baseline arm's with `harm_p_value` below
    `alpha`, it is `inconclusive` for reason `guardrail` instead. The verdict records the
    guardrail it was judged with and, when tested, its p-value. `arms` None: no guardrail
    (the verdict is unchanged and records none)."""
    if arms is None:
        return verdict
    judged = dataclasses.replace(verdict, guardrail=arms.component.value)
    if arms.component is Guardrail.NONE or verdict.winner != Winner.VARIANT:
        return judged
    p_value = harm_p_value(arms.baseline, arms.variant)
    if p_value is None or p_value >= alpha:
        return dataclasses.replace(judged, guardrail_p_value=p_value)
    return dataclasses.replace(
        judged,
        winner=Winner.INCONCLUSIVE.value,
        reason=REASON_GUARDRAIL,
        guardrail_p_value=p_value,
    )


def state_text(component: str | None, p_value: float | None, reason: str | None) -> str | None:
    """How a verdict's guardrail stood, in words (the listings and the report): the component
    and whether the variant hurt it, with the p-value; None for a verdict judged without one."""
    if component is None:
        return None
    if component == Guardrail.NONE:
        return Guardrail.NONE.value
    if p_value is None:
        return f"{component}: not tested"
    if reason == REASON_GUARDRAIL:
        return f"{component}: hurt, p={p_value:.3g}"
    return f"{component}: not hurt, p={p_value:.3g}"
