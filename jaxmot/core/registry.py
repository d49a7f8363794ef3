"""Trackers and appearance extractors by name, resolved lazily.

Systems never import each other (see tests/core/test_layout.py); a program that lets a
user choose a tracker or an extractor by name goes through here. Each entry names the
module that builds it, imported only when that name is asked for, so importing this
module loads no system.

Trackers (`make_tracker(name, frame_rate)`):
  iou       Kalman + Hungarian on IoU (SORT-like, motion only)            jaxmot.mot
  sort      the same with SORT's own settings (min_hits 3, max_age 1)     jaxmot.mot
  reid      appearance cost gated by IoU, unmatched tracks die at once    jaxmot.mot
  longterm  lost tracks wait 20 frames and are re-identified by appearance jaxmot.mot
  gnn       a learned GNN scores tracks against detections; lost tracks
            wait the patience tuned for the model                        jaxmot.gnn
  jde       JDE's embedding EMA + Kalman-gated fused cost, then IoU       jaxmot.jde
  bytetrack ByteTrack with its own defaults                               jaxmot.mot
  ocsort    OC-SORT: observation-centric re-update, momentum, recovery    jaxmot.mot
  botsort   BoT-SORT: xywh Kalman, camera-motion compensation, optional
            appearance fusion                                             jaxmot.mot

Extractors (`make_extractor(name)`): `histogram` (colour histograms, training-free,
jaxmot.mot) and `reid` (the learned ReID network, jaxmot.reid; default: the shipped model).
"""

from __future__ import annotations

import dataclasses
import importlib

from jaxmot.core.extractor import FeatureExtractor
from jaxmot.core.tracker import OnlineTracker

# Tracker name -> (module under jaxmot, class): the class says what the tracker needs.
_TRACKER_CLASSES = {
    "iou": ("mot.iou_tracker", "IoUTracker"),
    "sort": ("mot.iou_tracker", "IoUTracker"),
    "reid": ("mot.reid_tracker", "ReIDTracker"),
    "longterm": ("mot.reid_tracker", "ReIDTracker"),
    "gnn": ("gnn.tracker", "GNNTracker"),
    "jde": ("jde.tracker", "JDETracker"),
    "bytetrack": ("mot.bytetrack", "ByteTracker"),
    "ocsort": ("mot.ocsort", "OCSortTracker"),
    "botsort": ("mot.botsort", "BoTSortTracker"),
}
TRACKER_NAMES = tuple(_TRACKER_CLASSES)
PATIENCE_TRACKERS = ("longterm", "gnn")
EXTRACTORS = ("reid", "histogram")


def _check_tracker_name(name: str) -> None:
    if name not in TRACKER_NAMES:
        raise ValueError(f"unknown tracker {name!r}; choose one of {', '.join(TRACKER_NAMES)}")


def _module(name: str):
    return importlib.import_module(f"jaxmot.{name}")


def _reid_family(name: str, frame_rate: float, gate: float | None, patience: int | None):
    mod = _module("mot.reid_tracker")
    if name == "longterm":
        config = mod.longterm_config() if patience is None else mod.longterm_config(patience)
    else:
        config = mod.reid_config()
    if gate is not None:
        config = dataclasses.replace(config, appearance_gate=float(gate))
    return mod.ReIDTracker(config, frame_rate)


def _build(name: str, frame_rate: float, gate, gnn_checkpoint, patience) -> OnlineTracker:
    if name == "iou":
        mod = _module("mot.iou_tracker")
        return mod.IoUTracker(mod.IoUTrackerConfig(), frame_rate)
    if name == "sort":
        mod = _module("mot.iou_tracker")
        return mod.IoUTracker(mod.sort_config(), frame_rate)
    if name in ("reid", "longterm"):
        return _reid_family(name, frame_rate, gate, patience)
    if name in ("bytetrack", "ocsort", "botsort"):  # each with its reference's defaults
        module, cls = _TRACKER_CLASSES[name]
        return getattr(_module(module), cls)(frame_rate=frame_rate)
    if name == "gnn":
        tracker = _module("gnn.tracker")
        model = _module("gnn.checkpoint").load_gnn_model(gnn_checkpoint)
        config = tracker.gnn_tracker_config(gnn_checkpoint, patience)
        return tracker.GNNTracker(model, config, frame_rate=frame_rate)
    # JDE's 0.7 bounds a fused cost, not a cosine distance: the gate does not apply.
    mod = _module("jde.tracker")
    return mod.JDETracker(mod.JDETrackerConfig(), frame_rate)


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
    gnn_checkpoint: the exported GNN model `gnn` loads (default: the shipped
      gnn_mot17_sim, trained on simulated embeddings). Other trackers ignore it.
    patience: frames a lost track is kept (while inactive <= patience, at any frame
      rate), for `longterm` (default 20) and
      `gnn` (default: the patience train_gnn tuned for the checkpoint, else 20); the
      other trackers keep their published lifecycles and reject it.
    """
    _check_tracker_name(name)
    if appearance_gate is not None and not appearance_gate > 0:
        raise ValueError(f"appearance_gate must be > 0, got {appearance_gate}")
    if patience is not None:
        if name not in PATIENCE_TRACKERS:
            raise ValueError(f"patience applies to {' and '.join(PATIENCE_TRACKERS)}, not {name}")
        if patience < 1:
            raise ValueError(f"patience must be >= 1 frame, got {patience}")
    return _build(name, frame_rate, appearance_gate, gnn_checkpoint, patience)


def needs_features(name: str) -> bool:
    """Whether the tracker `name` needs appearance features, known before building it
    (a program picks the extractor first, then builds the tracker once)."""
    _check_tracker_name(name)
    module, cls = _TRACKER_CLASSES[name]
    return bool(getattr(_module(module), cls).needs_features)


def make_extractor(name: str, checkpoint=None) -> FeatureExtractor:
    """An appearance extractor by name (see EXTRACTORS); `checkpoint` for `reid`."""
    if name == "histogram":
        return _module("mot.histogram").ColorHistogramExtractor()
    if name == "reid":
        return _module("reid.extractor").ReIDExtractor.from_checkpoint(checkpoint)
    raise ValueError(f"unknown appearance extractor {name!r}; choose one of {EXTRACTORS}")


__all__ = [
    "EXTRACTORS",
    "PATIENCE_TRACKERS",
    "TRACKER_NAMES",
    "make_extractor",
    "make_tracker",
    "needs_features",
]
