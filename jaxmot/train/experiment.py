"""What every system's training program and `train_and_evaluate` share around `train()`.

A training program (`pipelines/train_*.py`) is

    parser = training_parser(__doc__, PRESETS, default="synthetic_x")
    add_export_arg(parser)                       # --export DIR
    parser.add_argument(...)                     # the system's own flags
    args, exp = parse_experiment(parser, get_config, argv)
    train_and_evaluate(exp, args.workdir, ..., **run_options(args, "pipelines.train_x", argv))

and a trainer trains and ends its run with

    result, model, evaluation = train_and_pick(  # best / EMA / last weights, as
        task, exp.train, workdir, progress=progress,   # train.export_weights says
        evaluator=lambda: validation_evaluator(exp))   # (built if train.eval_every)
    ...                                          # the system's evaluation
    write_evaluation(workdir, evaluation)        # WORKDIR/eval.json
    save = functools.partial(export_x, model)    # the system's export
    export_run(export, save, step=..., experiment=exp, evaluation=..., command=command)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import jax
from flax import nnx

from jaxmot.core.atomic import atomic_write_json
from jaxmot.train.config import TrainConfig
from jaxmot.train.export import command_line
from jaxmot.train.loop import Evaluator, Task, TrainResult, train
from jaxmot.train.overrides import add_config_args, apply_args

E = TypeVar("E")

EVAL_FILE = "eval.json"
EXPORT_HELP = "export the model to this folder"
STEPS_KEY = "train.steps"  # every experiment nests its TrainConfig as `train`


def training_parser(doc: str, presets: Mapping[str, Any], default: str) -> argparse.ArgumentParser:
    """A parser described by the first line of `doc`, with `--config` (one of `presets`,
    `default` when not given) and the config flags (`add_config_args`: --workdir,
    --steps, --set, --cpu-devices, --profile). The program adds its own flags after these."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--config", default=default, choices=sorted(presets))
    add_config_args(parser)
    return parser


def add_export_arg(parser: argparse.ArgumentParser, help: str = EXPORT_HELP) -> None:
    """Add `--export DIR`: the folder the trained model is exported to."""
    parser.add_argument("--export", type=pathlib.Path, help=help)


def parse_experiment(
    parser: argparse.ArgumentParser,
    get_config: Callable[[str], E],
    argv: Sequence[str] | None,
) -> tuple[argparse.Namespace, E]:
    """Add `--no-progress` (the last flag of every training program), parse `argv`
    (None: the process's arguments) and build the experiment: the `--config` preset
    with the `--set` overrides and `--steps` applied (`apply_args`).

    Raises:
      ValueError: an override that does not fit the experiment.
    """
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    return args, fit_warmup(apply_args(get_config(args.config), args, steps_key=STEPS_KEY))


def fit_warmup(experiment: E) -> E:
    """The experiment with a warm-up shorter than its run.

    A preset's warm-up (e.g. 200 steps) as long as a short run (`--steps 6`) would leave a
    cosine schedule nothing to decay over and never reach the learning rate: it shrinks
    to a tenth of the run (at least 1 step for `warmup_cosine`, which needs one), and the
    change is printed. Runs longer than their warm-up are returned unchanged.
    """
    train = experiment.train
    optimizer = train.optimizer
    if optimizer.warmup_steps < train.steps:
        return experiment
    warmup = train.steps // 10
    schedule = optimizer.schedule
    if schedule == "warmup_cosine" and warmup == 0:
        warmup, schedule = (1, schedule) if train.steps > 1 else (0, "cosine")
    print(
        f"optimizer.warmup_steps={optimizer.warmup_steps} is not shorter than the run "
        f"({train.steps} steps): warm-up shrunk to {warmup} steps"
    )
    optimizer = dataclasses.replace(optimizer, warmup_steps=warmup, schedule=schedule)
    return dataclasses.replace(experiment, train=dataclasses.replace(train, optimizer=optimizer))


def training_main(train: Callable[[Sequence[str] | None], object]) -> Callable[..., int]:
    """The `main(argv=None) -> exit status` of a training program whose work is
    `train(argv)`, run under `run_program` (bad input: one error line, status 2)."""

    def main(argv: Sequence[str] | None = None) -> int:
        return run_program(lambda: train(argv))

    return main


def run_program(body: Callable[[], object]) -> int:
    """Run a training program's body: 0 when it finishes. Bad input (a malformed or
    unknown `--set`, an impossible config value, a missing or malformed dataset) ends in
    one line `error: ...` on stderr and exit status 2, never a traceback; whatever the
    run already wrote (checkpoints, metrics.jsonl) stays."""
    try:
        body()
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def run_options(
    args: argparse.Namespace, module: str, argv: Sequence[str] | None
) -> dict[str, Any]:
    """The keyword arguments every `train_and_evaluate` takes from the command line:
    `export` (the --export folder or None), `command` (this command, recorded in the
    export's model.json) and `progress` (not --no-progress)."""
    return {
        "export": args.export,
        "command": command_line(module, None if argv is None else list(argv)),
        "progress": not args.no_progress,
    }


def devices() -> str:
    """The devices training runs on, as the trainers print them: "2 cpu device(s)"."""
    return f"{jax.device_count()} {jax.default_backend()} device(s)"


def final_model(result: TrainResult, weights: str = "last") -> tuple[nnx.Module, str]:
    """(the model to evaluate and export, which weights it has).

    weights: `train.export_weights`. "last": the EMA of the parameters when training
      kept one (`train.ema_decay` > 0), "ema"; else the last step's, "last". "best": the
      state kept in WORKDIR/best/ by the evaluations during training, "best".

    Raises:
      ValueError: "best" but the run kept no best state (no evaluation ran).
    """
    if weights == "best":
        if result.best_model is None:
            raise ValueError(
                "train.export_weights=best but the run kept no best state: set train.eval_every > 0"
            )
        return result.best_model, "best"
    if result.ema_model is not None:
        return result.ema_model, "ema"
    return result.model, "last"


def train_and_pick(
    task: Task,
    config: TrainConfig,
    workdir: str | os.PathLike,
    *,
    progress: bool,
    evaluator: Callable[[], Evaluator],
) -> tuple[TrainResult, nnx.Module, dict[str, Any]]:
    """`train` a system's task, then pick the weights it evaluates and exports.

    evaluator: builds the system's evaluation during training; called only when
      `config.eval_every` > 0 (building it may render validation data).

    Returns:
      (the TrainResult, the model `final_model` picks for `config.export_weights`, the
      record of that choice for eval.json: {"weights": "best" | "ema" | "last"}, with
      "best_step" for "best").
    """
    result = train(
        task,
        config,
        workdir,
        progress=progress,
        evaluator=evaluator() if config.eval_every else None,
    )
    model, weights = final_model(result, config.export_weights)
    record = {"weights": weights}
    if weights == "best":
        record["best_step"] = result.best_step
    return result, model, record


def write_evaluation(workdir: str | os.PathLike, evaluation: dict) -> None:
    """Write `evaluation` to WORKDIR/eval.json (atomically: a kill leaves the old file
    or the new one)."""
    atomic_write_json(pathlib.Path(workdir) / EVAL_FILE, evaluation)


def export_run(
    export: str | os.PathLike | None,
    save: Callable[..., None],
    *,
    step: int,
    experiment: Any,
    evaluation: dict,
    command: str | None,
) -> None:
    """Export the trained model to `export` (nothing when it is None or empty) and say
    where.

    `save(export, **fields)` is the system's export: its `checkpoint.export_*` with the
    model, its settings and any fields of its own (e.g. tuned tracker settings) bound
    by `functools.partial`. The fields every export records are the training `step`,
    the `evaluation`, the `experiment` dataclass (as a dict) and the `command`.
    """
    if not export:
        return
    save(
        export,
        step=step,
        evaluation=evaluation,
        experiment=dataclasses.asdict(experiment),
        command=command,
    )
    print(f"exported -> {export}")


__all__ = [
    "EVAL_FILE",
    "EXPORT_HELP",
    "add_export_arg",
    "devices",
    "export_run",
    "final_model",
    "parse_experiment",
    "run_options",
    "run_program",
    "fit_warmup",
    "training_main",
    "train_and_pick",
    "training_parser",
    "write_evaluation",
]
