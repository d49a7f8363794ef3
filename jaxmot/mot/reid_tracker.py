"""Appearance trackers: ReIDHungarian and LongTermReID from a tracking teaching exercise.

"The exercise" below means that exercise's reference code (see docs/mot.md).

* `reid` (ReIDHungarian): cost = cosine distance between the track's and the
  detection's embeddings; pairs whose IoU is below `iou_gate` or whose distance is above
  `appearance_gate` are never matched; unmatched tracks die at once.
* `longterm` (LongTermReID): the same, but an unmatched track becomes LOST and is kept
  while `inactive <= patience` frames (20), re-identified by appearance when it comes
  back. As in the exercise, patience is a frame count at any frame rate. A track's
  feature is the mean of its last 10 embeddings.

Difference from the exercise, on purpose: boxes of tracks are Kalman predictions,
not the last detection, and a LOST track is gated by the Kalman gating distance (chi2
95%, growing with the time it has been lost) rather than by IoU with its last box,
which after a few frames of motion would forbid re-identification altogether.
"""

from __future__ import annotations

import dataclasses
import warnings

import jax.numpy as jnp
import numpy as np

from jaxmot.core import kalman
from jaxmot.core.assignment import linear_assignment
from jaxmot.core.kalman_bank import (
    appearance_distance,
    detection_inputs,
    gating_distance,
    predicted_iou,
)
from jaxmot.core.lifecycle import LifecycleConfig, TrackState, exercise_lifecycle
from jaxmot.core.padding import bucket_size
from jaxmot.core.tracker import FrameDetections, OnlineTracker

UNMATCHED_COST = 255.0  # the exercise's marker for forbidden pairs


@dataclasses.dataclass(frozen=True)
class ReIDTrackerConfig:
    iou_gate: float = 0.5  # as the exercise: pairs with IoU < 0.5 are not matched
    appearance_gate: float = 0.5  # largest cosine distance of a match
    gate_lost_by_motion: bool = True  # LOST tracks: Kalman gating instead of IoU
    lifecycle: LifecycleConfig = LifecycleConfig(min_hits=1, max_lost=0)


def reid_config() -> ReIDTrackerConfig:
    """ReIDHungarian: unmatched tracks die at once (patience 0)."""
    return ReIDTrackerConfig(lifecycle=exercise_lifecycle(0))


def longterm_config(patience: int = 20) -> ReIDTrackerConfig:
    """LongTermReID: a track is kept while `inactive <= patience` (20 in the exercise) frames."""
    return ReIDTrackerConfig(lifecycle=exercise_lifecycle(patience))


def reid_cost(mean, cov, track_inputs, det_inputs):
    """[C, B] gated appearance cost.

    track_inputs: features [C, D] (L2-normalised), lost [C] bool.
    det_inputs: boxes_xyxy [B, 4], features [B, D], iou_gate, appearance_gate, motion_gate
    (scalars; bool motion_gate chooses Kalman gating for lost tracks).
    """
    det_xyxy = det_inputs["boxes_xyxy"]
    distance = appearance_distance(track_inputs["features"], det_inputs["features"])
    near = predicted_iou(mean, det_xyxy) >= det_inputs["iou_gate"]
    in_gate = gating_distance(mean, cov, det_xyxy) <= kalman.CHI2_95_4DOF
    use_motion = track_inputs["lost"][:, None] & det_inputs["motion_gate"]
    allowed = jnp.where(use_motion, in_gate, near) & (distance <= det_inputs["appearance_gate"])
    return jnp.where(allowed, distance, UNMATCHED_COST)


class ReIDTracker(OnlineTracker):
    needs_features = True

    def __init__(self, config: ReIDTrackerConfig = ReIDTrackerConfig(), frame_rate: float = 30.0):
        super().__init__(config.lifecycle, frame_rate)
        self.config = config

    def _associate(self, detections: FrameDetections):
        m = len(detections)
        size = bucket_size(m)
        features = detections.features
        if m and not features.any(axis=1).all():
            warnings.warn(
                "some detections have all-zero embeddings (e.g. crops outside the frame): "
                "they can never be matched and start new tracks",
                stacklevel=3,
            )
        cfg = self.config
        det_inputs = {
            **detection_inputs(detections.boxes, features, size),
            "iou_gate": np.float32(cfg.iou_gate),
            "appearance_gate": np.float32(cfg.appearance_gate),
            "motion_gate": np.bool_(cfg.gate_lost_by_motion),
        }
        track_features = self.tracks.slot_features(features.shape[1])
        track_inputs = {"features": track_features, "lost": self.tracks.bank.lost}
        cost = self.tracks.predict(reid_cost, track_inputs, det_inputs)
        candidates = self.tracks.with_state(TrackState.NEW, TrackState.TRACKED, TrackState.LOST)
        sub = cost[self.tracks.slots(candidates)][:, :m]
        pairs, _, unmatched = linear_assignment(sub, cfg.appearance_gate)
        return [(candidates[i], int(j)) for i, j in pairs], unmatched
