"""Process-wide JAX settings for latency-bound online tracking."""

from __future__ import annotations

import os
import warnings

import jax


def prefer_synchronous_cpu_dispatch() -> None:
    """Run CPU computations inline on the calling thread instead of asynchronously.

    An online tracker makes one small jitted call per frame and needs its result at
    once, so the hand-off to JAX's CPU worker thread and back costs more than the
    computation (about 30% of a frame at 10 detections on a 2-core machine). Throughput
    work (training) wants the default asynchronous dispatch, so only the tracking
    programs call this, first thing. It has no effect on GPUs and TPUs and, since JAX
    reads it when the CPU backend starts, none once a computation has run.
    """
    from jax._src import xla_bridge  # the backends dict tells whether JAX has started

    if getattr(xla_bridge, "_backends", None):
        warnings.warn(
            "prefer_synchronous_cpu_dispatch() called after JAX started: no effect",
            stacklevel=2,
        )
        return
    jax.config.update("jax_cpu_enable_async_dispatch", False)


def use_cpu_devices(count: int = 0) -> int:
    """Split the CPU into `count` JAX devices (0: one per core); returns the count used.

    Data-parallel work (a batch of independent graphs, a train step's batch) sharded over
    one device per core runs whole examples on each core. One device instead threads
    every op over all cores, which gains nothing for small ops: the GNN's
    [N*M, 64] @ [64, 64] matmuls run as fast on one core as on two. Must run before
    JAX's first computation (it warns and does nothing after); GPU and TPU devices are
    not affected.
    """
    count = count or os.cpu_count() or 1
    try:
        jax.config.update("jax_num_cpu_devices", count)
    except RuntimeError:  # JAX already started in this process (e.g. under pytest)
        running = len(jax.devices("cpu"))
        if running != count:
            warnings.warn(
                f"use_cpu_devices({count}) after JAX started: still {running} CPU device(s)",
                stacklevel=2,
            )
        return running
    return count
