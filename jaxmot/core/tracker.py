"""Per-frame inputs and outputs of online trackers, and their common base class."""

from __future__ import annotations

import abc
import dataclasses
from typing import ClassVar

import numpy as np

from jaxmot.core.lifecycle import LifecycleConfig, Track, TrackSet


@dataclasses.dataclass(frozen=True)
class FrameDetections:
    """One frame's detections.

    boxes: [M, 4] xywh pixels; scores: [M]; features: [M, D] appearance embeddings or
    None (appearance trackers need them).
    """

    boxes: np.ndarray
    scores: np.ndarray
    features: np.ndarray | None = None

    def __post_init__(self):
        boxes = np.asarray(self.boxes, np.float32)
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"boxes must be [M, 4] xywh, got shape {boxes.shape}")
        scores = np.asarray(self.scores, np.float32).reshape(-1)
        if len(scores) != len(boxes):
            raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
        if not np.isfinite(scores).all():
            bad = int(np.flatnonzero(~np.isfinite(scores))[0])
            raise ValueError(f"detection {bad} has a non-finite score: {scores[bad]}")
        if not np.isfinite(boxes).all():
            bad = int(np.flatnonzero(~np.isfinite(boxes).all(axis=1))[0])
            raise ValueError(f"detection {bad} has a non-finite box: {boxes[bad].tolist()}")
        if (boxes[:, 2:] <= 0).any():
            bad = int(np.flatnonzero((boxes[:, 2:] <= 0).any(axis=1))[0])
            raise ValueError(
                f"detection {bad} has non-positive width or height: {boxes[bad].tolist()}"
            )
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", scores)
        if self.features is not None:
            features = np.asarray(self.features, np.float32)
            if features.ndim != 2 or len(features) != len(boxes):
                raise ValueError(
                    f"features must be [{len(boxes)}, D] for {len(boxes)} boxes, "
                    f"got shape {features.shape}"
                )
            object.__setattr__(self, "features", features)

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls, dim: int | None = None) -> FrameDetections:
        features = None if dim is None else np.zeros((0, dim), np.float32)
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), features)


@dataclasses.dataclass(frozen=True)
class FrameTracks:
    """Active tracks after a frame: ids [K] int64, boxes [K, 4] xywh, scores [K]."""

    ids: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


class OnlineTracker(abc.ABC):
    """Frame-by-frame tracker: `update(detections) -> FrameTracks`.

    Subclasses implement `_associate`, which scores detections against the live tracks
    (one jitted call through `self.tracks.predict`) and returns the matches; the shared
    lifecycle (`TrackSet`) does the rest.
    """

    needs_features: ClassVar[bool] = False

    def __init__(self, lifecycle: LifecycleConfig, frame_rate: float = 30.0):
        self.lifecycle = lifecycle
        self.frame_rate = frame_rate
        self.tracks = TrackSet(lifecycle, frame_rate)

    def reset(self) -> None:
        """Forget every track (next `update` is frame 1 of a new sequence)."""
        self.tracks = TrackSet(self.lifecycle, self.frame_rate)

    def update(self, detections: FrameDetections) -> FrameTracks:
        if self.needs_features and detections.features is None:
            raise ValueError(
                f"{type(self).__name__} needs appearance features: pass "
                "FrameDetections(features=...) or run it through track_sequence with an extractor"
            )
        matches, new_dets = self._associate(detections)
        features = detections.features if self.needs_features else None
        active = self.tracks.step(detections.boxes, detections.scores, matches, new_dets, features)
        return self._report(active)

    @abc.abstractmethod
    def _associate(self, detections: FrameDetections) -> tuple[list[tuple[Track, int]], np.ndarray]:
        """Returns (track, detection index) matches and the indices that start new tracks."""

    def _report(self, active: list[Track]) -> FrameTracks:
        return FrameTracks(
            ids=np.fromiter((t.track_id for t in active), np.int64, len(active)),
            boxes=self.tracks.report_boxes(active),
            scores=np.fromiter((t.score for t in active), np.float32, len(active)),
        )
