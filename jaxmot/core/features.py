"""Precomputed appearance features for a sequence's detections, in one of two forms.

Both are `.npz` files; `load_features` tells them apart by their arrays.

Self-contained (`save_detection_features` / `load_detection_features`): `frames [K]
int32`, `boxes [K, 4] float32 xywh`, `scores [K]` and `features [K, D] float32`. The
detections travel with their features, so appearance trackers can run on a sequence
that has no pixels (only det/ and gt/), and rows can never fall out of step with a
det.txt that was filtered or reordered.

By det.txt line (`load_line_features`): only `features [L, D]`, where row i belongs to
line i of the sequence's `det/det.txt`, counting its data lines (blank lines skipped)
from 0 in file order. Rows are matched to detections through their source lines, so the
reader's frame sort and the lines it drops (boxes of non-positive size, with a warning)
cannot misalign them; the rows of dropped lines are ignored and may hold anything.
"""

from __future__ import annotations

import os
import pathlib
import zipfile

import numpy as np

from jaxmot.core.atomic import atomic_open
from jaxmot.core.mot_io import Detections, read_detections

_KEYS = ("frames", "boxes", "scores", "features")
_DET_KEYS = ("frames", "boxes", "scores")
_FORMS = (
    "either frames, boxes, scores and features (detections with their features) or only "
    "features (one row per det.txt line)"
)


def save_detection_features(path: str | os.PathLike, dets: Detections, features) -> None:
    """Write detections and their [K, D] features (atomically)."""
    features = np.asarray(features, np.float32)
    if features.ndim != 2 or len(features) != len(dets):
        raise ValueError(f"features must be [{len(dets)}, D], got shape {features.shape}")
    with atomic_open(path, "wb") as f:
        np.savez(f, frames=dets.frames, boxes=dets.boxes, scores=dets.scores, features=features)


def _open_npz(path: pathlib.Path) -> np.lib.npyio.NpzFile:
    try:
        data = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise ValueError(f"{path}: not a readable .npz features file ({err})") from err
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: expected an .npz archive ({_FORMS}), got one array")
    return data


def _form(path: pathlib.Path, files: list[str]) -> str:
    """ "detections" (self-contained) or "lines" (by det.txt line), from the array names."""
    present = [k for k in _DET_KEYS if k in files]
    if present and len(present) < len(_DET_KEYS):
        missing = [k for k in _DET_KEYS if k not in files]
        raise ValueError(
            f"{path}: has {present} but not {missing} (has {files}); expected {_FORMS}"
        )
    if "features" not in files:
        raise ValueError(f"{path}: missing array 'features' (has {files}); expected {_FORMS}")
    return "detections" if present else "lines"


def features_form(path: str | os.PathLike) -> str:
    """Which form `path` holds: "detections" (self-contained) or "lines" (by det.txt line).

    Raises ValueError naming the file when it is neither (no `features`, or only some of
    frames/boxes/scores).
    """
    path = pathlib.Path(path)
    with _open_npz(path) as data:
        return _form(path, data.files)


def load_detection_features(path: str | os.PathLike) -> tuple[Detections, np.ndarray]:
    """Read a file written by `save_detection_features` -> (detections, features [K, D])."""
    path = pathlib.Path(path)
    with _open_npz(path) as data:
        if _form(path, data.files) != "detections":
            raise ValueError(
                f"{path}: holds only 'features', one row per det.txt line: read it with "
                "load_line_features (or load_features) and the sequence's det.txt"
            )
        arrays = {k: data[k] for k in _KEYS}
    k = len(arrays["frames"])
    expected = {"frames": (k,), "boxes": (k, 4), "scores": (k,)}
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise ValueError(f"{path}: '{name}' has shape {arrays[name].shape}, expected {shape}")
    features = arrays.pop("features")
    if features.ndim != 2 or len(features) != k:
        raise ValueError(f"{path}: 'features' has shape {features.shape}, expected [{k}, D]")
    checks = [
        ("frames", arrays["frames"] >= 1, "a frame >= 1"),
        ("boxes", np.isfinite(arrays["boxes"]).all(axis=1), "finite values"),
        ("boxes", (arrays["boxes"][:, 2:] > 0).all(axis=1), "positive width and height"),
        ("scores", np.isfinite(arrays["scores"]), "a finite score"),
        ("features", np.isfinite(features).all(axis=1), "finite values"),
    ]
    for name, ok, what in checks:
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise ValueError(f"{path}: row {row}, field '{name}': expected {what}")
    dets = Detections(**arrays)
    # Detections sorts rows by frame; apply the same order to the features.
    order = np.argsort(arrays["frames"], kind="stable")
    return dets, features[order]


def _det_txt(source: str | os.PathLike) -> pathlib.Path:
    """A det.txt path, or a sequence folder -> its det/det.txt."""
    source = pathlib.Path(source)
    det_path = source / "det" / "det.txt" if source.is_dir() else source
    if not det_path.is_file():
        raise FileNotFoundError(f"detections file not found: {det_path}")
    return det_path


def _data_line_numbers(det_path: pathlib.Path) -> np.ndarray:
    """1-based file line numbers [L] of the data lines (non-blank, as mot.py counts them)."""
    lines = det_path.read_text(encoding="utf-8").splitlines()
    return np.array([i for i, ln in enumerate(lines, 1) if ln.strip()], np.int64)


def load_line_features(
    path: str | os.PathLike, det_source: str | os.PathLike
) -> tuple[Detections, np.ndarray]:
    """Read features stored one row per det.txt line -> (detections, features [K, D]).

    Args:
      path: `.npz` holding `features [L, D]`, row i for data line i of the det.txt.
      det_source: the det.txt, or a sequence folder (its det/det.txt).

    Returns:
      The detections as `read_detections` gives them (sorted by frame, lines with
      invalid boxes dropped) and float32 features [K, D], row k from the det.txt line of
      detection k.
    """
    path = pathlib.Path(path)
    det_path = _det_txt(det_source)
    with _open_npz(path) as data:
        if _form(path, data.files) != "lines":
            raise ValueError(
                f"{path}: holds detections (frames, boxes, scores) with their features, not "
                f"one row per line of {det_path}: read it with load_detection_features"
            )
        features = data["features"]
    if features.ndim != 2:
        raise ValueError(
            f"{path}: 'features' has shape {features.shape}, expected [lines, D]: one row "
            f"per data line of {det_path}"
        )
    if not (
        np.issubdtype(features.dtype, np.floating) or np.issubdtype(features.dtype, np.integer)
    ):
        raise ValueError(f"{path}: 'features' has dtype {features.dtype}, expected numbers")
    linenos = _data_line_numbers(det_path)
    if len(features) != len(linenos):
        raise ValueError(
            f"{path}: 'features' has {len(features)} rows, but {det_path} has "
            f"{len(linenos)} data lines (blank lines not counted): one row per line, in "
            "file order"
        )
    dets, lines = read_detections(det_path, return_lines=True)
    features = features[lines].astype(np.float32)
    bad = ~np.isfinite(features).all(axis=1)
    if bad.any():
        line = int(lines[np.argmax(bad)])
        raise ValueError(
            f"{path}: row {line} of 'features' (for {det_path} line {linenos[line]}) has "
            "non-finite values"
        )
    return dets, features


def load_features(
    path: str | os.PathLike, det_source: str | os.PathLike | None = None
) -> tuple[Detections, np.ndarray]:
    """Read either form -> (detections, features [K, D]), told apart by the arrays.

    `det_source` (a det.txt or a sequence folder) is needed for the by-line form only.
    """
    form = features_form(path)
    if form == "detections":
        return load_detection_features(path)
    if det_source is None:
        raise ValueError(
            f"{path}: holds one feature row per det.txt line; give the det.txt it belongs to"
        )
    return load_line_features(path, det_source)
