"""Bucketed padding: variable counts become a few static shapes (one compile each)."""

from __future__ import annotations

import numpy as np

# Powers of two from 8: a sequence touches only a handful of these.
DEFAULT_BUCKETS = (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


def bucket_size(n: int, buckets: tuple[int, ...] = DEFAULT_BUCKETS) -> int:
    """Smallest bucket >= n (n = 0 takes the smallest bucket); past the largest bucket,
    the next multiple of it."""
    for b in buckets:
        if n <= b:
            return b
    return -(-n // buckets[-1]) * buckets[-1]


def pad_rows(x: np.ndarray, size: int, fill: float = 0.0) -> np.ndarray:
    """[n, ...] -> [size, ...], rows n.. set to `fill`."""
    x = np.asarray(x)
    if x.shape[0] > size:
        raise ValueError(f"cannot pad {x.shape[0]} rows to {size}")
    out = np.full((size,) + x.shape[1:], fill, dtype=x.dtype)
    out[: x.shape[0]] = x
    return out
