"""What a run records besides metrics.jsonl: TensorBoard scalars (`train.tensorboard=true`,
tensorboardX) and a `jax.profiler` trace (`--profile N`)."""

import argparse
import dataclasses
import importlib.util
import pathlib
import struct

import pytest

from jaxmot.train import train
from jaxmot.train.config import TrainConfig
from jaxmot.train.loop import Evaluator
from jaxmot.train.metrics_log import read_records
from jaxmot.train.overrides import add_config_args, apply_args

event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")  # the `tensorboard` extra

_SCRIPT = pathlib.Path(__file__).parent / "train_scripts" / "tiny_task.py"
_spec = importlib.util.spec_from_file_location("tiny_task", _SCRIPT)
tiny_task = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_task)


def read_events(path):
    """The Event protos of one TFRecord file (length, crc, data, crc per record)."""
    data, events, offset = path.read_bytes(), [], 0
    while offset < len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        offset += 12  # the length and its crc
        events.append(event_pb2.Event.FromString(data[offset : offset + length]))
        offset += length + 4  # the data and its crc
    return events


def test_tensorboard_events_hold_the_metrics_log(tmp_path):
    config = tiny_task.tiny_config(6, 8, 2, 6, 1)  # steps, batch, log, checkpoint, keep
    config = dataclasses.replace(config, tensorboard=True, eval_every=3)
    evaluator = Evaluator(lambda model: {"score": float(model.fc2.bias[0])}, "score")
    train(
        tiny_task.TinyTask(config.batch_size), config, tmp_path, progress=False, evaluator=evaluator
    )

    (events_file,) = (tmp_path / "tensorboard").glob("events.out.tfevents.*")
    scalars = {}
    for event in read_events(events_file):
        for value in event.summary.value:
            scalars[(value.tag, event.step)] = value.simple_value
    records = read_records(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in records if "loss" in r] == [2, 4, 6]
    assert [r["step"] for r in records if "eval" in r] == [3, 6]
    for record in records:
        for key in ("loss", "learning_rate", "mae", "data_wait_s", "step_s"):
            if key in record:
                assert scalars[(key, record["step"])] == pytest.approx(record[key], rel=1e-6)
        if "eval" in record:
            got = scalars[("eval/score", record["step"])]
            assert got == pytest.approx(record["eval"]["score"], rel=1e-6)


def test_profile_traces_steps_after_the_first(tmp_path, capsys):
    config = tiny_task.tiny_config(6, 8, 2, 6, 1)
    config = dataclasses.replace(config, profile_steps=2)
    train(tiny_task.TinyTask(config.batch_size), config, tmp_path, progress=False)
    traces = list((tmp_path / "profile").rglob("*.xplane.pb"))
    assert len(traces) == 1 and traces[0].stat().st_size > 0
    assert f"profile: 2 step(s) traced -> {tmp_path / 'profile'}" in capsys.readouterr().out


def test_profile_flag_and_resume(tmp_path, recwarn):
    parser = argparse.ArgumentParser()
    add_config_args(parser)
    args = parser.parse_args(["--workdir", str(tmp_path), "--profile", "3"])
    assert apply_args(TrainConfig(), args).profile_steps == 3
    nested = apply_args(Nested(), args, steps_key="train.steps")
    assert nested.train.profile_steps == 3
    with pytest.raises(ValueError, match="profile_steps must be >= 0"):
        TrainConfig(profile_steps=-1)

    config = tiny_task.tiny_config(4, 8, 2, 2, 1)
    train(tiny_task.TinyTask(8), config, tmp_path, progress=False)
    # profiling, TensorBoard and the log interval change what a run records, not what it
    # trains: resuming with them changed gives no warning
    again = dataclasses.replace(config, profile_steps=1, tensorboard=True, log_every=1)
    train(tiny_task.TinyTask(8), again, tmp_path, progress=False)
    assert not [w for w in recwarn if "differs from the checkpoint" in str(w.message)]


@dataclasses.dataclass(frozen=True)
class Nested:
    train: TrainConfig = TrainConfig()
