"""Map raw narration speed and caption density to the recipe's buckets (contract §2)."""

from __future__ import annotations

import math
import numbers

# Bucket bounds (contract §2): below the first is the low bucket, up to the second inclusive
# the middle one, above it the high one. The backfill's SQL reads the same numbers.
WPM_BOUNDS = (120.0, 160.0)
DENSITY_BOUNDS = (0.3, 0.6)
WPM_NAMES = ("slow", "medium", "fast")
DENSITY_NAMES = ("sparse", "medium", "dense")


class InvalidRawValue(ValueError):
    """A raw measurement that cannot be bucketed: not a number, negative or not finite."""


def _check_raw(name: str, value: object) -> float:
    # bool is a numbers.Real subclass; a True wpm is a data error, not 1 wpm.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidRawValue(f"{name} must be a number; got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidRawValue(f"{name} must be a finite number; got {value!r}")
    if number < 0:
        raise InvalidRawValue(f"{name} must be >= 0; got {value!r}")
    return number


def wpm_bucket(wpm: float) -> str:
    """slow below 120 words/minute, medium from 120 to 160 inclusive, fast above 160."""
    return _bucket(_check_raw("narration_wpm", wpm), WPM_BOUNDS, WPM_NAMES)


def density_bucket(cps: float) -> str:
    """sparse below 0.3 captions/second, medium from 0.3 to 0.6 inclusive, dense above 0.6."""
    return _bucket(_check_raw("caption_density", cps), DENSITY_BOUNDS, DENSITY_NAMES)


def _bucket(value: float, bounds: tuple[float, float], names: tuple[str, str, str]) -> str:
    if value < bounds[0]:
        return names[0]
    if value <= bounds[1]:
        return names[1]
    return names[2]
