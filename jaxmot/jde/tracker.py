"""JDE's online tracker (Wang et al., "Towards Real-Time Multi-Object Tracking", ECCV 2020;
official code: Zhongdao/Towards-Realtime-MOT).

Every frame, one jitted call (`jde_costs`, through `TrackSet.predict`) moves every
track's Kalman state one frame and scores all tracks against all detections; the three
Hungarian stages then run on sub-matrices of that [2, C, B] result on the host:

  1. confirmed tracks (TRACKED and LOST) by the fused cost
       0.98 * Euclidean distance of the embeddings + 0.02 * Kalman gating distance,
     set to inf where the gating distance exceeds chi2(0.95, 4 dof) = 9.4877, at 0.7.
     The official matching.embedding_distance calls `cdist(track_features,
     det_features)` with no metric, i.e. Euclidean, since commit c408261 (2020-01-29),
     the version behind the README's MOT16 figures. On unit vectors d = sqrt(2 - 2 cos),
     so with a zero gating term the 0.7 gate admits cos >= 0.745 (Euclidean) where the
     cosine distance would admit cos >= 0.286; `embedding_metric="cosine"` is the option;
  2. the TRACKED tracks left over, by IoU distance (1 - IoU of the Kalman-predicted box
     and the detection), at 0.5 (LOST tracks are only ever re-found by appearance);
  3. unconfirmed (NEW) tracks by IoU distance at 0.7; a NEW track that misses is removed
     (the shared lifecycle does that);
  4. detections still left that score >= conf_threshold start NEW tracks.

A track's embedding is an exponential moving average (old weight 0.9, renormalised),
lost tracks are kept `int(frame_rate / 30 * 30)` frames, and a tracked track that
overlaps a lost one above IoU 0.85 is a duplicate: the younger one goes. Reported boxes
are the corrected Kalman states, less those of area <= 200 px^2 or w / h > 1.6, which
the official track.py drops when it writes results (the tracks themselves live on).

Where this differs from the official tracker/multitracker.py and tracker/matching.py:

* Confirmation at birth. The official STrack.activate never confirms a track (its
  `is_activated = True` is commented out), so nothing is reported in frame 1 and every
  track needs a second match; FairMOT and ByteTrack confirm frame-1 tracks. The shared
  lifecycle confirms (and reports) tracks born in the first `min_hits` (here 2) frames
  of a sequence.
* Unconfirmed tracks' boxes are Kalman-predicted here, while the official code matches
  them with their last corrected box. A NEW track lives exactly one frame before it is
  confirmed or removed and starts with zero velocity, so both boxes are the same.
* Duplicate removal runs at the start of the next frame on predicted boxes and pairs
  each TRACKED track with its single most overlapping LOST track (LifecycleConfig
  duplicate_iou); the official code runs it at the end of the frame, on all pairs, with
  unconfirmed tracks among the tracked ones.
* Detections below `conf_threshold`: the official detector drops them before NMS, so the
  tracker never sees them. Precomputed detections may hold them: they can be matched in
  every stage but never start a track (`--min-score 0.5` reproduces the official input).
* IoU is continuous (`ops.boxes.iou_matrix`); cython_bbox adds 1 to widths and heights.
* Hungarian steps use `ops.assignment.linear_assignment` (lap's `cost_limit`
  semantics); the official sklearn call clips costs to threshold + 1e-4 and drops pairs
  above the threshold, which picks the same matching except between near-ties (1e-4).
* Embeddings are compared in float32 on the device (official: float64 with scipy), and
  an all-zero embedding gets distance 1 (official: division by zero, then NaN).
* A LOST track re-found reports the new detection's score (official re_activate keeps
  the old one).
"""

from __future__ import annotations

import dataclasses

import jax
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
from jaxmot.core.lifecycle import LifecycleConfig, Track, TrackState
from jaxmot.core.padding import bucket_size
from jaxmot.core.tracker import FrameDetections, FrameTracks, OnlineTracker

# Official defaults: track.py arguments and the constants of tracker/multitracker.py.
JDE_LIFECYCLE = LifecycleConfig(
    min_hits=2,  # a new track is unconfirmed until its second match
    max_lost=30,  # --track-buffer, at 30 fps
    feature_momentum=0.9,  # STrack.alpha
    duplicate_iou=0.85,  # remove_duplicate_stracks: IoU distance < 0.15
    report_box="kalman",  # STrack.tlwh is the Kalman state
    # JDETracker.__init__: buffer_size = int(frame_rate / 30.0 * track_buffer).
    frame_rate_rounding="floor",
)


EMBEDDING_METRICS = ("euclidean", "cosine")


def embedding_distance(track_features, det_features, euclidean) -> jax.Array:
    """[C, B] distance of each track's embedding to each detection's.

    track_features [C, D] are L2-normalised (zero rows for free slots); det_features
    [B, D] any norm, normalised here (zero rows for padding stay zero). `euclidean` (a
    traced bool, so switching does not recompile): |t - d|, else the cosine distance
    1 - <t, d>; both clipped at 0 as matching.embedding_distance does.
    """
    cosine = appearance_distance(track_features, det_features)
    # |t - d|^2 = |t|^2 + |d|^2 - 2 <t, d> = 2 - 2 <t, d> for unit vectors. Free slots
    # and padded detections (zero rows) get distance 1, as under the cosine distance.
    present = (jnp.linalg.norm(track_features, axis=-1) > 0)[:, None] & (
        jnp.linalg.norm(det_features, axis=-1) > 0
    )[None, :]
    euclid = jnp.where(present, jnp.sqrt(jnp.maximum(2.0 * cosine, 0.0)), 1.0)
    return jnp.maximum(0.0, jnp.where(euclidean, euclid, cosine))


@dataclasses.dataclass(frozen=True)
class JDETrackerConfig:
    """JDETracker's settings; every default is the official one (see the module doc)."""

    conf_threshold: float = 0.5  # --conf-thres: new tracks only from scores >= this
    embedding_threshold: float = 0.7  # stage 1: largest fused cost of a match
    iou_threshold: float = 0.5  # stage 2: largest IoU distance (TRACKED tracks)
    unconfirmed_threshold: float = 0.7  # stage 3: largest IoU distance (NEW tracks)
    # fuse_motion's lambda_: cost = w * embedding distance + (1 - w) * gating distance.
    embedding_weight: float = 0.98
    # matching.embedding_distance: cdist's default metric (module doc); "cosine": 1 - cos.
    embedding_metric: str = "euclidean"
    gating_threshold: float = kalman.CHI2_95_4DOF  # chi2inv95[4]: larger = never matched
    min_box_area: float = 200.0  # --min-box-area: reported boxes need w * h > this
    max_aspect: float = 1.6  # track.py: reported boxes with w / h > this are dropped
    lifecycle: LifecycleConfig = JDE_LIFECYCLE

    def __post_init__(self):
        for name in ("embedding_threshold", "iou_threshold", "unconfirmed_threshold"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"JDETrackerConfig.{name} must be > 0, got {value}")
        if not 0.0 <= self.embedding_weight <= 1.0:
            raise ValueError(
                f"JDETrackerConfig.embedding_weight must be in [0, 1], got {self.embedding_weight}"
            )
        if self.embedding_metric not in EMBEDDING_METRICS:
            raise ValueError(
                f"JDETrackerConfig.embedding_metric must be one of {EMBEDDING_METRICS}, "
                f"got {self.embedding_metric!r}"
            )
        if not self.gating_threshold > 0:
            raise ValueError(
                f"JDETrackerConfig.gating_threshold must be > 0, got {self.gating_threshold}"
            )
        if not self.max_aspect > 0:
            raise ValueError(f"JDETrackerConfig.max_aspect must be > 0, got {self.max_aspect}")


def jde_costs(mean, cov, track_inputs, det_inputs):
    """Both of JDE's cost matrices for every slot and every (padded) detection.

    Args:
      mean: [C, 8] predicted Kalman means; cov: [C, 3, 4] covariance blocks (ops.kalman).
      track_inputs: features [C, D] (L2-normalised EMA embeddings, zeros for free slots).
      det_inputs: boxes_xyxy [B, 4], features [B, D] (any norm; zero rows for padding),
        embedding_weight and gating_threshold (scalars, traced so that changing them
        does not recompile).

    Returns:
      [2, C, B]: [0] the fused embedding cost, inf where the gating distance exceeds
      the threshold; [1] the IoU distance 1 - IoU of predicted track box and detection.
    """
    det_xyxy = jnp.asarray(det_inputs["boxes_xyxy"])
    distance = embedding_distance(
        track_inputs["features"], jnp.asarray(det_inputs["features"]), det_inputs["euclidean"]
    )
    gating = gating_distance(mean, cov, det_xyxy)
    weight = det_inputs["embedding_weight"]
    fused = weight * distance + (1.0 - weight) * gating
    fused = jnp.where(gating > det_inputs["gating_threshold"], jnp.inf, fused)
    iou = predicted_iou(mean, det_xyxy)
    return jnp.stack([fused, 1.0 - iou])


class JDETracker(OnlineTracker):
    """JDE's association (module doc) on the shared lifecycle; needs embeddings."""

    needs_features = True

    def __init__(self, config: JDETrackerConfig = JDETrackerConfig(), frame_rate: float = 30.0):
        super().__init__(config.lifecycle, frame_rate)
        self.config = config

    def _associate(self, detections: FrameDetections):
        cfg = self.config
        m = len(detections)
        size = bucket_size(m)
        features = detections.features
        det_inputs = {
            **detection_inputs(detections.boxes, features, size),
            "embedding_weight": np.float32(cfg.embedding_weight),
            "gating_threshold": np.float32(cfg.gating_threshold),
            "euclidean": np.bool_(cfg.embedding_metric == "euclidean"),
        }
        track_inputs = {"features": self.tracks.slot_features(features.shape[1])}
        costs = self.tracks.predict(jde_costs, track_inputs, det_inputs)[:, :, :m]
        embedding_cost, iou_distance = costs[0], costs[1]

        # Stage 1: appearance (gated by motion) over confirmed tracks.
        confirmed = self.tracks.with_state(TrackState.TRACKED, TrackState.LOST)
        pairs, rest, left = linear_assignment(
            embedding_cost[self.tracks.slots(confirmed)], cfg.embedding_threshold
        )
        matches = [(confirmed[i], int(j)) for i, j in pairs]
        # Stage 2: overlap, for tracks that were followed until the last frame.
        tracked = [confirmed[i] for i in rest if confirmed[i].state == TrackState.TRACKED]
        more, left = self._match_by_iou(iou_distance, tracked, left, cfg.iou_threshold)
        matches += more
        # Stage 3: overlap, for tracks seen once (they miss: the lifecycle removes them).
        unconfirmed = self.tracks.with_state(TrackState.NEW)
        more, left = self._match_by_iou(iou_distance, unconfirmed, left, cfg.unconfirmed_threshold)
        matches += more
        # Stage 4: confident leftovers start tracks.
        new = left[detections.scores[left] >= cfg.conf_threshold]
        return matches, new

    def _match_by_iou(
        self, iou_distance: np.ndarray, tracks: list[Track], dets: np.ndarray, threshold: float
    ) -> tuple[list[tuple[Track, int]], np.ndarray]:
        """Hungarian on iou_distance [C, M] rows of `tracks` x columns `dets`.

        Returns the matches (as detection indices of the frame) and the detections left.
        """
        sub = iou_distance[self.tracks.slots(tracks)][:, dets]
        pairs, _, left = linear_assignment(sub, threshold)
        return [(tracks[i], int(dets[j])) for i, j in pairs], dets[left]

    def _report(self, active: list[Track]) -> FrameTracks:
        out = super()._report(active)
        w, h = out.boxes[:, 2], out.boxes[:, 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            # As track.py: area > min_box_area and not w / h > max_aspect.
            keep = (w * h > self.config.min_box_area) & ~(w / h > self.config.max_aspect)
        if keep.all():
            return out
        return FrameTracks(ids=out.ids[keep], boxes=out.boxes[keep], scores=out.scores[keep])


__all__ = [
    "EMBEDDING_METRICS",
    "JDE_LIFECYCLE",
    "JDETracker",
    "JDETrackerConfig",
    "embedding_distance",
    "jde_costs",
]
