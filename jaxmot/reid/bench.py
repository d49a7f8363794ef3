"""`python -m pipelines.bench reid`: ReID training and embedding throughput.

For each ResNet depth and batch size: the real train step (jaxmot.train.step, the one
`pipelines.train_reid` runs: forward, triplet + cross-entropy, backward, Adam) in
examples/s, and embedding (eval mode, `model.embed`) in crops/s, at 256x128 by default.
Compile time is measured apart (the first call); then `repeats` timed calls, each
ended with `block_until_ready`.
"""

from __future__ import annotations

import jax
import numpy as np
from flax import nnx

from jaxmot.core.bench_report import Column, format_table
from jaxmot.core.timing import time_calls
from jaxmot.reid.metric_learning import batch_hard_triplet_loss, cross_entropy_with_label_smoothing
from jaxmot.reid.model import ReIDModelConfig, build_reid_model
from jaxmot.train import OptimizerConfig, make_data_mesh, make_optimizer, make_schedule, shard_batch
from jaxmot.train.mesh import replicate
from jaxmot.train.step import make_train_step


def _loss_fn(model, batch, key):
    del key
    out = model(batch["images"])
    labels = batch["labels"]
    loss = cross_entropy_with_label_smoothing(out["logits"], labels, 0.1)
    return loss + batch_hard_triplet_loss(out["features"], labels, margin=0.3), {}


def bench_config(depth: int, width: int, batch: int, size: tuple[int, int], repeats: int) -> dict:
    config = ReIDModelConfig(depth=depth, width=width, num_classes=751, input_size=size)
    model = build_reid_model(config, nnx.Rngs(0))
    mesh = make_data_mesh()
    rng = np.random.default_rng(0)
    data = {
        "images": rng.normal(size=(batch, *size, 3)).astype(np.float32),
        "labels": np.repeat(np.arange(batch // 4), 4).astype(np.int32),  # P x K with K = 4
    }
    sharded = shard_batch(data, mesh)
    opt = OptimizerConfig(name="adam", learning_rate=3.5e-4)
    tx = make_optimizer(opt, 1000)
    model.train()
    graphdef, state = nnx.split(model)
    state = replicate(state, mesh)
    opt_state = replicate(tx.init(nnx.filter_state(state, nnx.Param)), mesh)
    step_fn = make_train_step(graphdef, _loss_fn, tx, make_schedule(opt, 1000), mesh)
    key = jax.random.key(0)
    holder = {"state": state, "opt": opt_state}

    def train_once():
        holder["state"], holder["opt"], metrics = step_fn(
            holder["state"], holder["opt"], sharded, key, np.int32(0)
        )
        return metrics["loss"]

    train_first, train_median = time_calls(train_once, repeats)
    model = nnx.merge(graphdef, holder["state"])
    model.eval()
    embed = nnx.jit(lambda m, x: m.embed(x))
    embed_first, embed_median = time_calls(lambda: embed(model, sharded["images"]), repeats)
    return {
        "depth": depth,
        "width": width,
        "batch": batch,
        "input_size": list(size),
        "train_examples_per_sec": batch / train_median,
        "train_step_ms": 1e3 * train_median,
        "train_compile_s": max(train_first - train_median, 0.0),
        "embed_crops_per_sec": batch / embed_median,
        "embed_ms": 1e3 * embed_median,
        "embed_compile_s": max(embed_first - embed_median, 0.0),
        "devices": jax.device_count(),
    }


def run_reid_bench(depths, batches, width: int, size, repeats: int, progress=print) -> list[dict]:
    records = []
    for depth in depths:
        for batch in batches:
            progress(f"ResNet-{depth} width {width}, batch {batch}, {size[0]}x{size[1]} ...")
            records.append(bench_config(depth, width, batch, tuple(size), repeats))
    return records


COLUMNS = (
    Column("model", 14, lambda r: f"R{r['depth']} w{r['width']}", left=True),
    Column("batch", 5, "batch", "d"),
    Column("train ex/s", 11, "train_examples_per_sec", ".1f"),
    Column("step ms", 9, "train_step_ms", ".0f"),
    Column("compile s", 9, "train_compile_s", ".1f"),
    Column("embed crops/s", 14, "embed_crops_per_sec", ".1f"),
    Column("compile s", 9, "embed_compile_s", ".1f"),
)


def format_reid_records(records: list[dict]) -> str:
    return format_table(COLUMNS, records)


__all__ = ["bench_config", "format_reid_records", "run_reid_bench"]
