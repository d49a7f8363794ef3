"""MOTChallenge evaluation preprocessing (official devkit / TrackEval MotChallenge2DBox).

MOT16/17/20 ground truth labels every box with a class and a 'consider' flag. Before
scoring, per frame:

1. every tracker box is matched to ALL gt boxes (any class, any flag) by Hungarian
   assignment on IoU, keeping only pairs with IoU >= 0.5;
2. tracker boxes matched to a gt box of a distractor class (2 person on vehicle,
   7 static person, 8 distractor, 12 reflection) are removed: they are neither TP nor FP;
3. only gt boxes of class 1 (pedestrian) with a non-zero flag are kept.

MOT15 ground truth has no classes (class -1 everywhere): it is used as it is, except that
rows with flag 0 are dropped (as TrackEval does).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from jaxmot.core.eval.frames import iou_xywh
from jaxmot.core.mot_io import GroundTruth, TrackResults

PEDESTRIAN_CLASS = 1
DISTRACTOR_CLASSES = (2, 7, 8, 12)
MATCH_IOU = 0.5
# TrackEval compares against 0.5 - eps, so an IoU of exactly 0.5 (up to rounding) matches.
_EPS = np.finfo(float).eps


def preprocess_sequence(gt: GroundTruth, results: TrackResults) -> tuple[GroundTruth, TrackResults]:
    """Apply the MOTChallenge preprocessing (module docstring) to one sequence.

    Args:
      gt: the sequence's ground truth, all classes and flags.
      results: the tracker's output.

    Returns:
      (gt_kept, results_kept): pedestrian gt to score against, and the tracker rows that
      were not matched to distractors.
    """
    if not np.any(gt.classes != -1):
        return gt.select(gt.flags != 0), results

    keep_tracker = np.ones(len(results), bool)
    for f in results.frame_ids().tolist():
        gi, ti = gt.for_frame(f), results.for_frame(f)
        if len(gi) == 0:
            continue
        scores = iou_xywh(gt.boxes[gi], results.boxes[ti])
        scores[scores < MATCH_IOU - _EPS] = 0
        rows, cols = linear_sum_assignment(-scores)
        matched = scores[rows, cols] > _EPS
        rows, cols = rows[matched], cols[matched]
        distractor = np.isin(gt.classes[gi[rows]], DISTRACTOR_CLASSES)
        keep_tracker[ti[cols[distractor]]] = False

    gt_keep = (gt.flags != 0) & (gt.classes == PEDESTRIAN_CLASS)
    return gt.select(gt_keep), results.select(keep_tracker)
