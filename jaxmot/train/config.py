"""Training hyper-parameters (frozen dataclasses) and the optax optimizer they describe.

A model's experiment config nests `TrainConfig`; `apply_overrides` / `add_config_args`
(re-exported here from `overrides.py`) give every training program the same flags:

    python -m pipelines.train_x --workdir runs/x --steps 50 --set optimizer.learning_rate=1e-3

Every system names its experiments in a `PRESETS` dict of functions (`configs.py`,
`name_presets`); `get_preset` picks one by name. `short_run`, `scratch_run` and
`momentum_sgd` are training settings several presets share.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import optax

from jaxmot.train.ema import params_ema
from jaxmot.train.freeze import freeze
from jaxmot.train.overrides import add_config_args, apply_args, apply_overrides, config_to_dict

__all__ = [
    "OptimizerConfig",
    "TrainConfig",
    "add_config_args",
    "apply_args",
    "apply_overrides",
    "config_to_dict",
    "get_preset",
    "make_optimizer",
    "make_schedule",
    "momentum_sgd",
    "name_presets",
    "scratch_run",
    "short_run",
]

E = TypeVar("E")

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "warmup_cosine", "step")
COMPUTE_DTYPES = ("float32", "bfloat16")
EXPORT_WEIGHTS = ("last", "best")


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """Optimizer and learning-rate schedule.

    name: "adam", "adamw" (decoupled weight decay) or "sgd" (with `momentum`; 0 = plain).
    schedule: "constant", "cosine" (to 0 at the last step), "warmup_cosine" (cosine after
      `warmup_steps` of linear warmup) or "step" (times `decay_factor` every
      `decay_every` steps). A nonzero `warmup_steps` puts a linear warmup from 0 in front
      of any schedule, which then starts when the warmup ends.
    weight_decay: decoupled for adamw; an L2 term added to the gradient for adam and sgd
      (what PyTorch's `weight_decay` does, so papers' numbers carry over).
    grad_clip_norm: clip the global gradient norm to this before the update.
    """

    name: str = "adam"
    learning_rate: float = 3e-4
    schedule: str = "constant"
    warmup_steps: int = 0
    decay_every: int = 0
    decay_factor: float = 0.1
    weight_decay: float = 0.0
    momentum: float = 0.9
    grad_clip_norm: float | None = None

    def __post_init__(self) -> None:
        # Single-field checks only: overrides are applied one at a time, so a cross-field
        # check here would reject a valid pair set in the "wrong" order. make_schedule
        # checks the combinations.
        if self.name not in OPTIMIZERS:
            raise ValueError(f"optimizer.name must be one of {OPTIMIZERS}, got {self.name!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"optimizer.schedule must be one of {SCHEDULES}, got {self.schedule!r}"
            )
        if self.warmup_steps < 0:
            raise ValueError(f"optimizer.warmup_steps must be >= 0, got {self.warmup_steps}")
        if self.grad_clip_norm is not None and self.grad_clip_norm <= 0:
            raise ValueError(f"optimizer.grad_clip_norm must be > 0, got {self.grad_clip_norm}")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The generic loop's settings (see `jaxmot.train.loop.train`).

    batch_size is the global batch, split over all devices (it must divide by their
    number). Checkpoints are written every `checkpoint_every` steps and at the end; the
    last `keep_checkpoints` are kept. `distributed` calls `jax.distributed.initialize()`
    first (multi-host). `tensorboard` also writes TensorBoard scalars when tensorboardX
    or torch is importable (otherwise a warning). `ema_decay` > 0 keeps an exponential
    moving average of the parameters (`jaxmot.train.ema`); `TrainResult.ema_model` is
    the model with the averaged parameters. `profile_steps` > 0 records a `jax.profiler`
    trace of that many steps after the first (compiling) one into WORKDIR/profile/.

    Input (jaxmot.train.input): `data_workers` threads build batches ahead of the step,
    `prefetch` of them queued (0 workers: each batch is built in the loop's thread when
    it is needed). Precision: `compute_dtype` "bfloat16" runs the convolutions, matmuls
    and attention in bfloat16 while parameters, optimizer state, norms and losses stay
    float32 (jaxmot.train.precision). Evaluation: every `eval_every` steps (0 = never)
    the system's evaluation protocol runs on its validation data; the state with the
    best `best_metric` (the system's headline metric when empty; higher is better, a
    leading "-" means lower is better) is kept in WORKDIR/best/, and the trainers
    evaluate and export the `export_weights` ("last": the final weights, their EMA when
    kept; "best": WORKDIR/best/).
    """

    steps: int = 1000
    batch_size: int = 64
    optimizer: OptimizerConfig = OptimizerConfig()
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 200
    keep_checkpoints: int = 3
    distributed: bool = False
    tensorboard: bool = False
    ema_decay: float = 0.0
    profile_steps: int = 0
    data_workers: int = 0
    prefetch: int = 2
    compute_dtype: str = "float32"
    eval_every: int = 0
    best_metric: str = ""
    export_weights: str = "last"

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every", "checkpoint_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1) (0 = off), got {self.ema_decay}")
        for name in ("profile_steps", "data_workers", "prefetch", "eval_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.compute_dtype not in COMPUTE_DTYPES:
            raise ValueError(
                f"compute_dtype must be one of {COMPUTE_DTYPES}, got {self.compute_dtype!r}"
            )
        if self.export_weights not in EXPORT_WEIGHTS:
            raise ValueError(
                f"export_weights must be one of {EXPORT_WEIGHTS}, got {self.export_weights!r}"
            )


def make_schedule(cfg: OptimizerConfig, total_steps: int) -> optax.Schedule:
    """Learning rate as a function of the update count (0 for the first update)."""
    lr, warmup = cfg.learning_rate, cfg.warmup_steps
    if cfg.schedule == "warmup_cosine" and warmup <= 0:
        raise ValueError("optimizer.schedule=warmup_cosine needs optimizer.warmup_steps > 0")
    if warmup >= total_steps and cfg.schedule in ("cosine", "warmup_cosine"):
        raise ValueError(
            f"optimizer.warmup_steps={warmup} leaves no steps to decay over"
            f" (training runs {total_steps} steps)"
        )
    if cfg.schedule == "constant":
        main = optax.constant_schedule(lr)
    elif cfg.schedule in ("cosine", "warmup_cosine"):
        main = optax.cosine_decay_schedule(lr, decay_steps=total_steps - warmup)
    else:  # "step"
        if cfg.decay_every <= 0:
            raise ValueError("optimizer.schedule=step needs optimizer.decay_every > 0")
        main = optax.exponential_decay(
            lr, transition_steps=cfg.decay_every, decay_rate=cfg.decay_factor, staircase=True
        )
    if warmup == 0:
        return main
    # join_schedules calls `main` with the count minus the boundary: it starts fresh.
    return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), main], [warmup])


def make_optimizer(
    cfg: OptimizerConfig,
    total_steps: int,
    ema_decay: float = 0.0,
    frozen: frozenset[tuple] = frozenset(),
) -> optax.GradientTransformation:
    """The optax transformation for `cfg` (gradient clipping first, if set; a parameter
    EMA last when `ema_decay` > 0). Parameters at the state paths in `frozen` are never
    updated (`jaxmot.train.freeze`)."""
    schedule = make_schedule(cfg, total_steps)
    parts = []
    if cfg.grad_clip_norm is not None:
        parts.append(optax.clip_by_global_norm(cfg.grad_clip_norm))
    if cfg.name == "adamw":
        parts.append(optax.adamw(schedule, weight_decay=cfg.weight_decay))
    else:
        if cfg.weight_decay:
            parts.append(optax.add_decayed_weights(cfg.weight_decay))
        if cfg.name == "adam":
            parts.append(optax.adam(schedule))
        else:
            parts.append(optax.sgd(schedule, momentum=cfg.momentum or None))
    if frozen:
        parts = [freeze(optax.chain(*parts), frozen)]
    if ema_decay:
        parts.append(params_ema(ema_decay))
    return parts[0] if len(parts) == 1 else optax.chain(*parts)


def short_run(
    steps: int,
    batch_size: int,
    optimizer: OptimizerConfig,
    *,
    checkpoint_every: int = 200,
    ema_decay: float = 0.0,
) -> TrainConfig:
    """The TrainConfig of a run short enough for a CPU (every shipped model was trained
    with one): a log record every 20 steps, a checkpoint every `checkpoint_every`, the
    last 2 kept."""
    return TrainConfig(
        steps=steps,
        batch_size=batch_size,
        optimizer=optimizer,
        log_every=20,
        checkpoint_every=checkpoint_every,
        keep_checkpoints=2,
        ema_decay=ema_decay,
    )


def scratch_run(steps: int, batch_size: int) -> TrainConfig:
    """The recipe the shipped E.T.Track and JDE models were trained from scratch with:
    a `short_run` of Adam at 2e-3 (100 warmup steps, then a cosine decay; gradients
    clipped at norm 10) keeping an EMA of the weights (decay 0.998)."""
    optimizer = OptimizerConfig(
        name="adam", learning_rate=2e-3, schedule="cosine", warmup_steps=100, grad_clip_norm=10.0
    )
    return short_run(steps, batch_size, optimizer, ema_decay=0.998)


def momentum_sgd(learning_rate: float, **schedule: Any) -> OptimizerConfig:
    """SGD with momentum 0.9 and weight decay 1e-4, the optimizer JDE and LightTrack
    (E.T.Track's recipe) train with at full scale; `schedule` sets the schedule fields
    (schedule, warmup_steps, decay_every, decay_factor)."""
    return OptimizerConfig(
        name="sgd", learning_rate=learning_rate, momentum=0.9, weight_decay=1e-4, **schedule
    )


def name_presets(*presets: Callable[[], E]) -> dict[str, Callable[[], E]]:
    """{name: function}, each preset named by its function (`def synthetic_sim()` is
    the preset "synthetic_sim"), in the order given."""
    return {preset.__name__: preset for preset in presets}


def get_preset(presets: Mapping[str, Callable[[], E]], name: str, what: str) -> E:
    """The experiment config `presets[name]()`.

    Presets are functions, so defaults that depend on the environment (the data root,
    `jaxmot.core.paths.data_path`) are read when a preset is chosen, not at import.

    Args:
      presets: preset name -> function returning a fresh config.
      name: the preset to build.
      what: the system, for the error message ("GNN", "ReID", ...).

    Raises:
      ValueError: an unknown name (close matches are suggested, all names listed).
    """
    if name not in presets:
        close = difflib.get_close_matches(name, list(presets), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"unknown {what} config {name!r}{hint}; choose one of {', '.join(presets)}"
        )
    return presets[name]()
