"""The generic training stack every jaxmot model trains through (docs/training.md).

  task = MyTask(...)                      # init_model / loss_fn / batch(step)
  result = train(task, TrainConfig(steps=1000), "runs/exp1")
  model = restore_model(task, "runs/exp1")

config        TrainConfig / OptimizerConfig (frozen dataclasses), optax optimizers,
              schedules, presets
overrides     `--workdir / --steps / --set KEY=VALUE / --cpu-devices` for any config
mesh          data parallelism: one device mesh, batches sharded along "data"
step          the pure, jitted train step (nnx.split / nnx.merge at the boundary)
loop          train() and restore_model(): resume, logging, checkpoints, evaluation
              during training (Evaluator, WORKDIR/best/)
input         batches built on worker threads (grain) and put on the devices ahead
precision     bfloat16 compute with float32 parameters (train.compute_dtype)
input_bench   host-side throughput of a task's input (`pipelines.bench input`)
checkpoint    orbax training checkpoints, keep-last-N
metrics_log   metrics.jsonl, safe against kills
ema           parameter EMA kept in the optimizer state
export        shippable model folders (state/ + model.json) every system uses
experiment    what the training programs and trainers share: the common flags, the
              final model (EMA or last), eval.json, the export of a run
plots         training curves from metrics.jsonl (`pipelines.plot_metrics`)
"""

from jaxmot.train.checkpoint import Checkpoints
from jaxmot.train.config import (
    OptimizerConfig,
    TrainConfig,
    add_config_args,
    apply_args,
    apply_overrides,
    config_to_dict,
    make_optimizer,
    make_schedule,
)
from jaxmot.train.loop import Evaluator, Task, TrainResult, restore_model, train
from jaxmot.train.mesh import make_data_mesh, shard_batch
from jaxmot.train.metrics_log import TIMING_FIELDS, read_records

__all__ = [
    "TIMING_FIELDS",
    "Checkpoints",
    "Evaluator",
    "OptimizerConfig",
    "Task",
    "TrainConfig",
    "TrainResult",
    "add_config_args",
    "apply_args",
    "apply_overrides",
    "config_to_dict",
    "make_data_mesh",
    "make_optimizer",
    "make_schedule",
    "read_records",
    "restore_model",
    "shard_batch",
    "train",
]
