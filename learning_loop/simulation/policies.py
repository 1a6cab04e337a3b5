"""The policies a simulated channel can be run with, and how each plans one day.

``seed`` and ``thompson`` are the production planners (``domain.sampler.plan_batch`` and
``domain.thompson.plan_batch_thompson``) fed from the loop's in-memory state; ``random`` (a
uniformly random valid recipe per video) and ``oracle`` (the simulator's best recipe, which no real
policy can know) are the yardsticks of the gap a policy closes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from learning_loop.domain.additive_model import Evidence, summarise_evidence
from learning_loop.domain.sampler import BatchPlan, PlannerSettings, SamplerState, plan_batch
from learning_loop.domain.statuses import Policy
from learning_loop.domain.thompson import plan_batch_thompson
from learning_loop.simulation.channel import SimulatedChannel
from learning_loop.simulation.policy_names import (
    LEARNING_POLICIES,
)


def plan_learning(
    policy: str,
    n: int,
    state: SamplerState,
    settings: PlannerSettings,
    seed: int,
    evidence: Evidence,
) -> BatchPlan:
    """One day's batch from a production planner (no topics: the simulator's topics are
    anonymous, so duplicate prevention never triggers). The seed policy reads its ranking from
    `state`, Thompson sampling fits `evidence`."""
    if policy == Policy.SEED:
        return plan_batch(n, None, state, settings, seed)
    if policy == Policy.THOMPSON:
        summary = summarise_evidence(evidence, settings.presets)
        return plan_batch_thompson(n, None, state, settings, seed, summary=summary)
    raise ValueError(f"{policy!r} is not a learning policy ({', '.join(LEARNING_POLICIES)})")


def random_indices(
    channel: SimulatedChannel, n: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """n uniformly random recipes (as all_recipes() indices)."""
    return rng.integers(0, channel.expected_rewards().shape[0], size=n, dtype=np.int64)


def oracle_indices(channel: SimulatedChannel, n: int, day: int) -> npt.NDArray[np.int64]:
    """The best recipe of the day, n times."""
    return np.full(n, int(np.argmax(channel.expected_rewards(day))), dtype=np.int64)
