"""Online trackers: one shared lifecycle (`TrackSet`) around jitted scorers.

`make_tracker(name, frame_rate)` builds one by name:
  iou       Kalman + Hungarian on IoU (SORT-like, motion only)
  sort      the same with SORT's own settings (min_hits 3, max_age 1), for comparison
  reid      ReIDHungarian: appearance cost gated by IoU, unmatched tracks die at once
  longterm  LongTermReID: lost tracks wait 20 frames and are re-identified by appearance
  gnn       a learned GNN scores tracks against detections (boxes, time, appearance);
            lost tracks wait the patience tuned for the model
  jde       JDETracker: embedding EMA + Kalman-gated fused cost, then IoU (JDE's three stages)
"""

from __future__ import annotations

import dataclasses

from jaxmot.trackers.base import FrameDetections, FrameTracks, OnlineTracker
from jaxmot.trackers.iou_tracker import IoUTracker, IoUTrackerConfig, sort_config
from jaxmot.trackers.jde_tracker import JDETracker, JDETrackerConfig
from jaxmot.trackers.lifecycle import LifecycleConfig, Track, TrackSet, TrackState
from jaxmot.trackers.reid_tracker import (
    ReIDTracker,
    ReIDTrackerConfig,
    longterm_config,
    reid_config,
)
from jaxmot.trackers.sequence import TrackingRun, track_frames, track_sequence


def _with_gate(config: ReIDTrackerConfig, gate: float | None) -> ReIDTrackerConfig:
    return config if gate is None else dataclasses.replace(config, appearance_gate=float(gate))


def _longterm(frame_rate: float, gate: float | None, patience: int | None) -> OnlineTracker:
    config = longterm_config() if patience is None else longterm_config(patience)
    return ReIDTracker(_with_gate(config, gate), frame_rate)


def _factories():
    return {
        "iou": lambda fr, gate: IoUTracker(IoUTrackerConfig(), fr),
        "sort": lambda fr, gate: IoUTracker(sort_config(), fr),
        "reid": lambda fr, gate: ReIDTracker(_with_gate(reid_config(), gate), fr),
        # JDE's 0.7 bounds a fused cost, not a cosine distance: the gate does not apply.
        "jde": lambda fr, gate: JDETracker(JDETrackerConfig(), fr),
    }


def _gnn_tracker(frame_rate: float, checkpoint=None, patience: int | None = None) -> OnlineTracker:
    from jaxmot.models.gnn_checkpoint import load_gnn_model
    from jaxmot.trackers.gnn_tracker import GNNTracker, gnn_tracker_config

    config = gnn_tracker_config(checkpoint, patience)
    return GNNTracker(load_gnn_model(checkpoint), config, frame_rate=frame_rate)


TRACKER_NAMES = ("iou", "sort", "reid", "longterm", "gnn", "jde")
PATIENCE_TRACKERS = ("longterm", "gnn")


def make_tracker(
    name: str,
    frame_rate: float = 30.0,
    *,
    appearance_gate: float | None = None,
    gnn_checkpoint=None,
    patience: int | None = None,
) -> OnlineTracker:
    """A tracker with its default config by name (see TRACKER_NAMES).

    appearance_gate: the largest cosine distance an appearance tracker accepts as a
      match; None keeps the config's default. Use the extractor's tuned gate
      (`gate_of(extractor)`); motion-only trackers, `jde` and `gnn` ignore it.
    gnn_checkpoint: the exported GNN model `gnn` loads (default: the one shipped in
      checkpoints/, trained on simulated embeddings; checkpoints/gnn_synthetic_reid is
      trained on the shipped ReID model's features). Other trackers ignore it.
    patience: frames (at 30 fps) a lost track is kept, for `longterm` (default 20, the
      course's) and `gnn` (default: the patience train_gnn tuned for the checkpoint,
      else 20); the other trackers keep their published lifecycles and reject it.
    """
    if name not in TRACKER_NAMES:
        raise ValueError(f"unknown tracker {name!r}; choose one of {', '.join(TRACKER_NAMES)}")
    if appearance_gate is not None and not appearance_gate > 0:
        raise ValueError(f"appearance_gate must be > 0, got {appearance_gate}")
    if patience is not None:
        if name not in PATIENCE_TRACKERS:
            raise ValueError(f"patience applies to {' and '.join(PATIENCE_TRACKERS)}, not {name}")
        if patience < 1:
            raise ValueError(f"patience must be >= 1 frame, got {patience}")
    if name == "gnn":
        return _gnn_tracker(frame_rate, gnn_checkpoint, patience)
    if name == "longterm":
        return _longterm(frame_rate, appearance_gate, patience)
    return _factories()[name](frame_rate, appearance_gate)


__all__ = [
    "PATIENCE_TRACKERS",
    "TRACKER_NAMES",
    "FrameDetections",
    "FrameTracks",
    "IoUTracker",
    "IoUTrackerConfig",
    "JDETracker",
    "JDETrackerConfig",
    "LifecycleConfig",
    "OnlineTracker",
    "ReIDTracker",
    "ReIDTrackerConfig",
    "Track",
    "TrackSet",
    "TrackState",
    "TrackingRun",
    "longterm_config",
    "make_tracker",
    "reid_config",
    "sort_config",
    "track_frames",
    "track_sequence",
]
