"""The simulated policies' names, and how the CLI parses them (no numpy: the help needs them)."""

from __future__ import annotations

from collections.abc import Iterable

POLICIES: tuple[str, ...] = ("seed", "thompson", "random", "oracle")
# Policies that plan with the real sampler code from the loop's state (and so need rewards).
LEARNING_POLICIES: tuple[str, ...] = ("seed", "thompson")
# Policies that define the gap (random = 0% closed, oracle = 100%).
YARDSTICKS: tuple[str, ...] = ("random", "oracle")


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
