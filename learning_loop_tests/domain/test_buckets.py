"""Raw wpm / captions-per-second bucketing bounds (contract §2)."""

import math

import numpy as np
import pytest

from learning_loop.domain.buckets import InvalidRawValue, density_bucket, wpm_bucket


@pytest.mark.parametrize(
    ("wpm", "bucket"),
    [
        (0, "slow"),
        (119.99, "slow"),
        (120, "medium"),
        (140.5, "medium"),
        (160, "medium"),
        (160.01, "fast"),
        (400, "fast"),
        (np.float64(120.0), "medium"),
    ],
)
def test_wpm_bucket(wpm: float, bucket: str) -> None:
    assert wpm_bucket(wpm) == bucket


@pytest.mark.parametrize(
    ("cps", "bucket"),
    [
        (0.0, "sparse"),
        (0.29, "sparse"),
        (0.3, "medium"),
        (0.45, "medium"),
        (0.6, "medium"),
        (0.61, "dense"),
        (3, "dense"),
    ],
)
def test_density_bucket(cps: float, bucket: str) -> None:
    assert density_bucket(cps) == bucket


@pytest.mark.parametrize(
    "bad", [-0.01, -120, math.nan, math.inf, -math.inf, True, False, "120", None]
)
@pytest.mark.parametrize("func", [wpm_bucket, density_bucket])
def test_invalid_raw_values_rejected(func: object, bad: object) -> None:
    with pytest.raises(InvalidRawValue) as info:
        func(bad)  # type: ignore[operator]
    assert isinstance(info.value, ValueError)
    assert str(info.value)
