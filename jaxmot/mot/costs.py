"""Association costs shared by the motion trackers (`iou`, ByteTrack, BoT-SORT)."""

from __future__ import annotations

import functools

import numpy as np

from jaxmot.core import kalman
from jaxmot.core.kalman_bank import predicted_iou


def iou_cost(mean, cov, track_inputs, det_inputs, motion=kalman.XYAH):
    """[C, B] 1 - IoU between predicted track boxes (mean [C, 8], in `motion`'s layout)
    and padded detections."""
    del cov, track_inputs
    return 1.0 - predicted_iou(mean, det_inputs["boxes_xyxy"], motion)


# One scorer per Kalman state (LifecycleConfig.motion), built once: the scorer is a
# static argument of the jitted step, so a fresh partial per frame would recompile.
IOU_COSTS = {
    name: functools.partial(iou_cost, motion=model) for name, model in kalman.MOTION_MODELS.items()
}


def fuse_score(iou_distance: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ByteTrack's matching.fuse_score: 1 - IoU * score. iou_distance [N, M] (1 - IoU),
    scores [M] -> [N, M]."""
    return 1.0 - (1.0 - iou_distance) * scores[None, :]
