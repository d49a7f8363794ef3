"""The training log `metrics.jsonl`: one JSON object per logged step, safe against kills.

Each record is written as one line and flushed, so a killed run loses at most the line
being written. On resume the log is cut back to the restored checkpoint's step (records
after it are recomputed) and rewritten atomically, which makes the log of a killed and
resumed run equal to that of an uninterrupted one except for the timing fields.
"""

from __future__ import annotations

import json
import os
import pathlib
import warnings
from typing import Any

from jaxmot.core.atomic import atomic_open, json_safe

# Wall-clock fields: the only ones that differ between two runs of the same config.
TIMING_FIELDS = ("examples_per_sec", "data_wait_s", "step_s", "eval_s", "time")


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl file ([] if it does not exist).

    A torn last line (a kill during the write) is dropped with a warning. Any other line
    that is not a JSON object with a "step" raises ValueError naming the file and line:
    that is damage the loop cannot explain, so it does not guess.
    """
    path = pathlib.Path(path)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    records = []
    for i, line in enumerate(lines):
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or "step" not in record:
                raise ValueError("not a JSON object with a 'step'")
        except ValueError as e:
            if i == len(lines) - 1:
                warnings.warn(
                    f"{path}:{i + 1}: dropping a torn last line (an interrupted write): "
                    f"{line[:80]!r}",
                    stacklevel=2,
                )
                break
            raise ValueError(
                f"{path}:{i + 1}: malformed metrics record ({e}): {line[:80]!r}"
            ) from None
        records.append(record)
    return records


def truncate_records(path: str | os.PathLike, last_step: int) -> list[dict[str, Any]]:
    """Keep the records with step <= `last_step`, rewrite the file atomically, return them."""
    records = [r for r in read_records(path) if r["step"] <= last_step]
    if pathlib.Path(path).exists():
        with atomic_open(path, "w") as f:
            f.writelines(_line(r) for r in records)
    return records


def _line(record: dict[str, Any]) -> str:
    # A diverging run's NaN/inf losses become null: valid JSON, and the log goes on.
    return json.dumps(json_safe(record), allow_nan=False) + "\n"


class MetricsWriter:
    """Appends records to metrics.jsonl (and TensorBoard, if asked and available).

    Args:
      path: the metrics.jsonl file (appended to).
      tensorboard_dir: also write scalars there when tensorboardX or torch is importable;
        otherwise warn once and carry on without.
      enabled: False on all but the first process of a multi-host run.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        tensorboard_dir: str | os.PathLike | None = None,
        enabled: bool = True,
    ):
        self._file = None
        self._tb = None
        if not enabled:
            return
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # closed in close()
        if tensorboard_dir is not None:
            self._tb = _tensorboard_writer(tensorboard_dir)

    def write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        self._file.write(_line(record))
        self._file.flush()  # a killed process keeps every finished line
        if self._tb is not None:
            for key, value in _scalars(record).items():
                self._tb.add_scalar(key, value, record["step"])
            self._tb.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def _scalars(record: dict[str, Any]) -> dict[str, float]:
    """The record's numbers by TensorBoard tag; an evaluation's metrics as "eval/<name>"."""
    scalars = {k: v for k, v in record.items() if k != "step" and isinstance(v, int | float)}
    for key, value in (record.get("eval") or {}).items():
        if isinstance(value, int | float):
            scalars[f"eval/{key}"] = value
    return scalars


def _tensorboard_writer(logdir: str | os.PathLike):
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            warnings.warn(
                "tensorboard=True but no TensorBoard writer is importable (tried tensorboardX"
                " and torch.utils.tensorboard); logging to metrics.jsonl only",
                stacklevel=3,
            )
            return None
    return SummaryWriter(str(logdir))
