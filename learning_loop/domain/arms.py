"""An experiment at one daily look (contract §7), written once: which videos make its arms, and
its verdict.

The services read the candidate rows with SQL and pass them here; the simulator passes its
in-memory videos (`learning_loop.simulation.loop`). So the two cannot drift apart, which the
differential test (`learning_loop_tests/simulation/test_differential.py`) checks end to end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from learning_loop.domain.experiments import (
    BASELINE_RATIO,
    EARLY_ALPHA_SHARE,
    AlphaShares,
    Verdict,
    allocation_p_value,
    decide,
    past_deadline,
)
from learning_loop.domain.guardrail import GuardrailArms, guard
from learning_loop.domain.statuses import GenerationMode

if TYPE_CHECKING:  # imported where used: the CLI's start must not pay for numpy
    import numpy as np
    import numpy.typing as npt

    from learning_loop.domain.linear_sequential import ContrastTest

# The baseline arm is traffic the project publishes anyway: its exploit videos.
BASELINE_MODE = GenerationMode.EXPLOIT


def evaluation_end(as_of: dt.date) -> dt.datetime:
    """The end of an evaluation date, `D+1 00:00 UTC`: the arms hold the videos stamped before
    it, and it is the clock of `max_days`."""
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def baseline_arm(
    modes: npt.ArrayLike,
    recipes: npt.ArrayLike,
    stamps: npt.ArrayLike,
    baseline: Any,
    started_at: Any,
    end: Any,
) -> npt.NDArray[np.bool_]:
    """Which of a project's videos make an experiment's baseline arm: its exploit videos
    (`modes`, generation modes) with the experiment's `baseline` recipe (`recipes`: hashes or
    catalogue indices, as `baseline` is given) whose stamp is from the experiment's start to
    the `end` of the evaluation date.

    The stamp is the publication (`published_at`) for the arm's rewards, the creation
    (`created_at`) for what was planned (the allocation check). Stamps, `started_at` and `end`
    are of one kind: datetimes, or numbers on one clock.
    """
    import numpy as np

    mode = np.asarray(modes)
    stamp = np.asarray(stamps)
    taken: npt.NDArray[np.bool_] = (
        (mode == BASELINE_MODE.value)
        & (np.asarray(recipes) == baseline)
        & (stamp >= started_at)
        & (stamp < end)
    )
    return taken


@dataclass(frozen=True)
class VerdictRule:
    """A project's verdict settings (contract §7; the project's `alpha`, `min_samples` and
    `max_days`). The rest is the product's rule; the simulator varies it to measure others."""

    alpha: float
    min_samples: int
    max_days: int
    tau: float | None = None  # the early look's mixing sd (None: `sequential.MIXING_SD`)
    early_share: float = EARLY_ALPHA_SHARE
    baseline_ratio: int = BASELINE_RATIO
    # How alpha is spent when pooled evidence was looked at (None: `experiments.WITH_POOLED`).
    shares: AlphaShares | None = None


Pooled = tuple[Any, bool]  # (the pooled ContrastTest or None, whether e-BH rejects it)


def verdict(
    baseline: Sequence[float],
    variant: Sequence[float],
    started_at: dt.datetime,
    end: dt.datetime,
    rule: VerdictRule,
    pooled: Pooled | None = None,
    planned: tuple[int, int] | None = None,
    guardrail: GuardrailArms | None = None,
    final: Callable[[], ContrastTest | None] | None = None,
) -> Verdict | None:
    """The verdict of an experiment started at `started_at`, looked at on the evaluation date
    that ends at `end`, from its arms' current rewards (None: it runs on; `experiments.decide`).

    `pooled` is the experiment's pooled test as `pooled.pooled_tests` gives it, when its
    project's pooled evidence was looked at (None: the arms decide alone); `final` supplies
    the final look's, adjusted for the publication time too (`pooled.adjusted_test`; called
    only at that look). `planned` is its
    planned videos, (baseline arm, variant arm), for the allocation check (None: no check).
    `guardrail` is the project's guardrail with the arms' values of its component
    (`guardrail.guard`: it can hold a variant's win back; None: no guardrail).
    """
    allocation = (
        None if planned is None else allocation_p_value(planned, (len(baseline), len(variant)))
    )
    test, rejected = pooled if pooled is not None else (None, False)
    found = decide(
        baseline,
        variant,
        rule.alpha,
        rule.min_samples,
        past_deadline(started_at, end, rule.max_days),
        rule.tau,
        rule.early_share,
        rule.baseline_ratio,
        test,
        rejected,
        rule.shares if pooled is not None else None,
        allocation,
        final,
    )
    return None if found is None else guard(found, guardrail, rule.alpha)
