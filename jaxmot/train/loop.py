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
import itertools
import os
import pathlib
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import jax
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh
from tqdm.auto import tqdm

from jaxmot.core.atomic import atomic_write_json
from jaxmot.train.checkpoint import BEST_DIR, BestCheckpoint, Checkpoints
from jaxmot.train.config import TrainConfig, config_to_dict, make_optimizer, make_schedule
from jaxmot.train.ema import ema_params
from jaxmot.train.input import DeviceBatches
from jaxmot.train.mesh import (
    check_batch_size,
    initialize_distributed,
    make_data_mesh,
    process_rows,
    replicate,
    replicated,
)
from jaxmot.train.metrics_log import MetricsWriter, read_records, truncate_records
from jaxmot.train.precision import compute_graphdef
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

    # Optional, for several hosts: `batch_rows(step, rows: slice)` -> rows `rows` of
    # `batch(step)`, so that each process builds only its own share of the batch.
    # Optional: `frozen_params(model)` -> state paths of params never updated
    # (`jaxmot.train.freeze`, e.g. JDE's frozen BatchNorm affine parameters).


@dataclasses.dataclass
class TrainResult:
    """The trained model (eval mode), the last step and the logged records;
    `ema_model` has the averaged parameters when `TrainConfig.ema_decay` > 0;
    `best_model` is the model of WORKDIR/best/ (the best evaluated during training, at
    `best_step`) when `TrainConfig.eval_every` > 0."""

    model: nnx.Module
    step: int
    history: list[dict]
    ema_model: nnx.Module | None = None
    best_model: nnx.Module | None = None
    best_step: int | None = None


@dataclasses.dataclass(frozen=True)
class Evaluator:
    """The evaluation `train` runs every `TrainConfig.eval_every` steps.

    evaluate: (eval-mode model) -> {metric: float}, the system's protocol on its
      validation data; it gets the EMA of the weights when the run keeps one.
    metric: the headline metric (higher is better) that picks WORKDIR/best/ unless
      `TrainConfig.best_metric` names another.
    """

    evaluate: Callable[[nnx.Module], Mapping[str, float]]
    metric: str


def train(
    task: Task,
    config: TrainConfig,
    workdir: str | os.PathLike,
    *,
    progress: bool = True,
    evaluator: Evaluator | None = None,
) -> TrainResult:
    """Train `task` for `config.steps` steps in `workdir`, resuming from its checkpoints.

    Writes `workdir/config.json`, `workdir/metrics.jsonl` (one record per logged step:
    step, loss, learning_rate, grad_norm, the task's metrics, examples_per_sec,
    data_wait_s and step_s (seconds spent waiting for batches and running steps since the
    previous record), time; plus `{"step", "eval": {metric: value}}` rows of the
    `evaluator` every `config.eval_every` steps) and `workdir/checkpoints/<step>`, and the
    best evaluated state in `workdir/best/<step>`. If checkpoints exist, training
    continues from the newest (a run already at `config.steps` returns at once).

    Raises:
      ValueError: batch_size does not divide by the number of devices, a batch's
        leading axis differs from batch_size, export_weights=best without evaluations,
        or a best_metric the evaluator does not report.
    """
    if config.distributed:
        initialize_distributed()  # a no-op when the program already did (it must come first)
    _check_evaluation(config, evaluator)
    workdir = pathlib.Path(workdir)
    mesh = make_data_mesh()
    check_batch_size(config.batch_size, mesh)
    is_main = jax.process_index() == 0
    if is_main:
        atomic_write_json(workdir / "config.json", config_to_dict(config))

    graphdef, abstract_state = _abstract_model(task, mesh)
    tx = make_optimizer(
        config.optimizer,
        config.steps,
        config.ema_decay,
        _frozen_params(task, graphdef, abstract_state),
    )
    abstract_opt = _with_sharding(
        jax.eval_shape(tx.init, nnx.filter_state(abstract_state, nnx.Param)), mesh
    )
    with (
        Checkpoints(workdir / "checkpoints", keep=config.keep_checkpoints) as checkpoints,
        BestCheckpoint(workdir / BEST_DIR, _best_metric(config, evaluator)) as best,
    ):
        restored = checkpoints.restore_latest(abstract_state, abstract_opt)
        start = 0 if restored is None else restored[0]
        if restored is not None:
            _warn_if_config_changed(restored[3].get("config", {}), config_to_dict(config))
            if is_main:
                print(
                    f"Resumed from checkpoint step {start} in {checkpoints.directory}", flush=True
                )

        metrics_path = workdir / "metrics.jsonl"
        # Records after the checkpoint are recomputed below; drop them first so that each step
        # is logged exactly once.
        history = truncate_records(metrics_path, start) if is_main else read_records(metrics_path)
        if start >= config.steps:
            print(f"Training already complete at step {start} (steps={config.steps})", flush=True)
            state, opt_state = restored[1], restored[2]
            return _result(graphdef, state, opt_state, start, history, best, abstract_state)

        # The first batch is built (and checked) before initialisation and compilation.
        batches = _device_batches(task, config, start, mesh)
        first = next(batches)
        if restored is None:
            state, opt_state = _fresh_state(task, config.seed, tx, mesh)
        else:
            state, opt_state = restored[1], restored[2]

        step_fn = make_train_step(
            compute_graphdef(graphdef, abstract_state, config.compute_dtype),
            task.loss_fn,
            tx,
            make_schedule(config.optimizer, config.steps),
            mesh,
        )
        base_key = replicate(jax.random.key(config.seed), mesh)
        meta = {"seed": config.seed, "config": config_to_dict(config)}
        tb_dir = workdir / "tensorboard" if config.tensorboard else None
        writer = MetricsWriter(metrics_path, tb_dir, enabled=is_main)
        bar = tqdm(total=config.steps, initial=start, disable=not progress, unit="step")
        clock = _Clock(batches, start)
        profiler = _Profiler(workdir / "profile", start, config.profile_steps, enabled=is_main)
        try:
            for step, batch in itertools.chain([first], batches):
                profiler.before(step)
                state, opt_state, metrics = step_fn(
                    state, opt_state, batch, base_key, np.int32(step)
                )
                # Waiting for the step here makes the time in next(batches) the time the
                # devices wait for input, which is what data_wait_s reports.
                jax.block_until_ready(metrics)
                done = step + 1
                if done % config.log_every == 0 or done == config.steps:
                    lap = clock.lap(done)
                    record = _record(done, jax.device_get(metrics), config.batch_size, lap)
                    writer.write(record)
                    history.append(record)
                    bar.set_postfix(
                        loss=f"{record['loss']:.4g}",
                        ex_s=f"{record['examples_per_sec']:.0f}",
                        wait=f"{lap['data_wait_s'] / max(lap['interval_s'], 1e-9):.0%}",
                        refresh=False,
                    )
                if done % config.checkpoint_every == 0 or done == config.steps:
                    # The data position is the step itself: batches are a function of it.
                    checkpoints.save(
                        done, state, opt_state, {"step": done, "data_position": done, **meta}
                    )
                if (
                    evaluator is not None
                    and config.eval_every
                    and (done % config.eval_every == 0 or done == config.steps)
                ):
                    record = _evaluate(evaluator, graphdef, state, opt_state, done, best, meta)
                    writer.write(record)
                    history.append(record)
                    clock.exclude(record["eval_s"])
                bar.update(1)
                profiler.after(step, metrics)
        finally:
            profiler.stop()
            bar.close()
            writer.close()
        return _result(graphdef, state, opt_state, config.steps, history, best, abstract_state)


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


def _frozen_params(task: Task, graphdef: nnx.GraphDef, abstract_state: nnx.State) -> frozenset:
    """The state paths of the params `task.frozen_params(model)` freezes (optional)."""
    frozen_params = getattr(task, "frozen_params", None)
    if frozen_params is None:
        return frozenset()
    return frozenset(frozen_params(nnx.merge(graphdef, abstract_state)))


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
                f" must be the global batch_size={batch_size} (or, from batch_rows, this"
                " process's rows)"
            )


def _record(
    step: int, metrics: dict[str, Any], batch_size: int, lap: dict[str, float]
) -> dict[str, Any]:
    """The metrics.jsonl row of `step`, with the timing of `lap` (`_Clock.lap`)."""
    record: dict[str, Any] = {"step": step, "loss": float(metrics["loss"])}
    record["learning_rate"] = float(metrics["learning_rate"])
    record.update({k: float(v) for k, v in sorted(metrics.items()) if k not in record})
    record["examples_per_sec"] = lap["steps"] * batch_size / max(lap["interval_s"], 1e-9)
    record["data_wait_s"], record["step_s"] = lap["data_wait_s"], lap["step_s"]
    record["time"] = lap["time"]
    return record


def _device_batches(task: Task, config: TrainConfig, start: int, mesh: Mesh) -> DeviceBatches:
    """The run's batches on the mesh from `start`. On several hosts a task with
    `batch_rows(step, rows)` builds only this process's rows of each batch; otherwise every
    process builds the global batch and puts its own rows on its devices."""
    size = config.batch_size
    rows = process_rows(size, mesh)
    own_rows = jax.process_count() > 1 and hasattr(task, "batch_rows")
    expected = rows.stop - rows.start if own_rows else size
    return DeviceBatches(
        (lambda step: task.batch_rows(step, rows)) if own_rows else task.batch,
        start,
        config.steps,
        mesh,
        workers=config.data_workers,
        prefetch=config.prefetch,
        global_rows=size if own_rows else None,
        check=lambda batch, step: _check_batch(batch, expected, step),
    )


def _check_evaluation(config: TrainConfig, evaluator: Evaluator | None) -> None:
    if config.export_weights == "best" and not (config.eval_every and evaluator is not None):
        raise ValueError(
            "train.export_weights=best needs evaluations during training: set"
            " train.eval_every > 0"
            + ("" if evaluator is not None else " (and this program has no evaluator)")
        )
    if config.eval_every and evaluator is None:
        warnings.warn(
            "train.eval_every is set but this task has no evaluator: nothing is evaluated"
            " during training",
            stacklevel=3,
        )


def _best_metric(config: TrainConfig, evaluator: Evaluator | None) -> str:
    return config.best_metric or (evaluator.metric if evaluator is not None else "")


def _evaluate(
    evaluator: Evaluator,
    graphdef: nnx.GraphDef,
    state: nnx.State,
    opt_state: Any,
    step: int,
    best: BestCheckpoint,
    meta: dict[str, Any],
) -> dict[str, Any]:
    """Run the evaluator on the current model (its EMA when kept), keep it in best/ if it
    is the best so far; the metrics.jsonl row {"step", "eval", "eval_s"}."""
    t0 = time.perf_counter()
    model = _ema_model(graphdef, state, opt_state) or _eval_model(graphdef, state)
    scores = {k: float(v) for k, v in evaluator.evaluate(model).items()}
    best.offer(step, nnx.state(model), scores, meta)
    return {"step": step, "eval": scores, "eval_s": time.perf_counter() - t0}


def _result(
    graphdef: nnx.GraphDef,
    state: nnx.State,
    opt_state: Any,
    step: int,
    history: list[dict],
    best: BestCheckpoint,
    abstract_state: nnx.State,
) -> TrainResult:
    kept = best.restore(abstract_state)
    best_model = None if kept is None else _eval_model(graphdef, kept[1])
    return TrainResult(
        _eval_model(graphdef, state),
        step,
        history,
        _ema_model(graphdef, state, opt_state),
        best_model,
        None if kept is None else kept[0],
    )


class _Clock:
    """Wall time between log records, split into waiting for batches and the rest;
    time set aside with `exclude` (evaluations) counts as neither."""

    def __init__(self, batches: DeviceBatches, start: int):
        self.batches, self.last_step = batches, start
        self.start = self.last_time = time.perf_counter()
        self.last_wait, self.excluded = batches.wait_s, 0.0

    def lap(self, step: int) -> dict[str, float]:
        now, wait = time.perf_counter(), self.batches.wait_s
        interval = now - self.last_time - self.excluded
        waited, steps = wait - self.last_wait, step - self.last_step
        self.last_time, self.last_wait, self.last_step, self.excluded = now, wait, step, 0.0
        return {"interval_s": interval, "data_wait_s": waited, "step_s": interval - waited,
                "steps": steps, "time": now - self.start}  # fmt: skip

    def exclude(self, seconds: float) -> None:
        self.excluded += seconds


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
_RECORDING_ONLY = (
    "profile_steps",
    "tensorboard",
    "log_every",
    "data_workers",
    "prefetch",
    "eval_every",
    "best_metric",
    "export_weights",
)


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
