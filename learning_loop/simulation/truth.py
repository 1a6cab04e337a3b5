"""The simulator's hidden numbers and its ground-truth kernel: independent seeded streams, centred
effects and pure-interaction tables, and `smoothed_rank` (the expected mid-rank percentile)."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

FloatArray = npt.NDArray[np.float64]

GROUND_TRUTH_GRID = 1024


def hash_int(*parts: object) -> int:
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big")


def stream(seed: int, tag: str, *parts: object) -> np.random.Generator:
    """An independent random stream per (seed, purpose, key): changing one knob or adding a
    video never shifts the numbers of another stream."""
    return np.random.default_rng(
        np.random.SeedSequence(hash_int("learning-loop-sim", seed, tag, *parts))
    )


def centred(z: FloatArray) -> FloatArray:
    """Centre standard normals along the last axis, rescaled back to unit variance."""
    k = z.shape[-1]
    if k < 2:
        return np.zeros_like(z)
    centred: FloatArray = (z - z.mean(axis=-1, keepdims=True)) * math.sqrt(k / (k - 1))
    return centred


def double_centred(z: FloatArray) -> FloatArray:
    """A pure-interaction table (rows and columns sum to 0) with unit cell variance."""
    rows, cols = z.shape
    if rows < 2 or cols < 2:
        return np.zeros_like(z)
    table = z - z.mean(axis=0, keepdims=True) - z.mean(axis=1, keepdims=True) + z.mean()
    scaled: FloatArray = table * math.sqrt(rows * cols / ((rows - 1) * (cols - 1)))
    return scaled


def smoothed_rank(q: FloatArray, k: float, grid_size: int = GROUND_TRUTH_GRID) -> FloatArray:
    """``mean over j of Phi(k * (q[i] - q[j]))`` for every i, in O(n + grid^2) instead of O(n^2).

    The reference values are spread onto a uniform grid by linear binning, convolved with the
    normal-CDF kernel and read back by linear interpolation; both steps err by O(h^2), about 1e-6
    for the default knobs. The result is non-decreasing in q, as the exact one is.
    """
    q = np.asarray(q, dtype=np.float64)
    lo, hi = float(q.min()), float(q.max())
    if hi - lo <= 1e-12 * max(1.0, abs(lo)):
        return np.full(q.shape, 0.5)
    h = (hi - lo) / (grid_size - 1)
    pos = (q - lo) / h
    left = np.minimum(np.floor(pos).astype(np.int64), grid_size - 2)
    frac = pos - left
    mass = np.bincount(left, 1.0 - frac, grid_size) + np.bincount(left + 1, frac, grid_size)
    weights = mass.astype(np.float64) / q.size
    kernel = ndtr(k * h * np.arange(-(grid_size - 1), grid_size, dtype=np.float64))
    on_grid = np.convolve(weights, kernel)[grid_size - 1 : 2 * grid_size - 1]
    grid = lo + h * np.arange(grid_size, dtype=np.float64)
    grid[-1] = hi
    result: FloatArray = np.interp(q, grid, on_grid)
    return result
