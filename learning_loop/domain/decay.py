"""How old evidence fades (contract §4): a video's weight in the recipe estimates halves every
`half_life_days` (a project setting; None: it never fades). Light at import: the settings'
checks use the bounds, and numpy is loaded only to weigh."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

DEFAULT_HALF_LIFE_DAYS = 180
HALF_LIFE_MIN_DAYS = 7
HALF_LIFE_MAX_DAYS = 3650


def decay_weight(
    age_days: npt.NDArray[np.float64] | Sequence[float] | float, half_life_days: int | None
) -> npt.NDArray[np.float64]:
    """The weight of a video `age_days` old (publication day to the evaluation date):
    ``0.5 ** (age / half_life)``, 1 at age 0 (and for a video dated later), 1 for every age
    when nothing fades (`half_life_days` None)."""
    import numpy as np

    age = np.maximum(np.asarray(age_days, dtype=np.float64), 0.0)
    if half_life_days is None:
        return np.ones_like(age)
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be positive or None; got {half_life_days!r}")
    weights: npt.NDArray[np.float64] = np.exp2(-age / float(half_life_days))
    return weights
