"""Association costs shared by the motion trackers (`iou`, ByteTrack, BoT-SORT)."""

from __future__ import annotations

import numpy as np

from jaxmot.core import kalman
from jaxmot.core.kalman_bank import predicted_iou


def iou_cost(mean, cov, track_inputs, det_inputs):
    """[C, B] 1 - IoU between predicted track boxes (mean [C, 8], xyah) and padded
    detections."""
    del cov, track_inputs
    return 1.0 - predicted_iou(mean, det_inputs["boxes_xyxy"], kalman.XYAH)


def iou_cost_xywh(mean, cov, track_inputs, det_inputs):
    """iou_cost for the xywh Kalman state (LifecycleConfig.motion="xywh")."""
    del cov, track_inputs
    return 1.0 - predicted_iou(mean, det_inputs["boxes_xyxy"], kalman.XYWH)


IOU_COSTS = {"xyah": iou_cost, "xywh": iou_cost_xywh}


def fuse_score(iou_distance: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ByteTrack's matching.fuse_score: 1 - IoU * score. iou_distance [N, M] (1 - IoU),
    scores [M] -> [N, M]."""
    return 1.0 - (1.0 - iou_distance) * scores[None, :]
