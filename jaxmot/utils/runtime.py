"""Process-wide JAX settings for latency-bound online tracking."""

from __future__ import annotations

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
