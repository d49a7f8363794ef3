"""Perfect association inside the shared lifecycle: the ceiling of any association model.

The oracle knows the ground-truth identity of every detection and matches a live track
to the detection of its own identity; false positives (id < 0) start tracks that never
match again. Everything else is the lifecycle the other trackers share: tracks are
reported from their first detection (`min_hits` 1) and forgotten after `patience`
frames without a match (at 30 fps), so a person who stays undetected for longer comes
back under a new id even here.

What it measures: on the same detections, no tracker with this lifecycle can have fewer
identity errors, so `oracle IDF1 - longterm IDF1` bounds how far any learned association
can get ahead of `longterm` at that patience. It is a diagnostic for labelled detections
(`jaxmot.gnn.data`), not a tracker for real input.

Identities travel as the detections' one-column "features" ([K, 1] float32, see
`identity_features`), so the oracle runs through `track_sequence` like any appearance
tracker.
"""

from __future__ import annotations

import numpy as np

from jaxmot.core.lifecycle import LifecycleConfig, TrackState
from jaxmot.core.tracker import FrameDetections, OnlineTracker


def identity_features(ids: np.ndarray) -> np.ndarray:
    """[K] int gt identities (< 0: false positive) -> [K, 1] float32 oracle input."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"identities must be a [K] integer array, got {ids.dtype} {ids.shape}")
    if len(ids) and np.abs(ids).max() >= 2**24:  # float32 holds integers exactly below 2^24
        raise ValueError(f"identities must lie in (-2^24, 2^24), got up to {np.abs(ids).max()}")
    return ids.astype(np.float32)[:, None]


class OracleTracker(OnlineTracker):
    """Ground-truth association with the shared lifecycle (module doc)."""

    needs_features = True

    def __init__(self, patience: int = 20, frame_rate: float = 30.0):
        if patience < 1:
            raise ValueError(f"patience must be >= 1 frame, got {patience}")
        # feature_history 1: the lifecycle's appearance memory is unused here.
        super().__init__(LifecycleConfig(min_hits=1, max_lost=patience - 1, feature_history=1),
                         frame_rate)  # fmt: skip
        self._identity: dict[int, int] = {}  # track id -> gt identity

    def reset(self) -> None:
        super().reset()
        self._identity = {}

    def _associate(self, detections: FrameDetections):
        self.tracks.predict()
        if detections.features.shape[1] != 1:
            raise ValueError(
                "the oracle takes one identity per detection ([M, 1], `identity_features`), "
                f"got features of shape {detections.features.shape}"
            )
        ids = detections.features[:, 0].astype(np.int64)
        live = {}
        for track in self.tracks.with_state(TrackState.NEW, TrackState.TRACKED, TrackState.LOST):
            identity = self._identity[track.track_id]
            if identity >= 0:
                live[identity] = track
        matches, new = [], []
        for j, identity in enumerate(ids):
            track = live.pop(int(identity), None) if identity >= 0 else None
            if track is None:
                new.append(j)
            else:
                matches.append((track, j))
        for k, j in enumerate(new):
            self._identity[self.tracks.next_id + k] = int(ids[j])
        return matches, np.asarray(new, np.int64)


__all__ = ["OracleTracker", "identity_features"]
