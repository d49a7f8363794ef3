"""Batches ahead of the train step: worker threads (grain), then onto the devices.

A task's batches are a pure function of the step (`Task.batch(step)`), so the loop can
build them anywhere and in any order without changing what it trains on: with
`workers` > 0 grain's `MapDataset.range(start, stop).map(batch)` runs `batch` on that
many threads and keeps up to `prefetch` finished batches queued; batches then go to the
devices one step ahead with the batch sharding, so the copy overlaps the running step.
Resuming at step s starts the range at s: the same batches, whatever the worker count.

Threads, not processes: the samplers spend their time in OpenCV and NumPy, which
release the GIL (a probe of the threads' scheduler statistics found them waiting for it
1-8% of the time), so two threads use both cores of a 2-core machine
(`python -m pipelines.bench input`: 1.51x the SOT examples/s of the main thread alone,
whose OpenCV calls already run on OpenCV's own thread pool), without pickling a task's
datasets into each worker or re-importing JAX there.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import grain
import jax
import numpy as np
from jax.sharding import Mesh

from jaxmot.train.mesh import shard_batch

HostBatch = Mapping[str, np.ndarray]


def host_batches(
    batch: Callable[[int], HostBatch], start: int, stop: int, *, workers: int = 0, prefetch: int = 2
) -> Iterator[HostBatch]:
    """`batch(step)` for step in [start, stop), in order.

    Args:
      batch: the task's batch function (pure in the step; called from worker threads
        when `workers` > 0).
      workers: 0 builds each batch in the calling thread when it is asked for; N > 0
        builds them on N grain threads.
      prefetch: with workers, how many finished batches are queued ahead (at least
        `workers`, so that every thread has a slot).
    """
    if workers < 0 or prefetch < 0:
        raise ValueError(f"workers and prefetch must be >= 0, got {workers} and {prefetch}")
    if workers == 0:
        return (batch(step) for step in range(start, stop))
    options = grain.ReadOptions(num_threads=workers, prefetch_buffer_size=max(prefetch, workers))
    dataset = grain.MapDataset.range(start, stop).map(batch)
    return iter(dataset.to_iter_dataset(options))


class DeviceBatches:
    """(step, batch on the mesh) for step in [start, stop), one batch ahead on the devices.

    `wait_s` accumulates the time `next()` spent waiting for a batch (building it, when
    there are no workers, or waiting for the workers), which is the time the devices sit
    idle for input when the loop blocks on each step.

    Args:
      batch: step -> the global batch, or only this process's rows of it when
        `global_rows` is given.
      global_rows: the global batch size when `batch` gives this process's rows only.
      check: called on every host batch with its step before it is sharded (e.g. a
        shape check raising ValueError).
    """

    def __init__(
        self,
        batch: Callable[[int], HostBatch],
        start: int,
        stop: int,
        mesh: Mesh,
        *,
        workers: int = 0,
        prefetch: int = 2,
        global_rows: int | None = None,
        check: Callable[[HostBatch, int], None] | None = None,
    ):
        self._host = host_batches(batch, start, stop, workers=workers, prefetch=prefetch)
        self._steps = iter(range(start, stop))
        self._mesh, self._check, self._global_rows = mesh, check, global_rows
        # Device copies in flight; one ahead only with workers: without them, building
        # the next batch early would only move the wait, not hide it.
        self._ahead = 1 if workers > 0 else 0
        self._queue: collections.deque[tuple[int, Any]] = collections.deque()
        self.wait_s = 0.0

    def __iter__(self) -> DeviceBatches:
        return self

    def __next__(self) -> tuple[int, dict[str, jax.Array]]:
        t0 = time.perf_counter()
        try:
            while len(self._queue) <= self._ahead and self._put_next():
                pass
            if not self._queue:
                raise StopIteration
            step, batch = self._queue.popleft()
            if isinstance(batch, Exception):
                raise batch
            return step, batch
        finally:
            self.wait_s += time.perf_counter() - t0

    def _put_next(self) -> bool:
        step = next(self._steps, None)
        if step is None:
            return False
        try:
            batch = next(self._host)
            if self._check is not None:
                self._check(batch, step)
            self._queue.append((step, shard_batch(batch, self._mesh, self._global_rows)))
        except Exception as error:  # raised when its step is reached, not a step early
            self._queue.append((step, error))
            self._steps = iter(())
        return True
