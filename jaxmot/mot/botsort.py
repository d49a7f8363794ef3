"""BoT-SORT (Aharon et al., 2022) on the shared lifecycle.

As NirAharon/BoT-SORT tracker/bot_sort.py (BoTSORT.update), with the MOT17 settings of
its tools/track.py:

* ByteTrack's three association stages (jaxmot.mot.bytetrack.byte_associate) with
  high split `track_high_thresh` 0.6 (strictly above), low floor `track_low_thresh` 0.1,
  new tracks from `new_track_thresh` 0.7, first stage cost <= `match_thresh` 0.8, second
  stage 1 - IoU <= 0.5, unconfirmed tracks <= 0.7; the first-stage and unconfirmed
  costs fused with the detection score (`fuse_score`, the original's `not mot20`).
* Kalman state with width and height (xywh filter, noise proportional to w and h;
  jaxmot.core.kalman, `LifecycleConfig.motion="xywh"`); lost tracks stop growing (vw,
  vh zeroed before their prediction); the corrected Kalman box is reported.
* Camera-motion compensation: the frame-to-frame affine (jaxmot.mot.cmc, sparse
  optical flow by default, ECC an option) is applied to every live track's mean and
  covariance after the prediction, inside the frame's jitted call. Without images
  (`update(..., frame=None)`, or a sequence without img1/) it is the identity.
* Appearance, when the detections carry features (FrameDetections.features): each
  track keeps an exponential moving average of its L2-normalised embeddings (weight
  0.9 on the old one); for the first stage and the unconfirmed tracks, the cosine
  distance halved is set to 1 where it exceeds `appearance_thresh` 0.25 or where the
  IoU distance exceeds `proximity_thresh` 0.5, and the cost is the smaller of it and
  the (fused) IoU cost. Without features the tracker is motion-only (the original's
  default, --with-reid off).

Defaults elsewhere, for comparison (docs/mot.md): the original's demo (tools/demo.py)
has the same thresholds, ORB for camera motion, and fuses scores only with --fuse-score;
its GMC class defaults to sparse optical flow at downscale 2; its tools/track.py MOT17
run uses precomputed camera motion ("file") and per-sequence thresholds with
--default-parameters. boxmot 25's BotSort class: track_high 0.5, new_track 0.6, ECC,
no score fusion in the first stage (fuse_first_associate=False); its botsort.yaml: high
0.63, new 0.62, buffer 40, match 0.77, second 0.29, unconfirmed 0.41, sparse flow, fused.

Track management is ByteTrack's (jaxmot.mot.bytetrack.byte_lifecycle: unconfirmed
tracks are not predicted but are moved by the camera motion, only frame-1 tracks are
confirmed at birth, duplicates checked on the frame's final boxes). Differences from the
original: duplicate removal pairs each tracked track with its most overlapping lost one
(the original checks every pair); the original reports every tracked track including
those born in this frame (its `output_stracks` keeps unconfirmed ones, the is_activated
filter is commented out), jaxmot reports confirmed tracks only, as ByteTrack and boxmot's
BotSort do; ECC keeps its reference frame current (jaxmot.mot.cmc).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from jaxmot.core import boxes as box_ops
from jaxmot.core import kalman
from jaxmot.core.kalman_bank import appearance_distance, predicted_iou
from jaxmot.core.lifecycle import LifecycleConfig
from jaxmot.core.padding import bucket_size, pad_rows
from jaxmot.core.tracker import FrameDetections, OnlineTracker
from jaxmot.mot.bytetrack import ByteStages, byte_associate, byte_lifecycle
from jaxmot.mot.cmc import CMC_METHODS, CameraMotion


def botsort_lifecycle(**overrides) -> LifecycleConfig:
    """ByteTrack's track management with the xywh filter and the embedding EMA (0.9)."""
    return byte_lifecycle(**{"motion": "xywh", "feature_momentum": 0.9, **overrides})


@dataclasses.dataclass(frozen=True)
class BoTSortConfig:
    """BoT-SORT's MOT17 defaults (tools/track.py, GMC's sparse optical flow)."""

    track_high_thresh: float = 0.6
    track_low_thresh: float = 0.1
    new_track_thresh: float = 0.7
    match_thresh: float = 0.8
    second_match_thresh: float = 0.5
    unconfirmed_match_thresh: float = 0.7
    proximity_thresh: float = 0.5  # IoU distance above which appearance is not trusted
    appearance_thresh: float = 0.25  # halved cosine distance above which it is not used
    fuse_score: bool = True  # the original's `not args.mot20`
    cmc_method: str = "sparseOptFlow"  # or "ecc", "none"
    cmc_downscale: int = 2  # GMC's default
    lifecycle: LifecycleConfig = dataclasses.field(default_factory=botsort_lifecycle)

    def __post_init__(self):
        if self.cmc_method not in CMC_METHODS:
            raise ValueError(f"cmc_method must be one of {CMC_METHODS}, got {self.cmc_method!r}")
        if self.lifecycle.motion != "xywh":
            raise ValueError(
                "BoT-SORT compensates camera motion: its lifecycle needs motion='xywh'"
            )
        self.stages  # noqa: B018 (validates the thresholds)

    @property
    def stages(self) -> ByteStages:
        return ByteStages(
            high_thresh=self.track_high_thresh,
            low_thresh=self.track_low_thresh,
            new_track_thresh=self.new_track_thresh,
            match_thresh=self.match_thresh,
            second_match_thresh=self.second_match_thresh,
            unconfirmed_match_thresh=self.unconfirmed_match_thresh,
        )


def botsort_cost(mean, cov, track_inputs, det_inputs):
    """[2, C, B]: the first-stage / unconfirmed cost and the plain 1 - IoU.

    mean [C, 8] in the xywh layout. det_inputs: boxes_xyxy [B, 4], scores [B], fuse
    (bool scalar), proximity and appearance thresholds (scalars) and, with appearance,
    features [B, D]; track_inputs: None, or features [C, D] (L2-normalised EMA).
    """
    del cov
    iou_distance = 1.0 - predicted_iou(mean, det_inputs["boxes_xyxy"], kalman.XYWH)
    fused = 1.0 - (1.0 - iou_distance) * det_inputs["scores"][None, :]
    first = jnp.where(det_inputs["fuse"], fused, iou_distance)
    if "features" in det_inputs:
        emb = appearance_distance(track_inputs["features"], det_inputs["features"]) / 2.0
        emb = jnp.where(emb > det_inputs["appearance_thresh"], 1.0, emb)
        emb = jnp.where(iou_distance > det_inputs["proximity_thresh"], 1.0, emb)
        first = jnp.minimum(first, emb)
    return jnp.stack([first, iou_distance])


class BoTSortTracker(OnlineTracker):
    """BoT-SORT: `BoTSortTracker(BoTSortConfig(), frame_rate)`; module doc for the rules.

    `update(detections, frame=image)` compensates camera motion with the image
    ([H, W, 3] uint8 RGB); appearance is fused when the detections carry features.
    """

    needs_frames = True
    accepts_features = True

    def __init__(self, config: BoTSortConfig = BoTSortConfig(), frame_rate: float = 30.0):
        self.config = config  # before the base class: reset() builds the CMC from it
        super().__init__(config.lifecycle, frame_rate)
        self._stages = config.stages

    def reset(self) -> None:
        super().reset()
        self.cmc = CameraMotion(self.config.cmc_method, self.config.cmc_downscale)

    def _associate(self, detections: FrameDetections):
        cfg = self.config
        m = len(detections)
        size = bucket_size(m)
        det_inputs = {
            "boxes_xyxy": pad_rows(box_ops.xywh_to_xyxy(detections.boxes), size),
            "scores": pad_rows(detections.scores, size),
            "fuse": np.bool_(cfg.fuse_score),
            "proximity_thresh": np.float32(cfg.proximity_thresh),
            "appearance_thresh": np.float32(cfg.appearance_thresh),
        }
        track_inputs = None
        if detections.features is not None:
            det_inputs["features"] = pad_rows(detections.features, size)
            track_inputs = {"features": self.tracks.slot_features(detections.features.shape[1])}
        warp = self.cmc.apply(self.frame_image)
        costs = self.tracks.predict(botsort_cost, track_inputs, det_inputs, warp=warp)
        first, iou_distance = costs[0][:, :m], costs[1][:, :m]
        return byte_associate(self.tracks, first, iou_distance, detections.scores, self._stages)
