"""Per-frame inputs and outputs of online trackers, and their common base class."""

from __future__ import annotations

import abc
import copy
import dataclasses
from typing import ClassVar

import numpy as np

from jaxmot.core.lifecycle import LifecycleConfig, Track, TrackSet


@dataclasses.dataclass(frozen=True)
class FrameDetections:
    """One frame's detections.

    boxes: [M, 4] xywh pixels; scores: [M]; features: [M, D] appearance embeddings or
    None (appearance trackers need them); classes: [M] int class ids or None.
    `FrameDetections.from_xyxy(...)` takes corner boxes, as detectors give them.
    """

    boxes: np.ndarray
    scores: np.ndarray
    features: np.ndarray | None = None
    classes: np.ndarray | None = None

    @classmethod
    def from_xyxy(cls, boxes, scores, features=None, classes=None) -> FrameDetections:
        """From [M, 4] (x1, y1, x2, y2) corner boxes."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        return cls(np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1), scores,
                   features, classes)  # fmt: skip

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
        if self.classes is not None:
            classes = np.asarray(self.classes).reshape(-1)
            if len(classes) != len(boxes):
                raise ValueError(f"{len(boxes)} boxes but {len(classes)} classes")
            object.__setattr__(self, "classes", classes.astype(np.int64))

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls, dim: int | None = None) -> FrameDetections:
        features = None if dim is None else np.zeros((0, dim), np.float32)
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), features)


@dataclasses.dataclass(frozen=True)
class FrameTracks:
    """Active tracks after a frame: ids [K] int64, boxes [K, 4] xywh, scores [K];
    detection_index [K] int64, the row of this frame's detections each track was matched
    to (or started from); classes [K] int64 (-1 where the detections had none)."""

    ids: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    detection_index: np.ndarray | None = None
    classes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def boxes_xyxy(self) -> np.ndarray:
        """[K, 4] (x1, y1, x2, y2)."""
        boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


class OnlineTracker(abc.ABC):
    """Frame-by-frame tracker: `update(detections) -> FrameTracks`.

    Subclasses implement `_associate`, which scores detections against the live tracks
    (one jitted call through `self.tracks.predict`) and returns the matches; the shared
    lifecycle (`TrackSet`) does the rest.
    """

    needs_features: ClassVar[bool] = False
    # Trackers that use appearance when detections carry it and work without it too
    # (BoT-SORT): their track memory keeps the features that are given.
    accepts_features: ClassVar[bool] = False
    # Trackers that look at the pixels themselves (camera-motion compensation) set this;
    # the sequence and source loops then pass each frame to `update(..., frame=...)`.
    needs_frames: ClassVar[bool] = False

    def __init__(self, lifecycle: LifecycleConfig, frame_rate: float = 30.0):
        self.lifecycle = lifecycle
        self.frame_rate = frame_rate
        self.reset()

    def reset(self) -> None:
        """Forget every track (next `update` is frame 1 of a new sequence)."""
        self.tracks = TrackSet(self.lifecycle, self.frame_rate)
        self._classes: dict[int, int] = {}  # track id -> class of its latest detection
        # Detections with classes: one copy of this tracker per class (below).
        self._per_class: dict[int, OnlineTracker] = {}
        self._frames = 0
        self.frame_image: np.ndarray | None = None  # this frame's pixels, when given

    def update(
        self,
        detections: FrameDetections | None = None,
        *,
        boxes=None,
        scores=None,
        classes=None,
        features=None,
        box_format: str = "xyxy",
        frame: np.ndarray | None = None,
    ) -> FrameTracks:
        """One frame: `update(FrameDetections(...))`, or the arrays themselves,
        `update(boxes=[M, 4], scores=[M], classes=[M], features=[M, D])` with boxes in
        `box_format` "xyxy" (corners, as detectors give them; the default) or "xywh".
        `frame` ([H, W, 3] uint8 RGB) is the image, for trackers that use it
        (`needs_frames`, e.g. camera-motion compensation); others ignore it.
        Returns the tracks reported this frame, with the detection each was matched to.
        """
        if detections is None:
            if boxes is None or scores is None:
                raise ValueError("update needs FrameDetections or boxes= and scores=")
            if box_format not in ("xyxy", "xywh"):
                raise ValueError(f"box_format must be 'xyxy' or 'xywh', got {box_format!r}")
            make = FrameDetections.from_xyxy if box_format == "xyxy" else FrameDetections
            detections = make(boxes, scores, features, classes)
        elif boxes is not None or scores is not None:
            raise ValueError("give FrameDetections or boxes= and scores=, not both")
        if self.needs_features and detections.features is None:
            raise ValueError(
                f"{type(self).__name__} needs appearance features: pass "
                "FrameDetections(features=...) or run it through track_sequence with an extractor"
            )
        self._frames += 1
        self.frame_image = frame
        if detections.classes is not None:
            return self._update_per_class(detections)
        return self._update_one(detections)

    def _update_one(self, detections: FrameDetections) -> FrameTracks:
        matches, new_dets = self._associate(detections)
        keeps_features = self.needs_features or self.accepts_features
        features = detections.features if keeps_features else None
        first_new = self.tracks.next_id
        active = self.tracks.step(detections.boxes, detections.scores, matches, new_dets, features)
        # Which detection each reported track took: matched ones from `matches`; new
        # tracks are numbered from `first_new` in the order of `new_dets`.
        source = {track.track_id: det for track, det in matches}
        source.update((first_new + k, int(det)) for k, det in enumerate(new_dets))
        index = np.fromiter((source[t.track_id] for t in active), np.int64, len(active))
        if detections.classes is not None:
            self._classes.update(
                (t.track_id, int(detections.classes[source[t.track_id]])) for t in active
            )
            if len(self._classes) > 2 * len(self.tracks.tracks) + 64:  # forget removed ids
                live = {t.track_id for t in self.tracks.tracks}
                self._classes = {i: c for i, c in self._classes.items() if i in live}
        out = self._report(active)
        if len(out) != len(active):  # a tracker's report may leave some active tracks out
            ids = np.fromiter((t.track_id for t in active), np.int64, len(active))
            index = index[np.isin(ids, out.ids)]
        if self._classes:
            classes = np.fromiter(
                (self._classes.get(int(i), -1) for i in out.ids), np.int64, len(out)
            )
        else:
            classes = np.full(len(out), -1, np.int64)
        return dataclasses.replace(out, detection_index=index, classes=classes)

    def _update_per_class(self, detections: FrameDetections) -> FrameTracks:
        """Association within each class (as boxmot's per-class mode): every class seen so
        far has its own copy of this tracker, stepped every frame (with no detections
        when the class has none, so its lost tracks age), all drawing ids from one
        counter, so ids are unique across classes and a track never takes a detection of
        another class. With a single class the result equals the class-less path."""
        classes = detections.classes
        for c in np.unique(classes).tolist():
            if c not in self._per_class:
                self._per_class[c] = self._class_copy()
        parts = []
        for c, member in self._per_class.items():
            rows = np.flatnonzero(classes == c)
            features = None if detections.features is None else detections.features[rows]
            subset = FrameDetections(detections.boxes[rows], detections.scores[rows], features)
            member.frame_image = self.frame_image
            out = member._update_one(subset)
            parts.append((out, rows[out.detection_index], np.full(len(out), c, np.int64)))
        if not parts:  # no class seen yet: nothing to track
            empty = np.zeros(0, np.int64)
            return FrameTracks(empty, np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                               empty, empty)  # fmt: skip
        outs, index, cls = zip(*parts, strict=True)
        return FrameTracks(
            ids=np.concatenate([o.ids for o in outs]),
            boxes=np.concatenate([np.asarray(o.boxes, np.float32).reshape(-1, 4) for o in outs]),
            scores=np.concatenate([o.scores for o in outs]),
            detection_index=np.concatenate(index),
            classes=np.concatenate(cls),
        )

    def _class_copy(self) -> OnlineTracker:
        """A fresh copy of this tracker (same settings and jitted scorers) for one class,
        numbering its tracks from this tracker's id counter and starting at this frame."""
        member = copy.copy(self)
        member.reset()
        member.tracks.ids = self.tracks.ids
        member.tracks.frame = self._frames - 1  # its next predict() is this frame
        return member

    @abc.abstractmethod
    def _associate(self, detections: FrameDetections) -> tuple[list[tuple[Track, int]], np.ndarray]:
        """Returns (track, detection index) matches and the indices that start new tracks."""

    def _report(self, active: list[Track]) -> FrameTracks:
        return FrameTracks(
            ids=np.fromiter((t.track_id for t in active), np.int64, len(active)),
            boxes=self.tracks.report_boxes(active),
            scores=np.fromiter((t.score for t in active), np.float32, len(active)),
        )
