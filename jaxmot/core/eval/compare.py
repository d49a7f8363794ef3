"""Several trackers' results on the same ground truth: one comparison table, CSV, plot."""

from __future__ import annotations

import csv
import io
import os
import pathlib

from jaxmot.core.atomic import atomic_write_text
from jaxmot.core.eval.metrics import OVERALL, evaluate
from jaxmot.core.eval.pairs import load_pairs

PLOTTED = ("HOTA", "DetA", "AssA")


def tracker_folders(paths: list[str | os.PathLike]) -> dict[str, pathlib.Path]:
    """Tracker name -> its results (a folder of `<sequence>.txt` or one file).

    Each path is one tracker's results, named by its folder (or file stem); a single
    folder that holds no .txt files but sub-folders that do is a folder of tracker
    folders (each sub-folder one tracker).
    """
    paths = [pathlib.Path(p) for p in paths]
    if len(paths) == 1 and paths[0].is_dir() and not any(paths[0].glob("*.txt")):
        subs = sorted(p for p in paths[0].iterdir() if p.is_dir() and any(p.glob("*.txt")))
        if not subs:
            raise FileNotFoundError(
                f"--results {paths[0]}: no <sequence>.txt files in it or in its sub-folders"
            )
        paths = subs
    named: dict[str, pathlib.Path] = {}
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"--results {path}: not found")
        name = path.name if path.is_dir() else path.stem
        if name in named:
            name = str(path)  # two folders of the same name: tell them apart by path
        named[name] = path
    return named


def compare(
    gt_dir: str | os.PathLike, results: dict[str, pathlib.Path], classes: list[int] | None = None
) -> dict[str, dict]:
    """{tracker: {sequence | OVERALL: metrics}} (`evaluate` on each tracker's results)."""
    return {name: evaluate(load_pairs(gt_dir, path), classes) for name, path in results.items()}


def overall_rows(by_tracker: dict[str, dict]) -> dict[str, dict]:
    """{tracker: OVERALL metrics}: the comparison table's rows."""
    return {name: metrics[OVERALL] for name, metrics in by_tracker.items()}


def write_csv(path: str | os.PathLike, rows: dict[str, dict]) -> None:
    """One line per tracker (first column `tracker`), one column per metric (atomic)."""
    keys = sorted({key for metrics in rows.values() for key in metrics})
    lines = [["tracker", *keys]] + [
        [name, *(metrics.get(key, "") for key in keys)] for name, metrics in rows.items()
    ]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(lines)
    atomic_write_text(path, out.getvalue())


def _bar_groups(ax, rows: dict[str, dict], metrics: tuple[str, ...]) -> None:
    """One group of bars per tracker (rows: {tracker: metrics}), one bar per metric in
    percent, each labelled with its value."""
    import numpy as np

    names = list(rows)
    x = np.arange(len(names))
    width = 0.8 / len(metrics)
    for k, metric in enumerate(metrics):
        values = [100 * float(rows[n].get(metric, float("nan"))) for n in names]
        offset = (k - (len(metrics) - 1) / 2) * width
        bars = ax.bar(x + offset, values, width, label=metric)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    tilted = len(names) > 4
    ax.set_xticks(x, names, rotation=20 if tilted else 0, ha="right" if tilted else "center")
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.legend(ncols=len(metrics), loc="upper left", fontsize=8)


def _save(fig, path: str | os.PathLike, dpi: int = 120) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_comparison(path: str | os.PathLike, rows: dict[str, dict]) -> None:
    """HOTA, DetA and AssA bars per tracker (percentages), saved as an image."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(rows) + 2), 3.6))
    _bar_groups(ax, rows, PLOTTED)
    ax.set_title("HOTA = sqrt(DetA x AssA), OVERALL")
    _save(fig, path)


SET_METRICS = ("MOTA", "IDF1", "HOTA")


def plot_sets(
    path: str | os.PathLike, table: dict[str, dict[str, dict]], metrics=SET_METRICS
) -> list[str]:
    """One panel per evaluation set ({set: {tracker: metrics}}, as
    pipelines.compare_trackers builds it), each with a group of `metrics` bars per
    tracker; saved as an image. Returns the panels' set names."""
    if not table:
        raise ValueError("nothing to plot: the comparison table is empty")
    plt = _pyplot()
    trackers = max(len(rows) for rows in table.values())
    fig, axes = plt.subplots(
        len(table), 1, figsize=(max(5.0, 0.5 * len(metrics) * trackers + 2), 3.4 * len(table)),
        squeeze=False,
    )  # fmt: skip
    for ax, (set_name, rows) in zip(axes[:, 0], table.items(), strict=True):
        _bar_groups(ax, rows, tuple(metrics))
        ax.set_title(set_name, fontsize=10)
    _save(fig, path, dpi=90)  # a tall figure: keeps a six-set comparison near 250 kB
    return list(table)


__all__ = [
    "PLOTTED",
    "SET_METRICS",
    "compare",
    "overall_rows",
    "plot_comparison",
    "plot_sets",
    "tracker_folders",
    "write_csv",
]
