"""Data parallelism: one device mesh, batches split along "data", everything else replicated.

The same code runs on one CPU, eight GPUs or a multi-host TPU slice: jit sees a batch
sharded over the mesh and replicated parameters and inserts the gradient all-reduce (and,
for BatchNorm, the cross-device batch moments) itself, so a sharded step computes what a
single device would, up to float summation order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

DATA_AXIS = "data"


def initialize_distributed() -> None:
    """`jax.distributed.initialize()` once (it must run before JAX touches a device)."""
    if not jax.distributed.is_initialized():
        jax.distributed.initialize()


def make_data_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A 1-D mesh with axis "data" over `devices` (default: all devices of all hosts)."""
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.asarray(devices), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
    """Sharding of parameters, optimizer state and scalars: a full copy on every device."""
    return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Sharding of batch arrays: the leading (example) axis split over "data"."""
    return NamedSharding(mesh, P(DATA_AXIS))


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
    """Raise if the global batch does not split evenly over the mesh's devices."""
    n = mesh.devices.size
    if batch_size % n:
        raise ValueError(
            f"batch_size={batch_size} does not divide by the {n} devices of the mesh;"
            f" use a multiple of {n} (e.g. --set batch_size={max(n, batch_size // n * n)})"
        )


def shard_batch(batch: Mapping[str, np.ndarray], mesh: Mesh) -> dict[str, jax.Array]:
    """Place the GLOBAL batch on the mesh, split along the leading axis.

    Args:
      batch: name -> [B, ...] host arrays, the same on every process (the loop's batches
        are a pure function of the step, so each host can compute the global batch).

    Returns:
      name -> [B, ...] global jax.Arrays sharded with P("data").
    """
    sharding = batch_sharding(mesh)
    n = mesh.devices.size
    out = {}
    for name, value in batch.items():
        value = np.asarray(value)
        if value.ndim == 0 or value.shape[0] % n:
            raise ValueError(
                f"batch[{name!r}] has shape {value.shape}: its leading axis must divide by"
                f" the {n} devices"
            )
        if jax.process_count() == 1:
            out[name] = jax.device_put(value, sharding)
        else:
            # Each host copies only the rows its own devices hold, wherever the mesh
            # places them, so no host-order assumption is needed.
            out[name] = jax.make_array_from_callback(
                value.shape, sharding, lambda index, v=value: v[index]
            )
    return out


def replicate(tree, mesh: Mesh):
    """Put every array of `tree` on every device of `mesh`."""
    return jax.device_put(tree, replicated(mesh))
