"""Every training program turns bad settings into one line and exit status 2."""

import importlib

import pytest

PROGRAMS = ("train_reid", "train_gnn", "train_seg", "train_sot", "train_jde")
BAD_SETTINGS = [
    (["--set", "nope=1"], "unknown config key 'nope'"),
    (["--set", "train.batch_size=0"], "batch_size must be >= 1"),
    (["--set", "train.optimizer.learning_rate=fast"], "train.optimizer.learning_rate"),
    (["--set", "train.steps"], "not of the form KEY=VALUE"),
]


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize(("flags", "message"), BAD_SETTINGS)
def test_bad_settings_give_one_line_and_exit_2(program, flags, message, tmp_path, capsys):
    main = importlib.import_module(f"pipelines.{program}").main
    assert main(["--workdir", str(tmp_path / "run"), "--no-progress", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    assert not (tmp_path / "run").exists()  # nothing started
