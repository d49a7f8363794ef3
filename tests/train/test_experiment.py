"""jaxmot.train.experiment (what the training programs and trainers share) and the preset
helpers of jaxmot.train.config."""

import dataclasses
import json
import types

import pytest

from jaxmot.train.config import (
    OptimizerConfig,
    TrainConfig,
    make_schedule,
    momentum_sgd,
    name_presets,
    scratch_run,
    short_run,
)
from jaxmot.train.experiment import (
    add_export_arg,
    export_run,
    final_model,
    fit_warmup,
    parse_experiment,
    run_options,
    run_program,
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


def _with_warmup(steps, warmup, schedule="cosine") -> Experiment:
    optimizer = OptimizerConfig(schedule=schedule, warmup_steps=warmup)
    return Experiment(train=TrainConfig(steps=steps, optimizer=optimizer))


@pytest.mark.parametrize(
    ("steps", "warmup", "schedule", "want_warmup", "want_schedule"),
    [
        (6, 200, "cosine", 0, "cosine"),  # a tenth of 6 steps rounds to none
        (50, 200, "cosine", 5, "cosine"),
        (50, 50, "constant", 5, "constant"),  # as long as the run: shrinks too
        (6, 200, "warmup_cosine", 1, "warmup_cosine"),  # needs at least one step
        (1, 200, "warmup_cosine", 0, "cosine"),  # a 1-step run has room for none
    ],
)
def test_a_warmup_not_shorter_than_the_run_shrinks_to_a_tenth(
    steps, warmup, schedule, want_warmup, want_schedule, capsys
):
    exp = fit_warmup(_with_warmup(steps, warmup, schedule))
    assert exp.train.optimizer.warmup_steps == want_warmup
    assert exp.train.optimizer.schedule == want_schedule
    assert exp.train.steps == steps and exp.width == 4
    assert f"warm-up shrunk to {want_warmup} steps" in capsys.readouterr().out
    make_schedule(exp.train.optimizer, steps)  # no "leaves no steps to decay over"


def test_a_warmup_shorter_than_the_run_is_kept(capsys):
    exp = _with_warmup(steps=1000, warmup=200)
    assert fit_warmup(exp) is exp
    assert capsys.readouterr().out == ""


def test_parse_experiment_fits_the_warmup_to_steps(capsys):
    parser = training_parser("Train x.", {"small": small}, default="small")
    args = ["--workdir", "w", "--steps", "6", "--set", "train.optimizer.warmup_steps=200"]
    _, exp = parse_experiment(parser, lambda name: small(), args)
    assert exp.train.steps == 6 and exp.train.optimizer.warmup_steps == 0


def test_run_program_turns_bad_input_into_one_line(capsys):
    def bad_config():
        raise ValueError("config key 'train.batch_size' = '0': batch_size must be >= 1")

    assert run_program(bad_config) == 2
    err = capsys.readouterr().err
    assert err == "error: config key 'train.batch_size' = '0': batch_size must be >= 1\n"
    assert run_program(lambda: None) == 0

    def bug():
        raise RuntimeError("a bug keeps its traceback")

    with pytest.raises(RuntimeError):
        run_program(bug)
