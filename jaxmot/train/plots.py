"""Training curves from `metrics.jsonl`: one panel per logged quantity.

    records = read_records("runs/gnn/metrics.jsonl")
    plot_metrics(records, "runs/gnn/metrics.png", title="runs/gnn")

Panels, in this order: the loss, the learning rate, examples per second, the other
training scalars (loss terms, accuracy, gradient norm, ...) in the order the log first
names them, then every evaluation metric (rows holding `"eval": {metric: value}`).
Only finite numbers are drawn; a quantity never logged as a number gets no panel.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from jaxmot.core.atomic import atomic_open

FIRST = ("loss", "learning_rate", "examples_per_sec")
NOT_PLOTTED = ("step", "time", "eval")
EVAL_PREFIX = "eval/"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def metric_series(records: Sequence[dict[str, Any]]) -> dict[str, tuple[list[int], list[float]]]:
    """{panel name: (steps, values)} of every numeric quantity, in panel order.

    Training scalars keep their names; evaluation metrics are named "eval/<metric>".
    """
    series: dict[str, tuple[list[int], list[float]]] = {}

    def add(name: str, step: int, value: Any) -> None:
        number = _number(value)
        if number is not None:
            steps, values = series.setdefault(name, ([], []))
            steps.append(step)
            values.append(number)

    for record in records:
        step = record["step"]
        for key, value in record.items():
            if key not in NOT_PLOTTED:
                add(key, step, value)
        evaluation = record.get("eval")
        if isinstance(evaluation, dict):
            for key, value in evaluation.items():
                add(EVAL_PREFIX + key, step, value)

    def rank(name: str) -> tuple[int, int]:
        if name in FIRST:
            return 0, FIRST.index(name)
        return (2 if name.startswith(EVAL_PREFIX) else 1), 0

    return dict(sorted(series.items(), key=lambda item: rank(item[0])))  # stable


def plot_metrics(
    records: Sequence[dict[str, Any]],
    out: str | os.PathLike,
    *,
    title: str = "",
    columns: int = 3,
) -> list[str]:
    """Draw the panels of `metric_series(records)` into the PNG `out`; returns their names.

    Raises:
      ValueError: no record holds a number to draw.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    series = metric_series(records)
    if not series:
        raise ValueError("no numeric metric to plot (the log is empty)")
    rows = math.ceil(len(series) / columns)
    cols = min(columns, len(series))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    for ax, (name, (steps, values)) in zip(axes.flat, series.items(), strict=False):
        marker = "o" if len(steps) < 30 else None
        ax.plot(steps, values, marker=marker, markersize=3, linewidth=1.2)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        if name == "loss" and min(values) > 0 and max(values) / min(values) > 100:
            ax.set_yscale("log")  # losses that fall by orders of magnitude
    for ax in list(axes.flat)[len(series) :]:
        ax.axis("off")
    save_figure(fig, out, title)
    return list(series)


def save_figure(fig, out, title: str | None = None) -> None:
    """Title, lay out and write a matplotlib figure as PNG (atomically), then close it."""
    import matplotlib.pyplot as plt

    if title:
        fig.suptitle(title, fontsize=11)
    try:
        fig.tight_layout()
        with atomic_open(out, "wb") as f:
            fig.savefig(f, format="png", dpi=100)
    finally:
        plt.close(fig)


__all__ = ["metric_series", "plot_metrics", "save_figure"]
