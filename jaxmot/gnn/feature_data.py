"""Training the GNN on one's own appearance features: labelled detections from files.

A feature dataset is a folder of sequence folders, `DATA_DIR/<seq>/`, each with

  gt/gt.txt      MOTChallenge ground truth (`frame,id,x,y,w,h,flag,class,visibility`)
  det/det.txt    the detector's boxes (`frame,-1,x,y,w,h,score,...`)
  features.npz   `features [L, D]`: row i is the appearance feature of data line i of
                 det/det.txt (the by-line form `pipelines.track --features` reads,
                 jaxmot.core.features)
  seqinfo.ini    optional (frame rate, image size; 30 fps assumed without it)

`read_feature_sequence` reads one and labels every detection with the gt identity it
overlaps best (`label_detections`): per frame, the matching of detections to gt boxes
with IoU >= 0.5 that maximises the summed IoU surplus over 0.5 (Hungarian, the
thresholded `linear_assignment` of jaxmot.core), first against the pedestrians the
evaluation counts (flag 1, class 1 in MOT16/17, any class in MOT15), then the leftover
detections against the other gt boxes (static people, reflections, distractors...:
objects with an identity that the evaluation ignores). A detection matched to nothing
is a false positive (id -1). Its visibility is that of its gt row (1 for false positives
and where gt has none), so the training samples get the visibility filter of
jaxmot.gnn.data where gt records visibility. The labelled detections then go through the
same sample construction as the simulated ones (jaxmot.gnn.data.AssociationBatches).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import zipfile

import numpy as np

from jaxmot.core.assignment import linear_assignment
from jaxmot.core.atomic import atomic_open
from jaxmot.core.boxes import iou_matrix, xywh_to_xyxy
from jaxmot.core.features import load_line_features
from jaxmot.core.mot_io import (
    Detections,
    GroundTruth,
    MOTSequence,
    read_sequence,
    write_detections,
    write_seqinfo,
)
from jaxmot.gnn.data import LabelledDetections

FEATURES_FILE = "features.npz"
MIN_IOU = 0.5  # a detection belongs to a gt box it overlaps at least this much


def pedestrian_rows(gt: GroundTruth) -> np.ndarray:
    """[G] bool: the rows the evaluation counts (flag 1; class 1, or -1 in MOT15)."""
    return (gt.flags == 1) & ((gt.classes == 1) | (gt.classes == -1))


def label_detections(
    dets: Detections, gt: GroundTruth, min_iou: float = MIN_IOU
) -> tuple[np.ndarray, np.ndarray]:
    """The gt identity of every detection (module doc: pedestrians first, then the rest).

    Args:
      dets: K detections (boxes xywh).
      gt: the sequence's ground truth (boxes xywh).
      min_iou: the smallest IoU of a labelled pair.

    Returns:
      ids [K] int32 (-1: false positive), visibility [K] float32 (the matched gt row's;
      1 for false positives and for gt without visibility).
    """
    ids = np.full(len(dets), -1, np.int32)
    vis = np.ones(len(dets), np.float32)
    if not len(dets) or not len(gt):
        return ids, vis
    ped = pedestrian_rows(gt)
    det_boxes = xywh_to_xyxy(dets.boxes.astype(np.float64))
    gt_boxes = xywh_to_xyxy(gt.boxes.astype(np.float64))
    det_bounds = np.searchsorted(dets.frames, np.unique(dets.frames), side="left")
    for start in det_bounds:
        frame = dets.frames[start]
        rows = np.arange(start, np.searchsorted(dets.frames, frame, side="right"))
        lo, hi = np.searchsorted(gt.frames, [frame, frame + 1])
        frame_gt = np.arange(lo, hi)
        for group in (frame_gt[ped[frame_gt]], frame_gt[~ped[frame_gt]]):
            free = rows[ids[rows] < 0]
            if not len(free) or not len(group):
                continue
            iou = iou_matrix(det_boxes[free], gt_boxes[group])
            pairs, _, _ = linear_assignment(1.0 - iou, 1.0 - min_iou)
            d, g = free[pairs[:, 0]], group[pairs[:, 1]]
            ids[d] = gt.ids[g]
            vis[d] = np.where(gt.visibility[g] < 0, 1.0, gt.visibility[g])
    return ids, vis


def _require(path: pathlib.Path, what: str) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: a feature sequence folder needs {what}")


def read_feature_sequence(seq_dir: str | os.PathLike) -> tuple[MOTSequence, LabelledDetections]:
    """A feature sequence folder (module doc) -> (the sequence with its gt and detections,
    its detections labelled by `label_detections`, with their features [K, D]).

    Raises FileNotFoundError for a missing folder or file and ValueError (naming the
    file) for a features.npz that does not fit det.txt (row count, non-finite values).
    """
    seq_dir = pathlib.Path(seq_dir)
    if not seq_dir.is_dir():
        raise FileNotFoundError(f"feature sequence folder not found: {seq_dir}")
    _require(seq_dir / "gt" / "gt.txt", "gt/gt.txt")
    _require(seq_dir / "det" / "det.txt", "det/det.txt")
    _require(seq_dir / FEATURES_FILE, f"{FEATURES_FILE} (one row per det/det.txt line)")
    dets, features = load_line_features(seq_dir / FEATURES_FILE, seq_dir)
    sequence = read_sequence(seq_dir)
    ids, vis = label_detections(dets, sequence.gt)
    labelled = LabelledDetections(
        sequence.info.name, dets.frames, dets.boxes, dets.scores, ids, vis, features
    )
    return MOTSequence(info=sequence.info, detections=dets, gt=sequence.gt), labelled


def write_feature_sequence(
    seq_dir: str | os.PathLike, source: MOTSequence, dets: Detections, features
) -> pathlib.Path:
    """Write a feature sequence folder: `dets` as det/det.txt, `features` [K, D] (row k
    for detection k) as features.npz, and the gt/gt.txt of `source` (a sequence read
    from disk) copied, with its seqinfo.ini (or one written from its info)."""
    features = np.asarray(features, np.float32)
    if features.ndim != 2 or len(features) != len(dets):
        raise ValueError(f"features must be [{len(dets)}, D], got shape {features.shape}")
    gt_path = source.info.path / "gt" / "gt.txt"
    _require(gt_path, "gt/gt.txt")
    seq_dir = pathlib.Path(seq_dir)
    (seq_dir / "det").mkdir(parents=True, exist_ok=True)
    (seq_dir / "gt").mkdir(parents=True, exist_ok=True)
    # Detections are sorted by frame and written in that order: line k is row k.
    write_detections(seq_dir / "det" / "det.txt", dets)
    with atomic_open(seq_dir / FEATURES_FILE, "wb") as f:
        np.savez(f, features=features)
    shutil.copyfile(gt_path, seq_dir / "gt" / "gt.txt")
    if (source.info.path / "seqinfo.ini").is_file():
        shutil.copyfile(source.info.path / "seqinfo.ini", seq_dir / "seqinfo.ini")
    else:
        write_seqinfo(seq_dir, source.info)
    return seq_dir


def feature_dim(seq_dirs: list[str | os.PathLike]) -> int:
    """The size D of the features in the sequences' features.npz files (read from the
    array header only); a ValueError naming the files when they disagree."""
    dims = {}
    for seq_dir in seq_dirs:
        path = pathlib.Path(seq_dir) / FEATURES_FILE
        _require(path, f"{FEATURES_FILE} (one row per det/det.txt line)")
        dims[path] = _npz_shape(path, "features")
    bad = {p: s for p, s in dims.items() if len(s) != 2}
    if bad:
        path, shape = next(iter(bad.items()))
        raise ValueError(f"{path}: 'features' has shape {shape}, expected [lines, D]")
    sizes = {shape[1] for shape in dims.values()}
    if len(sizes) != 1:
        listed = ", ".join(f"{p}: {s[1]}" for p, s in dims.items())
        raise ValueError(f"the sequences' features differ in size D ({listed}); one model, one D")
    return sizes.pop()


def _npz_shape(path: pathlib.Path, key: str) -> tuple[int, ...]:
    """The shape of array `key` in an .npz, from its .npy header (no data read)."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(f"{key}.npy") as f:
            major, _ = np.lib.format.read_magic(f)
            if major == 1:
                shape, _, _ = np.lib.format.read_array_header_1_0(f)
            else:  # 2.0 (3.0 only changes the header's text encoding)
                shape, _, _ = np.lib.format.read_array_header_2_0(f)
    except KeyError:
        raise ValueError(f"{path}: missing array '{key}'") from None
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable .npz features file ({err})") from err
    return tuple(shape)


__all__ = [
    "FEATURES_FILE",
    "MIN_IOU",
    "feature_dim",
    "label_detections",
    "pedestrian_rows",
    "read_feature_sequence",
    "write_feature_sequence",
]
