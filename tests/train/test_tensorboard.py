"""`train.tensorboard=true` writes the logged scalars as TensorBoard events (tensorboardX)."""

import dataclasses
import importlib.util
import pathlib
import struct

import pytest

from jaxmot.train import train
from jaxmot.train.metrics_log import read_records

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
    config = dataclasses.replace(config, tensorboard=True)
    train(tiny_task.TinyTask(config.batch_size), config, tmp_path, progress=False)

    (events_file,) = (tmp_path / "tensorboard").glob("events.out.tfevents.*")
    scalars = {}
    for event in read_events(events_file):
        for value in event.summary.value:
            scalars[(value.tag, event.step)] = value.simple_value
    records = read_records(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in records] == [2, 4, 6]
    for record in records:
        for key in ("loss", "learning_rate", "mae"):
            assert scalars[(key, record["step"])] == pytest.approx(record[key], rel=1e-6)
