"""`python -m pipelines.bench gnn`: throughput of the bipartite GNN association model.

For each graph size N = M and batch size: the fast form (`message_passing`) and the
plain, per-edge-concatenating form (`message_passing_reference`), both mapped over the
batch (`--chunk` graphs at a time) and jitted, each producing either every step's
logits (`all`, what training needs) or the last step's (`last`, what the tracker
needs). The first call compiles (reported apart as compile_s); then `repeats` timed
calls, each ended with `block_until_ready`, give the median ms. Effective GFLOP/s =
reference_flops * batch / time: the work of the plain form for the same output, so a
faster algorithm shows as a higher figure. Next to it, the GFLOP/s of one large jitted
float32 matmul, measured again before every (N, batch) group of rows: what this machine
does on the friendliest possible work.
On the CPU backend the host is split into one JAX device per core (`--cpu-devices`) and
each batch is sharded over the devices that divide it (`jax.shard_map`; batch 1 runs on
one device, its matmuls threaded over all cores); the large matmul runs on one device,
threaded over all cores.
Training: jitted value_and_grad of association_loss(message_passing) + an Adam update
(fast form), in steps/s; its effective GFLOP/s counts 3x the forward FLOPs (forward +
backward, the usual convention).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxmot.core.bench_report import Column, check_choices, flag, format_row, format_table
from jaxmot.core.timing import time_calls
from jaxmot.gnn import message_passing as mp

# The plain form at 256 x 256 x 32 pairs takes ~10 s a call on a 2-core CPU; above this
# many pairs per call it is skipped (and the table says so).
PLAIN_MAX_PAIRS = 1_000_000
LOGITS = ("all", "last")


@dataclasses.dataclass(frozen=True)
class GNNBenchConfig:
    """What `run_gnn_bench` measures. The model sizes default to GNNConfig's
    (jaxmot.gnn.model).

    sizes: graph sizes N = M; batches: graphs per call; repeats: timed calls per row;
    chunk: graphs vmapped together in a lax.map over the batch (0: vmap the whole
    batch); logits: "all" (every step's, training) and/or "last" (the tracker's);
    matmul_size: side of the reference matmul; train_size / train_batch: N = M and
    batch of the train-step row; plain_max_pairs: larger plain-form calls are skipped.
    """

    sizes: tuple[int, ...] = flag((16, 64, 256), "N = M")
    batches: tuple[int, ...] = (1, 32)
    reid_dim: int = 512
    node_dim: int = 32
    edge_dim: int = 64
    steps: int = 10
    repeats: int = 5
    chunk: int = flag(
        1, "graphs vmapped together in a lax.map over the batch (0: vmap the whole batch)"
    )
    logits: tuple[str, ...] = flag(
        LOGITS, "all: every step's logits (training); last: the last step's only (tracking)", LOGITS
    )
    matmul_size: int = 2048
    train_size: int = flag(64, "N = M of the train step")
    train_batch: int = 32
    plain_max_pairs: int = PLAIN_MAX_PAIRS

    def __post_init__(self):
        check_choices(self)


def matmul_gflops(size: int, repeats: int) -> float:
    """GFLOP/s of a jitted float32 [size, size] @ [size, size]."""
    a = jnp.asarray(np.random.default_rng(0).normal(size=(size, size)), jnp.float32)
    f = jax.jit(jnp.matmul)
    _, seconds = time_calls(lambda: f(a, a), max(repeats, 10))
    return 2 * size**3 / seconds / 1e9


def random_batch(n: int, batch: int, reid_dim: int, seed: int = 0):
    """Random but realistic inputs: [B, N, D] features, [B, N, N, 6] edge features."""
    rng = np.random.default_rng(seed)

    def boxes():
        xy = rng.uniform(0, 1000, (batch, n, 2))
        return np.concatenate([xy, rng.uniform(20, 200, (batch, n, 2))], -1).astype(np.float32)

    tf = rng.normal(size=(batch, n, reid_dim)).astype(np.float32)
    df = rng.normal(size=(batch, n, reid_dim)).astype(np.float32)
    tt = rng.integers(0, 20, (batch, n)).astype(np.float32)
    dt = np.full((batch, n), 20.0, np.float32)
    ef = jax.jit(jax.vmap(mp.edge_features))(boxes(), boxes(), tt, dt, tf, df)
    valid = np.ones((batch, n), bool)
    return tf, df, ef, valid, valid


def batch_mesh(batch: int) -> Mesh:
    """A 1-D mesh ("batch") over the most devices that divide `batch`."""
    count = max(d for d in range(1, jax.device_count() + 1) if batch % d == 0)
    return Mesh(np.array(jax.devices()[:count]), ("batch",))


def shard_batch(fn, batch: int):
    """`fn` (over a leading batch axis) sharded over the most devices that divide the
    batch, each device running its own slice (`jax.shard_map`); (fn, device count)."""
    mesh = batch_mesh(batch)
    if mesh.size == 1:
        return fn, 1
    spec = PartitionSpec("batch")
    return jax.shard_map(fn, mesh=mesh, in_specs=spec, out_specs=spec), mesh.size


def batched(fn, chunk: int):
    """fn over a leading batch axis: vmap in chunks of `chunk` graphs (lax.map), or all at
    once when chunk is 0. Same results; chunks decide how much of [B, N, M, e] is live."""
    if chunk <= 0:
        return jax.vmap(fn)
    if chunk == 1:  # the unbatched graph function in a loop: no size-1 batch dims
        return lambda *xs: jax.lax.map(lambda x: fn(*x), xs)
    return lambda *xs: jax.lax.map(lambda x: fn(*x), xs, batch_size=chunk)


def bench_forward(form, logits, params, n, batch, config: GNNBenchConfig, matmul) -> dict:
    """One row: `form` fast | plain, `logits` all (training output) | last (tracker)."""
    fn = mp.message_passing if form == "fast" else mp.message_passing_reference
    all_steps = logits == "all"
    fn = functools.partial(fn, params, num_steps=config.steps, all_steps=all_steps)
    run, devices = shard_batch(batched(fn, config.chunk), batch)
    run = jax.jit(run)
    inputs = random_batch(n, batch, config.reid_dim)
    first, seconds = time_calls(lambda: run(*inputs), config.repeats)
    flops = mp.reference_flops(
        n, n, config.reid_dim, config.node_dim, config.edge_dim, config.steps, all_steps=all_steps
    )
    return {
        "form": form,
        "logits": logits,
        "n": n,
        "batch": batch,
        "steps": config.steps,
        "devices": devices,
        "ms_median": 1e3 * seconds,
        "effective_gflops": flops * batch / seconds / 1e9,
        "matmul_gflops": matmul,
        "compile_s": max(first - seconds, 0.0),
        "skipped": False,
    }


def bench_train(params, config: GNNBenchConfig, matmul) -> dict:
    n, batch = config.train_size, config.train_batch
    tx = optax.adam(1e-3)
    labels = jnp.broadcast_to(jnp.eye(n), (batch, n, n))

    def loss_fn(p, tf, df, ef, tv, dv):
        logits = jax.vmap(functools.partial(mp.message_passing, p, num_steps=config.steps))(
            tf, df, ef, tv, dv
        )
        pair = tv[:, :, None] & dv[:, None, :]
        return jnp.mean(jax.vmap(mp.association_loss)(logits, labels, pair))

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def train_step(p, opt_state, *inputs):
        loss, grads = jax.value_and_grad(loss_fn)(p, *inputs)
        updates, opt_state = tx.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), opt_state, loss

    inputs = random_batch(n, batch, config.reid_dim, seed=1)
    # Data parallel as the train loop runs it: the batch sharded over the devices that
    # divide it, the parameters replicated; jit partitions the step (and the gradient
    # sum) itself.
    mesh = batch_mesh(batch)
    inputs = [jax.device_put(x, NamedSharding(mesh, PartitionSpec("batch"))) for x in inputs]
    replicated = NamedSharding(mesh, PartitionSpec())
    holder = {"p": jax.device_put(jax.tree.map(jnp.array, params), replicated)}  # donated
    holder["opt"] = tx.init(holder["p"])

    def once():
        holder["p"], holder["opt"], loss = train_step(holder["p"], holder["opt"], *inputs)
        return loss

    first, seconds = time_calls(once, config.repeats)
    flops = 3 * mp.reference_flops(
        n, n, config.reid_dim, config.node_dim, config.edge_dim, config.steps
    )
    return {
        "form": "fast-train",
        "logits": "all",
        "n": n,
        "batch": batch,
        "steps": config.steps,
        "devices": mesh.size,
        "ms_median": 1e3 * seconds,
        "steps_per_sec": 1.0 / seconds,
        "effective_gflops": flops * batch / seconds / 1e9,
        "matmul_gflops": matmul,
        "compile_s": max(first - seconds, 0.0),
        "skipped": False,
    }


def run_gnn_bench(config: GNNBenchConfig, progress=print) -> list[dict]:
    params = mp.init_params(jax.random.key(0), config.reid_dim, config.node_dim, config.edge_dim)
    records = []
    for n in config.sizes:
        for batch in config.batches:
            # Re-measured next to every group of rows: on a shared machine the load
            # drifts, and the ratio that matters is the one measured together.
            matmul = matmul_gflops(config.matmul_size, config.repeats)
            progress(f"{config.matmul_size}^2 float32 matmul: {matmul:.1f} GFLOP/s")
            for logits in config.logits:
                for form in ("fast", "plain"):
                    if form == "plain" and n * n * batch > config.plain_max_pairs:
                        records.append(
                            {
                                "form": form,
                                "logits": logits,
                                "n": n,
                                "batch": batch,
                                "skipped": True,
                                "ms_median": None,
                                "effective_gflops": None,
                                "matmul_gflops": matmul,
                                "compile_s": None,
                            }
                        )
                        continue
                    progress(f"{form} ({logits} logits) N = M = {n}, batch {batch} ...")
                    records.append(bench_forward(form, logits, params, n, batch, config, matmul))
    progress(f"train step N = M = {config.train_size}, batch {config.train_batch} ...")
    matmul = matmul_gflops(config.matmul_size, config.repeats)
    records.append(bench_train(params, config, matmul))
    return records


COLUMNS = (
    Column("form", 10, "form", left=True),
    Column("logits", 6, "logits"),
    Column("N=M", 5, "n", "d"),
    Column("batch", 5, "batch", "d"),
    Column("dev", 3, lambda r: str(r.get("devices", "-"))),
    Column("ms median", 10, "ms_median", ".2f"),
    Column("eff GFLOP/s", 12, "effective_gflops", ".1f"),
    Column("matmul GFLOP/s", 15, "matmul_gflops", ".1f"),
    Column("compile s", 9, "compile_s", ".2f"),
)
_SKIPPED = "skipped: too slow on this machine (--plain-max-pairs)"


def _row(columns, r) -> str:
    if r["skipped"]:
        return f"{format_row(columns[:5], r)} {_SKIPPED:>38s}"
    steps = f"   {r['steps_per_sec']:.2f} steps/s" if "steps_per_sec" in r else ""
    return format_row(columns, r) + steps


def format_gnn_records(records: list[dict]) -> str:
    return format_table(COLUMNS, records, row=_row)


__all__ = [
    "GNNBenchConfig",
    "batched",
    "format_gnn_records",
    "matmul_gflops",
    "random_batch",
    "run_gnn_bench",
    "shard_batch",
]
