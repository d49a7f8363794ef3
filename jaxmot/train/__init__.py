"""The generic training stack: config, data-parallel mesh, jitted step, checkpoints, log.

    task = MyTask(...)                      # init_model / loss_fn / batch(step)
    result = train(task, TrainConfig(steps=1000), "runs/exp1")
    model = restore_model(task, "runs/exp1")

Modules: `config` (dataclasses, optimizer, schedules), `overrides` (KEY=VALUE flags),
`mesh` (sharding), `step` (the jitted train step), `checkpoint` (orbax),
`metrics_log` (metrics.jsonl), `loop` (train / restore_model).
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
from jaxmot.train.loop import Task, TrainResult, restore_model, train
from jaxmot.train.mesh import make_data_mesh, shard_batch
from jaxmot.train.metrics_log import TIMING_FIELDS, read_records

__all__ = [
    "TIMING_FIELDS",
    "Checkpoints",
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
