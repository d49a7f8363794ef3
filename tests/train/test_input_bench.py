"""`bench input`: the generic timing (jaxmot.train.input_bench) on a fake task, and one
real task through `python -m pipelines.bench input` (tiny batches, two timed)."""

from __future__ import annotations

import json
import pathlib
import re

import numpy as np
import pytest

from jaxmot.train.input_bench import (
    BatchSource,
    examples_in,
    format_input_records,
    run_input_bench,
    time_input,
)
from pipelines import bench

REPO = pathlib.Path(__file__).resolve().parents[2]


class FakeTask:
    """Batches of 3 examples; remembers the steps asked for and the sources built."""

    def __init__(self):
        self.steps: list[int] = []
        self.built = 0

    def batch(self, step: int) -> dict[str, np.ndarray]:
        self.steps.append(step)
        return {"x": np.full((3, 2), step, np.float32), "y": np.zeros(3, np.int32)}

    def factory(self) -> BatchSource:
        self.built += 1
        return BatchSource(self.batch, 3, "fake_preset")


def test_records_per_task_and_worker_count_with_their_own_steps():
    task = FakeTask()
    lines = []
    records = run_input_bench(
        {"fake": task.factory}, (0, 2), warmup=1, batches=2, progress=lines.append
    )
    assert [(r["task"], r["workers"]) for r in records] == [("fake", 0), ("fake", 2)]
    assert task.built == 2  # a fresh source per row
    # Each row reads its own steps: warm-up 1 + 2 timed, the second row from step 3.
    assert [r["start_step"] for r in records] == [0, 3]
    assert sorted(task.steps) == [0, 1, 2, 3, 4, 5]
    for r in records:
        assert r["config"] == "fake_preset" and r["batch_size"] == 3 and r["batches"] == 2
        assert r["examples_per_s"] == pytest.approx(3 * r["batches_per_s"])
        assert r["batches_per_s"] == pytest.approx(2 / r["seconds"])
        for key in ("setup_s", "first_batch_s", "warmup_s", "slowest_s", "cpu_cores"):
            assert r[key] >= 0
    assert records[0]["speedup"] == 1.0
    assert records[1]["speedup"] == pytest.approx(
        records[1]["examples_per_s"] / records[0]["examples_per_s"]
    )
    assert len(lines) == 2 and "examples/s" in lines[0]
    table = format_input_records(records)
    assert "examples/s" in table.splitlines()[0] and "fake_preset" in table


def test_speedup_is_against_the_zero_worker_row_wherever_it_is():
    records = run_input_bench({"fake": FakeTask().factory}, (1, 0), warmup=1, batches=1)
    assert records[1]["speedup"] == 1.0
    assert records[0]["speedup"] == pytest.approx(
        records[0]["examples_per_s"] / records[1]["examples_per_s"]
    )
    records = run_input_bench({"fake": FakeTask().factory}, (1,), warmup=1, batches=1)
    assert records[0]["speedup"] is None
    assert "-" in format_input_records(records).splitlines()[2].split()[-1]


def test_time_input_with_a_fake_clock():
    ticks = iter(range(100))
    source = FakeTask().factory()
    row = time_input(source, 0, workers=0, warmup=1, batches=4, clock=lambda: next(ticks))
    # ticks: 0 start, 1 first batch, 2 timing starts, 3..6 the timed batches
    assert row["first_batch_s"] == 1 and row["warmup_s"] == 2
    assert row["seconds"] == 4 and row["slowest_s"] == 1
    assert row["batches_per_s"] == 1.0 and row["examples_per_s"] == 3.0


def test_errors():
    factories = {"fake": FakeTask().factory}
    with pytest.raises(ValueError, match="unknown input task.*'nope'.*known: \\['fake'\\]"):
        run_input_bench(factories, tasks=["nope"])
    with pytest.raises(ValueError, match="worker counts"):
        run_input_bench(factories, (-1,))
    with pytest.raises(ValueError, match="warmup and batches"):
        run_input_bench(factories, (0,), batches=0)
    wrong = BatchSource(FakeTask().batch, 4)
    with pytest.raises(ValueError, match="holds 3 examples, expected batch_size 4"):
        time_input(wrong, 0, workers=0, warmup=1, batches=1)
    with pytest.raises(ValueError, match="leading size"):
        examples_in({"a": np.zeros(2), "b": np.zeros(3)})


def test_bench_input_sot_json(tmp_path, capsys):
    out = tmp_path / "input.json"
    argv = ["input", "--task", "sot", "--workers", "0", "1", "--batch", "2", "--batches", "2",
            "--warmup", "1", "--json", str(out)]  # fmt: skip
    assert bench.main(argv) == 0
    records = json.loads(out.read_text())
    assert [(r["task"], r["workers"]) for r in records] == [("sot", 0), ("sot", 1)]
    for r in records:
        assert r["config"] == "synthetic" and r["batch_size"] == 2 and r["batches"] == 2
        assert r["examples_per_s"] > 0 and r["environment"]["backend"]
    assert "examples/s" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--task", "nope"], "invalid choice: 'nope'"),
        (["--task", "sot", "--config", "nope"], "no sot preset 'nope'"),
        (["--config", "synthetic"], "say which task"),
        (["--task", "sot", "--config", "jde=synthetic_small"], "not among --task"),
        (["--task", "reid", "--batch", "6"], "reid batches are P x K, K = 4"),
        (["--task", "sot", "--set", "train.nope=1"], "nope"),
        (["--workers", "-1"], "--workers"),
        (["--batches", "0"], "--batches"),
    ],
)
def test_bench_input_bad_flags_exit_with_one_error_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.parse_args(["input", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_default_presets_are_the_training_programs_defaults():
    for task, preset in bench.INPUT_PRESETS.items():
        program = (REPO / "pipelines" / f"train_{task}.py").read_text(encoding="utf-8")
        default = re.search(r'training_parser\(__doc__, PRESETS, default="(\w+)"\)', program)
        assert default and default.group(1) == preset, task
