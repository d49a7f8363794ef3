"""The exercise's precomputed ReID data (`reid_gnn`) as feature sequence folders.

The exercise ships its MOT16 detections with their ReID features as torch pickles
(`reid_gnn/preprocessed_data_train_2.pth`, `..._val_2.pth`): {sequence name: [frame 1,
frame 2, ...]} (a list in frame order; a dict keyed by the 0-based frame index works
too), every frame a dict

  "det": {"boxes" [K, 4], "scores" [K], "reid" [K, D]}   the detector's boxes
  "gt":  {"ids" [G], "boxes" [G, 4], "vis" [G], "reid" [G, D]}   gt boxes (training)

with boxes x1, y1, x2, y2 in the exercise's pixel convention (x1 = left - 1, x2 =
left + width - 2, as its MOT16 reader makes them and its results writer undoes).
`convert_exercise_db` writes one feature sequence folder per sequence
(jaxmot.gnn.feature_data: det/det.txt, features.npz one row per line, gt/gt.txt and
seqinfo.ini copied from the MOT16 folder), so `train_gnn --config mot_features` and
`pipelines.track --features` read them:

  python -m pipelines.make_gnn_features exercise --db reid_gnn/preprocessed_data_train_2.pth \
      --mot16 MOT16/train --out data/reid_gnn_features
"""

from __future__ import annotations

import os
import pathlib
import shutil
from collections.abc import Mapping

import numpy as np

from jaxmot.core.atomic import atomic_open
from jaxmot.core.mot_io import (
    Detections,
    GroundTruth,
    SequenceInfo,
    write_detections,
    write_gt,
    write_seqinfo,
)
from jaxmot.gnn.feature_data import FEATURES_FILE

BOX_SOURCES = ("det", "gt")  # which boxes of each frame become det.txt


def exercise_boxes_to_xywh(boxes: np.ndarray) -> np.ndarray:
    """[K, 4] exercise x1, y1, x2, y2 -> [K, 4] MOTChallenge left, top, width, height."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    x1, y1, x2, y2 = boxes.T
    return np.stack([x1 + 1, y1 + 1, x2 - x1 + 1, y2 - y1 + 1], 1)


def _frames(name: str, frames) -> list:
    if isinstance(frames, Mapping):
        return [frames[k] for k in sorted(frames)]
    if isinstance(frames, list | tuple):
        return list(frames)
    raise ValueError(f"sequence {name!r}: expected a list of frames, got {type(frames).__name__}")


def _part(name: str, index: int, frame, source: str, keys: tuple[str, ...]) -> dict:
    where = f"sequence {name!r}, frame {index + 1}"
    if not isinstance(frame, Mapping) or source not in frame:
        raise ValueError(f"{where}: expected a dict with key {source!r}")
    part = frame[source]
    missing = [k for k in keys if k not in part]
    if missing:
        raise ValueError(f"{where}: '{source}' has no {missing} (has {sorted(part)})")
    return {k: np.asarray(part[k]) for k in keys}


def sequence_arrays(name: str, frames, source: str = "det") -> dict[str, np.ndarray]:
    """One sequence of the db -> {"frames" [K], "boxes" [K, 4] xywh, "scores" [K],
    "features" [K, D], and for source "gt" also "ids" [K], "vis" [K]} in frame order."""
    if source not in BOX_SOURCES:
        raise ValueError(f"source must be one of {BOX_SOURCES}, got {source!r}")
    keys = ("boxes", "scores", "reid") if source == "det" else ("ids", "boxes", "vis", "reid")
    columns: dict[str, list] = {k: [] for k in ("frames", *keys)}
    dim = None
    for index, frame in enumerate(_frames(name, frames)):
        part = _part(name, index, frame, source, keys)
        boxes = part["boxes"].reshape(-1, 4)
        reid = part["reid"].reshape(len(boxes), -1) if len(boxes) else None
        if reid is not None:
            if dim is not None and reid.shape[1] != dim:
                raise ValueError(
                    f"sequence {name!r}, frame {index + 1}: 'reid' is {reid.shape[1]}-d, "
                    f"earlier frames {dim}-d"
                )
            dim = reid.shape[1]
            columns["reid"].append(reid)
        columns["frames"].append(np.full(len(boxes), index + 1, np.int32))
        columns["boxes"].append(boxes)
        for key in keys:
            if key not in ("boxes", "reid"):
                columns[key].append(part[key].reshape(-1))
    if dim is None:
        raise ValueError(f"sequence {name!r}: no {source} boxes in any frame")
    out = {k: np.concatenate(v) for k, v in columns.items() if k != "reid"}
    out["boxes"] = exercise_boxes_to_xywh(out["boxes"])
    out["features"] = np.concatenate(columns["reid"]).astype(np.float32)
    if source == "gt":
        out["scores"] = np.ones(len(out["frames"]), np.float32)
    return out


def convert_exercise_db(
    db: Mapping,
    out_dir: str | os.PathLike,
    mot16_dir: str | os.PathLike | None = None,
    source: str = "det",
    sequences: list[str] | None = None,
) -> list[pathlib.Path]:
    """Write `out_dir/<seq>/` (det/det.txt, features.npz, gt/gt.txt, seqinfo.ini) for
    every sequence of the exercise's db (`sequences`: only these). Returns the folders.

    mot16_dir: the MOT16 split holding `<seq>/gt/gt.txt` and `seqinfo.ini`, copied as
      they are (so the evaluation sees every gt row, ignored ones included). Without it
      gt.txt is written from the db's "gt" entries (pedestrians only, flag 1, class 1)
      and seqinfo.ini holds the length only (30 fps assumed).
    source: "det" (the detector's boxes, for tracking and training) or "gt" (the gt
      boxes with their features: the exercise's own training input, scores 1).
    """
    names = sorted(db) if sequences is None else list(sequences)
    missing = [n for n in names if n not in db]
    if missing:
        raise ValueError(f"sequences {missing} not in the db (it has {sorted(db)})")
    written = []
    for name in names:
        arrays = sequence_arrays(name, db[name], source)
        seq_dir = pathlib.Path(out_dir) / name
        (seq_dir / "det").mkdir(parents=True, exist_ok=True)
        (seq_dir / "gt").mkdir(parents=True, exist_ok=True)
        dets = Detections(frames=arrays["frames"], boxes=arrays["boxes"], scores=arrays["scores"])
        # Detections keeps frame order (already sorted), so line i of det.txt is row i.
        write_detections(seq_dir / "det" / "det.txt", dets)
        with atomic_open(seq_dir / FEATURES_FILE, "wb") as f:
            np.savez(f, features=arrays["features"])
        length = len(_frames(name, db[name]))
        if mot16_dir is not None:
            src = pathlib.Path(mot16_dir) / name
            for rel in ("gt/gt.txt", "seqinfo.ini"):
                if not (src / rel).is_file():
                    raise FileNotFoundError(f"{src / rel} not found (--mot16 is the MOT16 split)")
                shutil.copyfile(src / rel, seq_dir / rel)
        else:
            gt = sequence_arrays(name, db[name], "gt") if source == "det" else arrays
            write_gt(seq_dir / "gt" / "gt.txt", _ground_truth(gt))
            write_seqinfo(seq_dir, SequenceInfo(name, seq_dir, 30.0, length, None, None))
        written.append(seq_dir)
    return written


def _ground_truth(gt: dict[str, np.ndarray]) -> GroundTruth:
    k = len(gt["frames"])
    return GroundTruth(
        frames=gt["frames"],
        ids=gt["ids"].astype(np.int32),
        boxes=gt["boxes"],
        flags=np.ones(k, np.int32),
        classes=np.ones(k, np.int32),
        visibility=gt["vis"].astype(np.float32),
    )


def load_exercise_db(path: str | os.PathLike) -> Mapping:
    """The exercise's .pth db (torch.load, weights only: tensors, dicts and lists)."""
    from jaxmot.core.torch_io import torch_load

    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"db file not found: {path}")
    db = torch_load(path)
    if not isinstance(db, Mapping):
        raise ValueError(f"{path}: expected {{sequence name: frames}}, got {type(db).__name__}")
    return db


__all__ = [
    "BOX_SOURCES",
    "convert_exercise_db",
    "exercise_boxes_to_xywh",
    "load_exercise_db",
    "sequence_arrays",
]
