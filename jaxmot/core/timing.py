"""Timing for benchmarks: the first call (compilation included) apart from the rest."""

from __future__ import annotations

import time

import jax
import numpy as np


def time_calls(fn, repeats: int) -> tuple[float, float]:
    """(seconds of the first call, median seconds of `repeats` further calls).

    Every call is waited for with `block_until_ready`, so asynchronous dispatch never
    hides device time.
    """
    start = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return first, float(np.median(times))
