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

import argparse
import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxmot.core.timing import time_calls
from jaxmot.gnn import message_passing as mp

DEFAULT_SIZES = (16, 64, 256)
DEFAULT_BATCHES = (1, 32)
# Course notebook defaults (reference.md section 3).
COURSE = {"reid_dim": 512, "node_dim": 32, "edge_dim": 64, "steps": 10}
# The plain form at 256 x 256 x 32 pairs takes ~10 s a call on a 2-core CPU; above this
# many pairs per call it is skipped (and the table says so).
PLAIN_MAX_PAIRS = 1_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", nargs="+", type=int, default=list(DEFAULT_SIZES), help="N = M")
    parser.add_argument("--batches", nargs="+", type=int, default=list(DEFAULT_BATCHES))
    parser.add_argument("--reid-dim", type=int, default=COURSE["reid_dim"])
    parser.add_argument("--node-dim", type=int, default=COURSE["node_dim"])
    parser.add_argument("--edge-dim", type=int, default=COURSE["edge_dim"])
    parser.add_argument("--steps", type=int, default=COURSE["steps"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--chunk", type=int, default=1,
        help="graphs vmapped together in a lax.map over the batch (0: vmap the whole batch)",
    )  # fmt: skip
    parser.add_argument(
        "--logits", nargs="+", choices=("all", "last"), default=["all", "last"],
        help="all: every step's logits (training); last: the last step's only (tracking)",
    )  # fmt: skip
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--train-size", type=int, default=64, help="N = M of the train step")
    parser.add_argument("--train-batch", type=int, default=32)
    parser.add_argument("--plain-max-pairs", type=int, default=PLAIN_MAX_PAIRS)
    parser.add_argument(
        "--cpu-devices", type=int, default=0,
        help="on the CPU backend, split the host into this many JAX devices (0: one per "
             "core) and shard each batch over them; 1 keeps one device",
    )  # fmt: skip
    parser.add_argument("--json", type=pathlib.Path, help="write the records here")


def matmul_gflops(size: int, repeats: int) -> float:
    """GFLOP/s of a jitted float32 [size, size] @ [size, size]."""
    a = jnp.asarray(np.random.default_rng(0).normal(size=(size, size)), jnp.float32)
    f = jax.jit(jnp.matmul)
    _, seconds = time_calls(lambda: f(a, a), max(repeats, 10))
    return 2 * size**3 / seconds / 1e9


def _batch(n: int, batch: int, reid_dim: int, seed: int = 0):
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


def bench_forward(form, logits, params, n, batch, args, matmul) -> dict:
    """One row: `form` fast | plain, `logits` all (training output) | last (tracker)."""
    fn = mp.message_passing if form == "fast" else mp.message_passing_reference
    all_steps = logits == "all"
    fn = functools.partial(fn, params, num_steps=args.steps, all_steps=all_steps)
    run, devices = shard_batch(batched(fn, args.chunk), batch)
    run = jax.jit(run)
    inputs = _batch(n, batch, args.reid_dim)
    first, seconds = time_calls(lambda: run(*inputs), args.repeats)
    flops = mp.reference_flops(
        n, n, args.reid_dim, args.node_dim, args.edge_dim, args.steps, all_steps=all_steps
    )
    return {
        "form": form,
        "logits": logits,
        "n": n,
        "batch": batch,
        "steps": args.steps,
        "devices": devices,
        "ms_median": 1e3 * seconds,
        "effective_gflops": flops * batch / seconds / 1e9,
        "matmul_gflops": matmul,
        "compile_s": max(first - seconds, 0.0),
        "skipped": False,
    }


def bench_train(params, args, matmul) -> dict:
    n, batch = args.train_size, args.train_batch
    tx = optax.adam(1e-3)
    labels = jnp.broadcast_to(jnp.eye(n), (batch, n, n))

    def loss_fn(p, tf, df, ef, tv, dv):
        logits = jax.vmap(functools.partial(mp.message_passing, p, num_steps=args.steps))(
            tf, df, ef, tv, dv
        )
        pair = tv[:, :, None] & dv[:, None, :]
        return jnp.mean(jax.vmap(mp.association_loss)(logits, labels, pair))

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def train_step(p, opt_state, *inputs):
        loss, grads = jax.value_and_grad(loss_fn)(p, *inputs)
        updates, opt_state = tx.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), opt_state, loss

    inputs = _batch(n, batch, args.reid_dim, seed=1)
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

    first, seconds = time_calls(once, args.repeats)
    flops = 3 * mp.reference_flops(n, n, args.reid_dim, args.node_dim, args.edge_dim, args.steps)
    return {
        "form": "fast-train",
        "logits": "all",
        "n": n,
        "batch": batch,
        "steps": args.steps,
        "devices": mesh.size,
        "ms_median": 1e3 * seconds,
        "steps_per_sec": 1.0 / seconds,
        "effective_gflops": flops * batch / seconds / 1e9,
        "matmul_gflops": matmul,
        "compile_s": max(first - seconds, 0.0),
        "skipped": False,
    }


def run_gnn_bench(args, progress=print) -> list[dict]:
    params = mp.init_params(jax.random.key(0), args.reid_dim, args.node_dim, args.edge_dim)
    records = []
    for n in args.sizes:
        for batch in args.batches:
            # Re-measured next to every group of rows: on a shared machine the load
            # drifts, and the ratio that matters is the one measured together.
            matmul = matmul_gflops(args.matmul_size, args.repeats)
            progress(f"{args.matmul_size}^2 float32 matmul: {matmul:.1f} GFLOP/s")
            for logits in args.logits:
                for form in ("fast", "plain"):
                    if form == "plain" and n * n * batch > args.plain_max_pairs:
                        records.append({"form": form, "logits": logits, "n": n, "batch": batch,
                                        "skipped": True, "ms_median": None,
                                        "effective_gflops": None, "matmul_gflops": matmul,
                                        "compile_s": None})  # fmt: skip
                        continue
                    progress(f"{form} ({logits} logits) N = M = {n}, batch {batch} ...")
                    records.append(bench_forward(form, logits, params, n, batch, args, matmul))
    progress(f"train step N = M = {args.train_size}, batch {args.train_batch} ...")
    matmul = matmul_gflops(args.matmul_size, args.repeats)
    records.append(bench_train(params, args, matmul))
    return records


def format_gnn_records(records: list[dict]) -> str:
    header = (f"{'form':10s} {'logits':>6s} {'N=M':>5s} {'batch':>5s} {'dev':>3s} "
              f"{'ms median':>10s} {'eff GFLOP/s':>12s} {'matmul GFLOP/s':>15s} "
              f"{'compile s':>9s}")  # fmt: skip
    lines = [header, "-" * len(header)]
    for r in records:
        devices = str(r.get("devices", "-"))
        head = f"{r['form']:10s} {r['logits']:>6s} {r['n']:5d} {r['batch']:5d} {devices:>3s}"
        if r["skipped"]:
            lines.append(f"{head} {'skipped: too slow on this machine (--plain-max-pairs)':>38s}")
            continue
        lines.append(
            f"{head} {r['ms_median']:10.2f} {r['effective_gflops']:12.1f} "
            f"{r['matmul_gflops']:15.1f} {r['compile_s']:9.2f}"
            + (f"   {r['steps_per_sec']:.2f} steps/s" if "steps_per_sec" in r else "")
        )
    return "\n".join(lines)


__all__ = ["add_arguments", "format_gnn_records", "matmul_gflops", "run_gnn_bench"]
