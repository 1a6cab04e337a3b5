"""What a planner backend did over many plans: its requests' latencies and its re-asks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class BackendStats:
    """Filled by a backend as it plans (one event loop at a time, so no lock is needed).

    `latencies_s` holds one entry per backend call: a chat completion (answered or not) for
    `openai`, one plan for `template`. `re_asks` counts the plans sent back for correction.
    """

    latencies_s: list[float] = field(default_factory=list)
    re_asks: int = 0

    def percentile(self, q: float) -> float | None:
        """The q-th percentile (0..100) of the latencies, nearest rank; None when empty."""
        if not self.latencies_s:
            return None
        ordered = sorted(self.latencies_s)
        rank = max(1, math.ceil(q / 100 * len(ordered)))
        return ordered[min(rank, len(ordered)) - 1]

    @property
    def median_s(self) -> float | None:
        return self.percentile(50)

    @property
    def p95_s(self) -> float | None:
        return self.percentile(95)
