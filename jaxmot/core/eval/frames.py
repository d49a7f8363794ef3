"""Per-frame pairing of ground truth and tracker output, shared by all metrics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jaxmot.core.boxes import iou_matrix, xywh_to_xyxy
from jaxmot.core.mot_io import GroundTruth, TrackResults


def iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU [N, M] float64 of xywh boxes a [N, 4] and b [M, 4].

    Float64 on purpose: the metric libraries we match (py-motmetrics, TrackEval) read the
    text files as float64, and a near-0.5 IoU must fall on the same side of the threshold.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    return np.asarray(iou_matrix(xywh_to_xyxy(a), xywh_to_xyxy(b)))


@dataclass(frozen=True)
class FramePair:
    """One frame: gt ids [N] int64, tracker ids [M] int64 and their IoU [N, M] float64."""

    frame: int
    gt_ids: np.ndarray
    tracker_ids: np.ndarray
    iou: np.ndarray


def _check_unique(ids: np.ndarray, frame: int, what: str, name: str) -> None:
    uniq, counts = np.unique(ids, return_counts=True)
    if np.any(counts > 1):
        dup = int(uniq[np.argmax(counts > 1)])
        raise ValueError(f"{name}: frame {frame} has {what} id {dup} more than once")


def frame_pairs(
    gt: GroundTruth, results: TrackResults, frames: np.ndarray, name: str = "sequence"
) -> list[FramePair]:
    """Pair gt and results frame by frame over `frames` (sorted ints).

    Raises ValueError when an id appears twice in one frame (the metrics assume one box
    per id and frame).
    """
    pairs = []
    for f in frames.tolist():
        gi, ti = gt.for_frame(f), results.for_frame(f)
        gt_ids, tr_ids = gt.ids[gi].astype(np.int64), results.ids[ti].astype(np.int64)
        _check_unique(gt_ids, f, "gt", name)
        _check_unique(tr_ids, f, "tracker", name)
        pairs.append(FramePair(f, gt_ids, tr_ids, iou_xywh(gt.boxes[gi], results.boxes[ti])))
    return pairs
