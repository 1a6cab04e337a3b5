"""The simulated policies' names, and how the CLI parses them (no numpy: the help needs them).

The learning policies are the product's (`statuses.Policy`); the yardsticks are the simulator's
own, the two ends of the gap a policy closes.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from learning_loop.domain.statuses import Policy


class Yardstick(StrEnum):
    """Policies that define the gap: random = 0% closed, oracle = 100%."""

    RANDOM = "random"  # a uniformly random valid recipe per video
    ORACLE = "oracle"  # the simulator's best recipe, which no real policy can know


# Policies that plan with the real sampler code from the loop's state (and so need rewards).
LEARNING_POLICIES: tuple[str, ...] = tuple(Policy)
YARDSTICKS: tuple[str, ...] = tuple(Yardstick)
POLICIES: tuple[str, ...] = (*LEARNING_POLICIES, *YARDSTICKS)


def parse_policies(values: Iterable[str] | None) -> list[str]:
    """Policy names from repeated and/or comma-separated values, in POLICIES order, no repeats.

    None or nothing given means every policy. An unknown name raises ValueError.
    """
    names: set[str] = set()
    for value in values or ():
        for part in str(value).split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in POLICIES:
                raise ValueError(
                    f"unknown policy {part.strip()!r}; policies are {', '.join(POLICIES)}"
                )
            names.add(name)
    if not names:
        return list(POLICIES)
    return [p for p in POLICIES if p in names]
