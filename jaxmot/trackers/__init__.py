"""Online trackers: one shared lifecycle (`TrackSet`) around jitted scorers.

`make_tracker(name, frame_rate)` builds one by name:
  iou       Kalman + Hungarian on IoU (SORT-like, motion only)
  sort      the same with SORT's own settings (min_hits 3, max_age 1), for comparison
  reid      ReIDHungarian: appearance cost gated by IoU, unmatched tracks die at once
  longterm  LongTermReID: lost tracks wait 20 frames and are re-identified by appearance
  gnn       a learned GNN scores tracks against detections (boxes, time, appearance)
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


def _factories():
    return {
        "iou": lambda fr, gate: IoUTracker(IoUTrackerConfig(), fr),
        "sort": lambda fr, gate: IoUTracker(sort_config(), fr),
        "reid": lambda fr, gate: ReIDTracker(_with_gate(reid_config(), gate), fr),
        "longterm": lambda fr, gate: ReIDTracker(_with_gate(longterm_config(), gate), fr),
        # JDE's 0.7 bounds a fused cost, not a cosine distance: the gate does not apply.
        "jde": lambda fr, gate: JDETracker(JDETrackerConfig(), fr),
    }


def _gnn_tracker(frame_rate: float, checkpoint=None) -> OnlineTracker:
    from jaxmot.models.gnn_checkpoint import load_gnn_model
    from jaxmot.trackers.gnn_tracker import GNNTracker

    return GNNTracker(load_gnn_model(checkpoint), frame_rate=frame_rate)


TRACKER_NAMES = (*_factories(), "gnn")


def make_tracker(
    name: str,
    frame_rate: float = 30.0,
    *,
    appearance_gate: float | None = None,
    gnn_checkpoint=None,
) -> OnlineTracker:
    """A tracker with its default config by name (see TRACKER_NAMES).

    appearance_gate: the largest cosine distance an appearance tracker accepts as a
      match; None keeps the config's default. Use the extractor's tuned gate
      (`gate_of(extractor)`); motion-only trackers, `jde` and `gnn` ignore it.
    gnn_checkpoint: the exported GNN model `gnn` loads (default: the one shipped in
      checkpoints/, trained on simulated embeddings; checkpoints/gnn_synthetic_reid is
      trained on the shipped ReID model's features). Other trackers ignore it.
    """
    if name not in TRACKER_NAMES:
        raise ValueError(f"unknown tracker {name!r}; choose one of {', '.join(TRACKER_NAMES)}")
    if appearance_gate is not None and not appearance_gate > 0:
        raise ValueError(f"appearance_gate must be > 0, got {appearance_gate}")
    if name == "gnn":
        return _gnn_tracker(frame_rate, gnn_checkpoint)
    return _factories()[name](frame_rate, appearance_gate)


__all__ = [
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
