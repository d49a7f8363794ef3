"""The generic training loop every jaxmot model trains through.

A model brings a `Task` (model constructor, loss, batches by step); `train` does the rest:
data-parallel sharding over all devices, the jitted step, logging, checkpoints and
automatic, exact resumption. Running the same command again after a kill continues from
the last checkpoint and produces the same parameters and the same metrics.jsonl (timing
fields aside) as a run that was never interrupted, because everything a step consumes is
a function of the step: the batch (`Task.batch(step)`), the key (`fold_in(key(seed),
step)`) and the learning rate.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time
import warnings
from typing import Any, Protocol

import jax
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh
from tqdm.auto import tqdm

from jaxmot.core.atomic import atomic_write_json
from jaxmot.train.checkpoint import Checkpoints
from jaxmot.train.config import TrainConfig, config_to_dict, make_optimizer, make_schedule
from jaxmot.train.ema import ema_params
from jaxmot.train.mesh import (
    check_batch_size,
    initialize_distributed,
    make_data_mesh,
    replicate,
    replicated,
    shard_batch,
)
from jaxmot.train.metrics_log import MetricsWriter, read_records, truncate_records
from jaxmot.train.step import make_train_step


class Task(Protocol):
    """What a model brings to the generic loop."""

    def init_model(self, rngs: nnx.Rngs) -> nnx.Module:
        """A freshly initialised model.

        The loop calls `model.train()` before training (every Dropout and BatchNorm to
        training behaviour) and `model.eval()` on the model it returns; a model with
        parts that must stay frozen (e.g. a backbone's BatchNorm) overrides `train`.
        """
        ...

    def loss_fn(
        self, model: nnx.Module, batch: dict[str, jax.Array], rng: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """(scalar loss, {name: scalar metric}); pure, traced inside jit in train mode."""
        ...

    def batch(self, step: int) -> dict[str, np.ndarray]:
        """The GLOBAL batch for `step` ({name: [batch_size, ...]}), a pure function of
        (task seed, step): deterministic random access is what makes the data position
        checkpointable and resumption exact."""
        ...


@dataclasses.dataclass
class TrainResult:
    """The trained model (eval mode), the last step and the logged records;
    `ema_model` has the averaged parameters when `TrainConfig.ema_decay` > 0."""

    model: nnx.Module
    step: int
    history: list[dict]
    ema_model: nnx.Module | None = None


def train(
    task: Task, config: TrainConfig, workdir: str | os.PathLike, *, progress: bool = True
) -> TrainResult:
    """Train `task` for `config.steps` steps in `workdir`, resuming from its checkpoints.

    Writes `workdir/config.json`, `workdir/metrics.jsonl` (one record per logged step:
    step, loss, learning_rate, grad_norm, the task's metrics, examples_per_sec, time) and
    `workdir/checkpoints/<step>`. If checkpoints exist, training continues from the newest
    (a run already at `config.steps` returns at once).

    Raises:
      ValueError: batch_size does not divide by the number of devices, or a batch's
        leading axis differs from batch_size.
    """
    if config.distributed:
        initialize_distributed()
    workdir = pathlib.Path(workdir)
    mesh = make_data_mesh()
    check_batch_size(config.batch_size, mesh)
    is_main = jax.process_index() == 0
    if is_main:
        atomic_write_json(workdir / "config.json", config_to_dict(config))

    tx = make_optimizer(config.optimizer, config.steps, config.ema_decay)
    graphdef, abstract_state = _abstract_model(task, mesh)
    abstract_opt = _with_sharding(
        jax.eval_shape(tx.init, nnx.filter_state(abstract_state, nnx.Param)), mesh
    )
    with Checkpoints(workdir / "checkpoints", keep=config.keep_checkpoints) as checkpoints:
        restored = checkpoints.restore_latest(abstract_state, abstract_opt)
        start = 0 if restored is None else restored[0]
        if restored is not None:
            _warn_if_config_changed(restored[3].get("config", {}), config_to_dict(config))
            print(f"Resumed from checkpoint step {start} in {checkpoints.directory}", flush=True)

        metrics_path = workdir / "metrics.jsonl"
        # Records after the checkpoint are recomputed below; drop them first so that each step
        # is logged exactly once.
        history = truncate_records(metrics_path, start) if is_main else read_records(metrics_path)
        if start >= config.steps:
            print(f"Training already complete at step {start} (steps={config.steps})", flush=True)
            state, opt_state = restored[1], restored[2]
            return TrainResult(
                _eval_model(graphdef, state), start, history, _ema_model(graphdef, state, opt_state)
            )

        # Check the task's batches before spending time on initialisation and compilation.
        first_batch = task.batch(start)
        _check_batch(first_batch, config.batch_size, start)
        if restored is None:
            state, opt_state = _fresh_state(task, config.seed, tx, mesh)
        else:
            state, opt_state = restored[1], restored[2]

        step_fn = make_train_step(
            graphdef, task.loss_fn, tx, make_schedule(config.optimizer, config.steps), mesh
        )
        base_key = replicate(jax.random.key(config.seed), mesh)
        meta = {"seed": config.seed, "config": config_to_dict(config)}
        tb_dir = workdir / "tensorboard" if config.tensorboard else None
        writer = MetricsWriter(metrics_path, tb_dir, enabled=is_main)
        bar = tqdm(total=config.steps, initial=start, disable=not progress, unit="step")
        t_start = t_last = time.perf_counter()
        last_logged = start
        profiler = _Profiler(workdir / "profile", start, config.profile_steps, enabled=is_main)
        try:
            for step in range(start, config.steps):
                profiler.before(step)
                batch = first_batch if step == start else task.batch(step)
                _check_batch(batch, config.batch_size, step)
                state, opt_state, metrics = step_fn(
                    state, opt_state, shard_batch(batch, mesh), base_key, np.int32(step)
                )
                done = step + 1
                if done % config.log_every == 0 or done == config.steps:
                    now = time.perf_counter()
                    rate = (done - last_logged) * config.batch_size / max(now - t_last, 1e-9)
                    record = _record(done, jax.device_get(metrics), rate, now - t_start)
                    writer.write(record)
                    history.append(record)
                    bar.set_postfix(loss=f"{record['loss']:.4g}", ex_s=f"{rate:.0f}", refresh=False)
                    t_last, last_logged = now, done
                if done % config.checkpoint_every == 0 or done == config.steps:
                    # The data position is the step itself: batches are a function of it.
                    checkpoints.save(
                        done, state, opt_state, {"step": done, "data_position": done, **meta}
                    )
                bar.update(1)
                profiler.after(step, metrics)
        finally:
            profiler.stop()
            bar.close()
            writer.close()
    return TrainResult(
        _eval_model(graphdef, state), config.steps, history, _ema_model(graphdef, state, opt_state)
    )


def restore_model(
    task: Task, workdir_or_checkpoint_dir: str | os.PathLike, step: int | None = None
) -> nnx.Module:
    """The model of a checkpoint, in eval mode, replicated on all devices.

    Args:
      workdir_or_checkpoint_dir: a training workdir or its `checkpoints` directory (e.g. a
        shipped one).
      step: which checkpoint; None for the newest that loads (a damaged newer one is
        skipped with a warning).
    """
    path = pathlib.Path(workdir_or_checkpoint_dir)
    if (path / "checkpoints").is_dir():
        path = path / "checkpoints"
    if not path.is_dir():
        raise FileNotFoundError(f"no checkpoint directory at {path}")
    mesh = make_data_mesh()
    graphdef, abstract_state = _abstract_model(task, mesh)
    with Checkpoints(path, read_only=True) as checkpoints:
        if step is None:
            restored = checkpoints.restore_latest(abstract_state)
            if restored is None:
                raise FileNotFoundError(f"no checkpoints in {path}")
            state = restored[1]
        else:
            if step not in checkpoints.steps():
                raise FileNotFoundError(
                    f"no checkpoint for step {step} in {path} (have {checkpoints.steps()})"
                )
            state = checkpoints.restore(step, abstract_state)[0]
    return _eval_model(graphdef, state)


def _abstract_model(task: Task, mesh: Mesh) -> tuple[nnx.GraphDef, nnx.State]:
    """The train-mode graphdef and the state's shapes, dtypes and (replicated) shardings."""
    model = nnx.eval_shape(lambda: task.init_model(nnx.Rngs(0)))
    model.train()
    graphdef, state = nnx.split(model)
    return graphdef, _with_sharding(state, mesh)


def _with_sharding(abstract: Any, mesh: Mesh) -> Any:
    sharding = replicated(mesh)
    return jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), abstract
    )


def _fresh_state(
    task: Task, seed: int, tx: optax.GradientTransformation, mesh: Mesh
) -> tuple[nnx.State, Any]:
    """The initial model and optimizer state, replicated on every device."""
    # Eager, not jitted: init_model may load pretrained weights or branch on values.
    model = task.init_model(nnx.Rngs(seed))
    state = replicate(nnx.state(model), mesh)
    return state, replicate(tx.init(nnx.filter_state(state, nnx.Param)), mesh)


def _eval_model(graphdef: nnx.GraphDef, state: nnx.State) -> nnx.Module:
    model = nnx.merge(graphdef, state)
    model.eval()
    return model


def _ema_model(graphdef: nnx.GraphDef, state: nnx.State, opt_state: Any) -> nnx.Module | None:
    """The eval model with the EMA parameters (and the run's other state), if any."""
    averaged = ema_params(opt_state)
    if averaged is None:
        return None
    _, rest = nnx.split_state(state, nnx.Param, ...)
    return _eval_model(graphdef, nnx.merge_state(averaged, rest))


def _check_batch(batch: dict[str, np.ndarray], batch_size: int, step: int) -> None:
    for name, value in batch.items():
        rows = np.shape(value)[0] if np.ndim(value) else None
        if rows != batch_size:
            raise ValueError(
                f"task.batch({step})[{name!r}] has shape {np.shape(value)}: its leading axis"
                f" must be the global batch_size={batch_size}"
            )


def _record(step: int, metrics: dict[str, Any], rate: float, elapsed: float) -> dict[str, Any]:
    record: dict[str, Any] = {"step": step, "loss": float(metrics["loss"])}
    record["learning_rate"] = float(metrics["learning_rate"])
    record.update({k: float(v) for k, v in sorted(metrics.items()) if k not in record})
    record["examples_per_sec"] = rate
    record["time"] = elapsed
    return record


class _Profiler:
    """A `jax.profiler` trace of `steps` steps after the first step of this run (which
    compiles), written to `directory`; nothing when `steps` is 0."""

    def __init__(self, directory: pathlib.Path, start: int, steps: int, enabled: bool):
        self.directory, self.first, self.last = directory, start + 1, start + steps
        self.enabled, self.running, self.traced = enabled and steps > 0, False, 0

    def before(self, step: int) -> None:
        if self.enabled and step == self.first and not self.running:
            jax.profiler.start_trace(str(self.directory))
            self.running = True

    def after(self, step: int, outputs: Any) -> None:
        if self.running:
            self.traced += 1
            if step == self.last:
                jax.block_until_ready(outputs)  # the traced steps' device work, finished
                self.stop()

    def stop(self) -> None:
        if self.running:
            jax.profiler.stop_trace()
            self.running = False
            print(f"profile: {self.traced} step(s) traced -> {self.directory}", flush=True)


# Settings of what a run records, not of what it trains: changing them on resume is fine.
_RECORDING_ONLY = ("profile_steps", "tensorboard", "log_every")


def _warn_if_config_changed(saved: dict[str, Any], current: dict[str, Any]) -> None:
    saved, current = _flatten(saved), _flatten(current)
    changes = [
        f"{k}: {saved.get(k)!r} -> {current.get(k)!r}"
        for k in sorted(set(saved) | set(current))
        if saved.get(k) != current.get(k) and k not in _RECORDING_ONLY
    ]
    if changes:
        warnings.warn(
            "resuming with a config that differs from the checkpoint's: " + "; ".join(changes),
            stacklevel=3,
        )


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
