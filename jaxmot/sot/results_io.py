"""Single-object tracking files: box files (xywh lines or VOT polygons), pairing
predictions with ground truth on disk, and the results table.

boxes = read_boxes("data/blackswan/groundtruth.txt")          # [T, 4] xywh, NaN rows kept
pairs = load_sequence_pairs("runs/mil", "data/got10k/val")    # {seq: (pred, gt)}
print(format_table(evaluate_sequences(pairs)))

Metrics are in `jaxmot.sot.metrics`.
"""

from __future__ import annotations

import math
import os
import pathlib
import re
import warnings
from collections.abc import Mapping

import numpy as np

from jaxmot.sot.metrics import OVERALL

_SPLIT = re.compile(r"[,\s]+")

# ---------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------


def polygon_to_xywh(polygons: np.ndarray) -> np.ndarray:
    """VOT polygons [N, 8] (x1, y1, ..., x4, y4) -> [N, 4] xywh min/max bounding boxes.

    The tight axis-aligned rectangle around the four corners, as pytracking's VOT loader
    converts them. (pysot's `get_axis_aligned_bbox` instead shrinks that rectangle to
    the rotated box's area and adds 1 pixel; it is meant for initialising a tracker, and
    its box is not the region the polygon covers, so it is not used.) NaN in -> NaN out.
    """
    p = np.asarray(polygons, np.float64).reshape(-1, 8)
    xs, ys = p[:, 0::2], p[:, 1::2]
    x1, y1 = xs.min(axis=1), ys.min(axis=1)
    return np.stack([x1, y1, xs.max(axis=1) - x1, ys.max(axis=1) - y1], axis=1)


def read_boxes(path: str | os.PathLike) -> np.ndarray:
    """Read one box per line -> [T, 4] float64 xywh.

    A line holds `x,y,w,h` or a VOT polygon `x1,y1,...,x4,y4` (converted by
    `polygon_to_xywh`), separated by commas, tabs or spaces. A row with NaN ("nan", or
    a line holding just "nan") is an absent target / missing box and stays NaN. Blank
    lines are allowed only at the end of the file.

    Raises:
      FileNotFoundError: no such file.
      ValueError: a malformed line (wrong count, not a number, infinite), naming the file
        and 1-based line number; or a file without boxes.
    """
    path = pathlib.Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    rows = np.empty((len(lines), 4), np.float64)
    for i, line in enumerate(lines):
        rows[i] = _parse_line(line, path, i + 1)
    if not len(rows):
        raise ValueError(f"{path}: no boxes (empty file)")
    return rows


def _parse_line(line: str, path: pathlib.Path, lineno: int) -> np.ndarray:
    tokens = [t for t in _SPLIT.split(line.strip()) if t]
    where = f"{path}:{lineno}"
    if not tokens:
        raise ValueError(f"{where}: blank line inside the file (one box per frame expected)")
    if len(tokens) == 1 and tokens[0].lower() == "nan":
        return np.full(4, np.nan)
    if len(tokens) not in (4, 8):
        raise ValueError(
            f"{where}: expected 4 values (x,y,w,h) or 8 (VOT polygon), got {len(tokens)}: "
            f"{line.strip()!r}"
        )
    try:
        values = np.array([float(t) for t in tokens])
    except ValueError:
        raise ValueError(f"{where}: not a number in {line.strip()!r}") from None
    if np.isinf(values).any():
        raise ValueError(f"{where}: infinite value in {line.strip()!r}")
    return polygon_to_xywh(values)[0] if len(values) == 8 else values


# ---------------------------------------------------------------------------------------
# Pairing files on disk, and a table
# ---------------------------------------------------------------------------------------

_GT_NAME = "groundtruth.txt"


def _gt_files(gt: pathlib.Path) -> dict[str, pathlib.Path]:
    if gt.is_file():
        return {gt.parent.name if gt.name == _GT_NAME else gt.stem: gt}
    if not gt.is_dir():
        raise FileNotFoundError(f"ground truth not found: {gt}")
    if (gt / _GT_NAME).is_file():
        return {gt.name: gt / _GT_NAME}
    # GOT-10k / LaSOT layout wins when present (their list.txt is not a sequence).
    nested = {p.parent.name: p for p in sorted(gt.glob(f"*/{_GT_NAME}"))}
    files = nested or {p.stem: p for p in sorted(gt.glob("*.txt"))}
    if not files:
        raise FileNotFoundError(f"no <seq>.txt or <seq>/{_GT_NAME} ground truth in {gt}")
    return files


def load_sequence_pairs(
    predictions: str | os.PathLike, groundtruth: str | os.PathLike
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read (predictions, gt) boxes by sequence name.

    Args:
      predictions: a `<seq>.txt` file, or a folder of them.
      groundtruth: `<seq>.txt` or `<seq>/groundtruth.txt` (a file, a sequence folder),
        or a folder of either layout (GOT-10k/LaSOT sub-folders take precedence).

    With folders, the ground truth names the sequences: each needs `<seq>.txt` among the
    predictions (all missing ones are named in one error); extra prediction files are
    ignored with a warning. One prediction file against several gt sequences is matched
    by its stem.

    Raises:
      FileNotFoundError: missing files or sequences.
      ValueError: malformed files, or a prediction file whose frame count differs from
        its ground truth (both files named).
    """
    pred_path, gt_path = pathlib.Path(predictions), pathlib.Path(groundtruth)
    gts = _gt_files(gt_path)
    if pred_path.is_file():
        if len(gts) > 1:
            if pred_path.stem not in gts:
                raise FileNotFoundError(
                    f"no ground truth for {pred_path.stem!r} in {gt_path} "
                    f"(it holds {len(gts)} sequences)"
                )
            gts = {pred_path.stem: gts[pred_path.stem]}
        preds = {name: pred_path for name in gts}
    elif pred_path.is_dir():
        preds = {name: pred_path / f"{name}.txt" for name in gts}
        missing = sorted(name for name, p in preds.items() if not p.is_file())
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} sequence(s) in {gt_path} have no predictions in {pred_path}: "
                + ", ".join(f"{n}.txt" for n in missing)
            )
        extra = sorted(p.stem for p in pred_path.glob("*.txt") if p.stem not in gts)
        if extra:
            warnings.warn(
                f"ignoring prediction file(s) without ground truth in {pred_path}: "
                + ", ".join(extra),
                stacklevel=2,
            )
    else:
        raise FileNotFoundError(f"predictions not found: {pred_path}")

    pairs = {}
    for name in sorted(gts):
        pred, gt = read_boxes(preds[name]), read_boxes(gts[name])
        if len(pred) != len(gt):
            raise ValueError(
                f"sequence {name}: {preds[name]} has {len(pred)} boxes but "
                f"{gts[name]} has {len(gt)} (one box per frame expected in both)"
            )
        pairs[name] = (pred, gt)
    return pairs


_COLUMNS = (
    ("frames", "Frames"),
    ("absent_frames", "Absent"),
    ("auc", "AUC"),
    ("precision20", "P@20"),
    ("norm_precision", "NormP"),
    ("norm_precision_auc", "NormP-AUC"),
    ("ao", "AO"),
    ("sr50", "SR0.5"),
    ("sr75", "SR0.75"),
)


def format_table(metrics: Mapping[str, Mapping[str, float | int]]) -> str:
    """Fixed-width table, one row per sequence then OVERALL; scores as percentages.

    Absent: scored frames without a gt box (failures with absent="fail", 0 with "skip");
    AO / SR0.5 / SR0.75: GOT-10k's numbers (see `jaxmot.sot.metrics`)."""

    def cell(v) -> str:
        if isinstance(v, int):
            return str(v)
        return f"{100 * v:.1f}" if math.isfinite(v) else str(v)

    names = sorted(metrics, key=lambda n: n == OVERALL)  # stable: OVERALL last
    rows = [["Sequence", *(h for _, h in _COLUMNS)]]
    rows += [[n, *(cell(metrics[n][k]) for k, _ in _COLUMNS)] for n in names]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            [r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]
        )
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
