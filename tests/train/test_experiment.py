"""jaxmot.train.experiment (what the training programs and trainers share) and the preset
helpers of jaxmot.train.config."""

import dataclasses
import json
import types

import pytest

from jaxmot.train.config import (
    OptimizerConfig,
    TrainConfig,
    momentum_sgd,
    name_presets,
    scratch_run,
    short_run,
)
from jaxmot.train.experiment import (
    add_export_arg,
    export_run,
    final_model,
    parse_experiment,
    run_options,
    training_parser,
    write_evaluation,
)


@dataclasses.dataclass(frozen=True)
class Experiment:
    train: TrainConfig = TrainConfig()
    width: int = 4


def small() -> Experiment:
    return Experiment(width=2)


def large() -> Experiment:
    return Experiment(width=8)


PRESETS = name_presets(small, large)


def test_name_presets_names_each_preset_by_its_function_in_order():
    assert list(PRESETS) == ["small", "large"]
    assert PRESETS["large"]() == Experiment(width=8)


def test_preset_helpers():
    run = short_run(100, 8, OptimizerConfig(learning_rate=1e-3), checkpoint_every=50)
    assert (run.steps, run.batch_size, run.log_every) == (100, 8, 20)
    assert (run.checkpoint_every, run.keep_checkpoints, run.ema_decay) == (50, 2, 0.0)
    scratch = scratch_run(1000, 16)
    assert scratch.ema_decay == 0.998 and scratch.checkpoint_every == 200
    assert scratch.optimizer == OptimizerConfig(
        name="adam", learning_rate=2e-3, schedule="cosine", warmup_steps=100, grad_clip_norm=10.0
    )
    sgd = momentum_sgd(0.1, schedule="warmup_cosine", warmup_steps=5000)
    assert (sgd.name, sgd.learning_rate, sgd.momentum, sgd.weight_decay) == ("sgd", 0.1, 0.9, 1e-4)
    assert (sgd.schedule, sgd.warmup_steps) == ("warmup_cosine", 5000)


def _parse(argv):
    parser = training_parser("Train a thing.\n\nmore", PRESETS, default="small")
    add_export_arg(parser)
    return parser, *parse_experiment(parser, lambda name: PRESETS[name](), argv)


def test_training_program_flags(tmp_path):
    argv = ["--workdir", str(tmp_path), "--config", "large", "--steps", "7", "--set", "width=3"]
    parser, args, exp = _parse(argv)
    assert parser.description == "Train a thing."
    assert exp == Experiment(train=TrainConfig(steps=7), width=3)
    assert args.export is None and not args.no_progress
    options = run_options(args, "pipelines.train_x", argv)
    assert options["command"].startswith("python -m pipelines.train_x --workdir ")
    assert options["export"] is None and options["progress"] is True
    # --no-progress is the last flag of the help.
    assert parser.format_usage().rstrip().endswith("[--no-progress]")
    with pytest.raises(SystemExit):
        _parse(["--workdir", str(tmp_path), "--config", "medium"])


def test_final_model_prefers_the_ema():
    assert final_model(types.SimpleNamespace(model="last", ema_model=None)) == ("last", "last")
    assert final_model(types.SimpleNamespace(model="last", ema_model="avg")) == ("avg", "ema")


def test_write_evaluation_and_export_run(tmp_path, capsys):
    write_evaluation(tmp_path, {"auc": 0.5})
    assert json.loads((tmp_path / "eval.json").read_text()) == {"auc": 0.5}
    saved = []
    info = dict(step=3, experiment=small(), evaluation={"auc": 0.5}, command="python -m x")
    export_run(None, lambda *a, **k: saved.append((a, k)), **info)
    assert saved == [] and capsys.readouterr().out == ""
    export_run(tmp_path / "out", lambda *a, **k: saved.append((a, k)), **info)
    (directory,), fields = saved[0]
    assert directory == tmp_path / "out"
    assert fields == {
        "step": 3,
        "evaluation": {"auc": 0.5},
        "experiment": dataclasses.asdict(small()),
        "command": "python -m x",
    }
    assert capsys.readouterr().out == f"exported -> {tmp_path / 'out'}\n"
