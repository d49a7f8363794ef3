"""Every training program finishes `--steps 3` of its default preset on generated data.

Each program's `main` runs its default preset (no `--config`) with $JAXMOT_DATA pointed
at an empty folder, so a default that reads a dataset fails here. The overrides only
shrink the generated data, the batch and the evaluation; the model and the recipe stay
the preset's.
"""

import importlib
import json
import math

import pytest

# program -> `--set` overrides that keep the run cheap on 2 cores.
SMALL = {
    "train_reid": {
        "synthetic.num_train_scenes": "4",
        "synthetic.num_test_scenes": "2",
        "synthetic.frames": "10",
        "p": "4",
        "k": "2",
    },
    "train_gnn": {
        "data.synthetic_train_scenes": "2",
        "data.synthetic_val_scenes": "1",
        "data.draws": "1",
        "train.batch_size": "4",
    },
    "train_seg": {
        "data.synthetic_train": "16",
        "data.synthetic_val": "4",
        "train.batch_size": "4",
    },
    "train_sot": {
        "data.synthetic_videos": "2",
        "data.synthetic_frames": "20",
        "data.eval_synthetic_videos": "1",
        "train.batch_size": "2",
    },
    "train_jde": {
        "data.synthetic_scenes": "2",
        "data.synthetic_frames": "8",
        "data.eval_scenes": "1",
        "data.eval_frames": "8",
        "train.batch_size": "2",
    },
}


# Over a minute each on 2 cores, nearly all of it compiling: E.T.Track's train step (about
# 3 min in all), JDE's train step and detector (about 1 min). The default run still trains
# train_sot end to end with a smaller head (tests/sot/test_sot_tracker.py).
SLOW = {"train_sot", "train_jde"}


@pytest.mark.parametrize(
    "program", [pytest.param(p, marks=pytest.mark.slow) if p in SLOW else p for p in SMALL]
)
def test_default_preset_trains_3_steps_without_data(program, tmp_path, monkeypatch):
    empty = tmp_path / "no_data"
    empty.mkdir()
    monkeypatch.setenv("JAXMOT_DATA", str(empty))
    workdir = tmp_path / "run"
    overrides = {"train.log_every": "1", **SMALL[program]}
    sets = [arg for key, value in overrides.items() for arg in ("--set", f"{key}={value}")]
    main = importlib.import_module(f"pipelines.{program}").main
    args = ["--workdir", str(workdir), "--steps", "3", "--no-progress", *sets]
    assert main(args) == 0
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    losses = {row["step"]: row["loss"] for row in rows if "loss" in row}
    assert sorted(losses) == [1, 2, 3], rows
    assert all(math.isfinite(loss) for loss in losses.values()), losses
    assert not any(empty.iterdir())  # nothing was written to (or expected in) the data root
