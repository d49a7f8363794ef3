"""Precomputed appearance features stored with the detections they describe.

A `.npz` file with `frames [K] int32`, `boxes [K, 4] float32 xywh`, `scores [K]` and
`features [K, D] float32`: self-contained, so appearance trackers can run on a sequence
that has no pixels (only det/ and gt/), and rows can never fall out of step with a
det.txt that was filtered or reordered.
"""

from __future__ import annotations

import os
import pathlib
import zipfile

import numpy as np

from jaxmot.data.atomic import atomic_open
from jaxmot.data.mot import Detections

_KEYS = ("frames", "boxes", "scores", "features")


def save_detection_features(path: str | os.PathLike, dets: Detections, features) -> None:
    """Write detections and their [K, D] features (atomically)."""
    features = np.asarray(features, np.float32)
    if features.ndim != 2 or len(features) != len(dets):
        raise ValueError(f"features must be [{len(dets)}, D], got shape {features.shape}")
    with atomic_open(path, "wb") as f:
        np.savez(f, frames=dets.frames, boxes=dets.boxes, scores=dets.scores, features=features)


def load_detection_features(path: str | os.PathLike) -> tuple[Detections, np.ndarray]:
    """Read a file written by `save_detection_features` -> (detections, features [K, D])."""
    path = pathlib.Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise ValueError(f"{path}: not a readable .npz features file ({err})") from err
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: expected an .npz archive ({', '.join(_KEYS)}), got one array")
    with data:
        missing = [k for k in _KEYS if k not in data.files]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing} (has {data.files})")
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
