"""Online trackers: one shared lifecycle (`TrackSet`) around jitted scorers.

`make_tracker(name, frame_rate)` builds one by name:
  iou       Kalman + Hungarian on IoU (SORT-like, motion only)
  sort      the same with SORT's own settings (min_hits 3, max_age 1), for comparison
  reid      ReIDHungarian: appearance cost gated by IoU, unmatched tracks die at once
  longterm  LongTermReID: lost tracks wait 20 frames and are re-identified by appearance
"""

from __future__ import annotations

from jaxmot.trackers.base import FrameDetections, FrameTracks, OnlineTracker
from jaxmot.trackers.iou_tracker import IoUTracker, IoUTrackerConfig, sort_config
from jaxmot.trackers.lifecycle import LifecycleConfig, Track, TrackSet, TrackState
from jaxmot.trackers.reid_tracker import (
    ReIDTracker,
    ReIDTrackerConfig,
    longterm_config,
    reid_config,
)
from jaxmot.trackers.sequence import TrackingRun, track_sequence


def _factories():
    return {
        "iou": lambda fr: IoUTracker(IoUTrackerConfig(), fr),
        "sort": lambda fr: IoUTracker(sort_config(), fr),
        "reid": lambda fr: ReIDTracker(reid_config(), fr),
        "longterm": lambda fr: ReIDTracker(longterm_config(), fr),
    }


TRACKER_NAMES = tuple(_factories())


def make_tracker(name: str, frame_rate: float = 30.0) -> OnlineTracker:
    """A tracker with its default config by name (see TRACKER_NAMES)."""
    factories = _factories()
    if name not in factories:
        raise ValueError(f"unknown tracker {name!r}; choose one of {', '.join(factories)}")
    return factories[name](frame_rate)


__all__ = [
    "TRACKER_NAMES",
    "FrameDetections",
    "FrameTracks",
    "IoUTracker",
    "IoUTrackerConfig",
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
    "track_sequence",
]
