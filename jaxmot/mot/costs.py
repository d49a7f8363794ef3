"""Association costs shared by the motion trackers (`iou`, ByteTrack, BoT-SORT)."""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from jaxmot.core import boxes as box_ops
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


def buffered_iou_cost(mean, cov, track_inputs, det_inputs, motion=kalman.XYAH):
    """[K, C, B] 1 - buffered IoU (C-BIoU) between predicted track boxes (mean [C, 8])
    and padded detections, both grown by each of det_inputs["buffers"] [K]
    (box_ops.buffered_xyxy): boxes that do not overlap but lie close still score. The
    buffers are traced values: changing them never recompiles."""
    del cov, track_inputs
    tracks, detections = motion.boxes_xyxy(mean), det_inputs["boxes_xyxy"]
    buffers = det_inputs["buffers"]
    costs = []
    for k in range(buffers.shape[0]):
        grow = functools.partial(box_ops.buffered_xyxy, scale=buffers[k])
        costs.append(1.0 - box_ops.iou_matrix(grow(tracks), grow(detections)))
    return jnp.stack(costs)


BUFFERED_IOU_COSTS = {
    name: functools.partial(buffered_iou_cost, motion=model)
    for name, model in kalman.MOTION_MODELS.items()
}


def fuse_score(iou_distance: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ByteTrack's matching.fuse_score: 1 - IoU * score. iou_distance [N, M] (1 - IoU),
    scores [M] -> [N, M]."""
    return 1.0 - (1.0 - iou_distance) * scores[None, :]
