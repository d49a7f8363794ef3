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


def initialize_distributed(
    coordinator: str | None = None, num_processes: int | None = None, process_id: int | None = None
) -> None:
    """`jax.distributed.initialize` once; it must run before JAX touches a device.

    With no arguments JAX finds the cluster itself on TPU VMs and under SLURM, Open MPI,
    Kubernetes or mpi4py; elsewhere give the coordinator's HOST:PORT, the number of
    processes and this process's index (0 runs the coordinator).
    """
    if jax.distributed.is_initialized():
        return
    kwargs = {"coordinator_address": coordinator, "num_processes": num_processes,
              "process_id": process_id}  # fmt: skip
    jax.distributed.initialize(**{k: v for k, v in kwargs.items() if v is not None})


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


def process_rows(batch_size: int, mesh: Mesh) -> slice:
    """The rows of a global batch of `batch_size` that this process's devices hold under
    the batch sharding (all rows on a single host).

    Raises:
      ValueError: the mesh gives this process rows that are not one contiguous block.
    """
    indices = batch_sharding(mesh).addressable_devices_indices_map((batch_size,))
    starts = sorted({index[0].indices(batch_size)[0] for index in indices.values()})
    stops = sorted({index[0].indices(batch_size)[1] for index in indices.values()})
    if starts[1:] != stops[:-1]:
        raise ValueError(f"process {jax.process_index()} holds non-contiguous rows {starts}")
    return slice(starts[0], stops[-1])


def shard_batch(
    batch: Mapping[str, np.ndarray], mesh: Mesh, global_rows: int | None = None
) -> dict[str, jax.Array]:
    """Place a batch on the mesh, split along the leading axis.

    Args:
      batch: name -> [B, ...] host arrays: the GLOBAL batch (every process may pass it;
        each copies only the rows its devices hold), or, with `global_rows`, only this
        process's rows (`process_rows(global_rows, mesh)`).
      global_rows: the global batch size when `batch` holds this process's rows only.

    Returns:
      name -> [global B, ...] global jax.Arrays sharded with P("data").
    """
    sharding = batch_sharding(mesh)
    n = mesh.devices.size
    out = {}
    for name, value in batch.items():
        value = np.asarray(value)
        rows = global_rows if global_rows is not None else (value.shape[0] if value.ndim else 0)
        if value.ndim == 0 or rows % n:
            raise ValueError(
                f"batch[{name!r}] has shape {value.shape}: its leading axis must divide by"
                f" the {n} devices"
            )
        if global_rows is not None:
            out[name] = jax.make_array_from_process_local_data(
                sharding, value, (global_rows, *value.shape[1:])
            )
        elif jax.process_count() == 1:
            out[name] = jax.device_put(value, sharding)
        else:
            # Each host copies only the rows its own devices hold, wherever the mesh
            # places them, so no host-order assumption is needed.
            out[name] = jax.make_array_from_callback(
                value.shape, sharding, lambda index, v=value: v[index]
            )
    return out


def replicate(tree, mesh: Mesh):
    """Put every array of `tree` on every device of `mesh`.

    On several hosts an array already on one device cannot be `device_put` onto devices
    of other processes, so each leaf goes through host memory (every process holds the
    same value: the state is a function of the seed or of a checkpoint).
    """
    sharding = replicated(mesh)
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)

    def put(x):
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            data = jax.device_put(np.asarray(jax.random.key_data(x)), sharding)
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
        return jax.device_put(np.asarray(x), sharding)

    return jax.tree.map(put, tree)
