"""The track lifecycle every online tracker in jaxmot shares.

States, as in JDE (Zhongdao/Towards-Realtime-MOT) and ByteTrack (ifzhang/ByteTrack):

  NEW ──(min_hits matches)──> TRACKED ──(miss)──> LOST ──(match)──> TRACKED
   │                                               │
   └─(miss)──> REMOVED <──(lost > max_lost frames)─┘

* A NEW track is confirmed after `min_hits` matches in total (its first detection
  counts). Tracks born in the first `min_hits` frames of a sequence start TRACKED, as
  SORT does, since no history exists yet to confirm them against. An unconfirmed
  track that misses a frame is removed at once. (FairMOT and ByteTrack confirm only
  frame-1 tracks at birth; JDE's `activate` confirms none, so it reports nothing on frame 1.)
* A LOST track is kept `int(max_lost * frame_rate / 30)` frames (the "track buffer",
  given at 30 fps; `scale_with_frame_rate=False` keeps it a frame count) and can be
  re-found with its old id; `max_lost = 0` removes a track at its first miss (as the
  ReIDHungarian tracker, `reid`, does).
* Only TRACKED tracks matched in the current frame are reported, with the box of the
  matched detection (`report_box="detection"`, as SORT's near-noiseless filter
  effectively does) or the corrected Kalman state (`"kalman"`, DeepSORT/JDE).
* Appearance memory per track: the mean of its last `feature_history` embeddings
  (LongTermReID, the `longterm` tracker), or an exponential moving average with
  `feature_momentum` (JDE, 0.9); both L2-normalised and kept in one [capacity, D] array
  by slot, so a tracker hands all track features to its jitted scorer without stacking.
"""

from __future__ import annotations

import collections
import dataclasses
import enum

import numpy as np

from jaxmot.core import boxes as box_ops
from jaxmot.core.kalman_bank import KalmanBank


class TrackState(enum.IntEnum):
    NEW = 0
    TRACKED = 1
    LOST = 2
    REMOVED = 3


@dataclasses.dataclass(frozen=True)
class LifecycleConfig:
    min_hits: int = 1  # matches before a new track is confirmed (SORT: 3)
    max_lost: int = 30  # frames at 30 fps a lost track is kept (JDE track_buffer 30)
    feature_history: int = 10  # embeddings averaged per track (LongTermReID: 10)
    feature_momentum: float | None = None  # EMA weight of the old feature (JDE: 0.9)
    # Drop the younger of a TRACKED and a LOST track whose predicted boxes overlap above this
    # IoU (JDE/ByteTrack: IoU distance < 0.15, i.e. IoU > 0.85). Unlike JDE it runs at the
    # start of a frame on predicted boxes, and pairs each tracked track with its single
    # most overlapping lost track.
    duplicate_iou: float | None = None
    report_box: str = "detection"  # "detection": the matched box; "kalman": the corrected state
    # Scale max_lost by frame_rate / 30 (JDE/ByteTrack: int(frame_rate / 30 * buffer));
    # off for trackers whose patience is a frame count (SORT's max_age).
    scale_with_frame_rate: bool = True

    def __post_init__(self):
        if self.min_hits < 1:
            raise ValueError(f"min_hits must be >= 1, got {self.min_hits}")
        if self.max_lost < 0:
            raise ValueError(f"max_lost must be >= 0, got {self.max_lost}")
        if self.report_box not in ("detection", "kalman"):
            raise ValueError(f"report_box must be 'detection' or 'kalman', got {self.report_box!r}")


@dataclasses.dataclass(eq=False)
class Track:
    track_id: int
    slot: int
    state: TrackState
    start_frame: int
    last_frame: int
    score: float
    detection_box: np.ndarray  # [4] xywh of the last matched detection
    hits: int = 1
    inactive: int = 0  # frames since the last match
    history: collections.deque = dataclasses.field(default_factory=collections.deque)

    @property
    def is_confirmed(self) -> bool:
        return self.state in (TrackState.TRACKED, TrackState.LOST)


class TrackSet:
    """Live tracks, their Kalman states (a KalmanBank) and appearance memory."""

    def __init__(self, config: LifecycleConfig, frame_rate: float = 30.0):
        self.config = config
        scale = frame_rate / 30.0 if config.scale_with_frame_rate else 1.0
        self.max_lost_frames = int(config.max_lost * scale)
        self.bank = KalmanBank()
        self.tracks: list[Track] = []
        self.frame = 0
        self.features: np.ndarray | None = None  # [capacity, D], by slot
        self._next_id = 1

    # -- queries ----------------------------------------------------------------------
    @property
    def next_id(self) -> int:
        """The id the next new track gets (`step` numbers new tracks in order)."""
        return self._next_id

    def with_state(self, *states: TrackState) -> list[Track]:
        return [t for t in self.tracks if t.state in states]

    def slots(self, tracks: list[Track]) -> np.ndarray:
        return np.fromiter((t.slot for t in tracks), np.int64, len(tracks))

    def boxes(self, tracks: list[Track]) -> np.ndarray:
        """[K, 4] xywh of the latest Kalman state (predicted, or corrected after a step)."""
        self.bank.flush()
        return self.bank.boxes[self.slots(tracks)]

    def report_boxes(self, tracks: list[Track]) -> np.ndarray:
        """[K, 4] xywh boxes to report for tracks matched this frame (`report_box`)."""
        if self.config.report_box == "kalman":
            return self.boxes(tracks)
        return np.array([t.detection_box for t in tracks], np.float32).reshape(-1, 4)

    def slot_features(self, dim: int) -> np.ndarray:
        """[capacity, D] L2-normalised track features by slot (zeros where none)."""
        if self.features is not None and self.features.shape[1] != dim and self.tracks:
            raise ValueError(
                f"appearance features changed size from {self.features.shape[1]} to {dim} "
                "during a sequence (reset the tracker between sequences)"
            )
        if self.features is None or self.features.shape[1] != dim:
            self.features = np.zeros((self.bank.capacity, dim), np.float32)
        elif self.features.shape[0] < self.bank.capacity:
            grown = np.zeros((self.bank.capacity, dim), np.float32)
            grown[: self.features.shape[0]] = self.features
            self.features = grown
        return self.features

    # -- one frame --------------------------------------------------------------------
    def predict(self, scorer=None, track_inputs=None, det_inputs=None):
        """Start a frame: motion step of every live track; returns the scorer's [C, B] cost."""
        self.frame += 1
        dedup = self.config.duplicate_iou is not None
        cost = self.bank.predict(scorer, track_inputs, det_inputs, with_overlap=dedup)
        if dedup:
            self._remove_duplicates(self.config.duplicate_iou)
        return cost

    def step(
        self,
        boxes_xywh: np.ndarray,
        scores: np.ndarray,
        matches: list[tuple[Track, int]],
        new_detections: np.ndarray,
        features: np.ndarray | None = None,
    ) -> list[Track]:
        """Apply one frame's association and return the tracks to report.

        Args:
          boxes_xywh: [M, 4] this frame's detections; scores: [M].
          matches: (track, detection index) pairs.
          new_detections: [K] indices of detections that start new tracks.
          features: [M, D] detection embeddings, or None.

        Returns:
          TRACKED tracks matched in this frame, in id order.
        """
        cfg = self.config
        matched = set()
        update_slots, update_dets = [], []
        for track, det in matches:
            matched.add(track.track_id)
            track.hits += 1
            track.inactive = 0
            track.last_frame = self.frame
            track.score = float(scores[det])
            track.detection_box = boxes_xywh[det]
            if track.state == TrackState.LOST or (
                track.state == TrackState.NEW and track.hits >= cfg.min_hits
            ):
                track.state = TrackState.TRACKED
            self.bank.lost[track.slot] = False
            update_slots.append(track.slot)
            update_dets.append(det)
            if features is not None:
                self._remember(track, features[det])

        for track in self.tracks:
            if track.track_id in matched:
                continue
            track.inactive += 1
            if track.state == TrackState.NEW or track.inactive > self.max_lost_frames:
                track.state = TrackState.REMOVED
            else:
                track.state = TrackState.LOST
                self.bank.lost[track.slot] = True

        init_slots = []
        for det in new_detections:
            slot = self.bank.allocate()
            born_confirmed = cfg.min_hits <= 1 or self.frame <= cfg.min_hits
            track = Track(
                track_id=self._next_id,
                slot=slot,
                state=TrackState.TRACKED if born_confirmed else TrackState.NEW,
                start_frame=self.frame,
                last_frame=self.frame,
                score=float(scores[det]),
                detection_box=boxes_xywh[det],
                history=collections.deque(maxlen=cfg.feature_history),
            )
            self._next_id += 1
            self.tracks.append(track)
            init_slots.append(slot)
            if features is not None:
                self._remember(track, features[det], reset=True)

        # One conversion for the rows used: updates first, then new tracks.
        used = np.concatenate(
            [np.asarray(update_dets, np.int64), np.asarray(new_detections, np.int64)]
        )
        xyah = box_ops.xywh_to_xyah(np.asarray(boxes_xywh, np.float32)[used])
        k = len(update_dets)
        self.bank.correct(
            np.asarray(update_slots, np.int64), xyah[:k], np.asarray(init_slots, np.int64), xyah[k:]
        )
        for track in self.tracks:
            if track.state == TrackState.REMOVED:
                self.bank.release(track.slot)
        self.tracks = [t for t in self.tracks if t.state != TrackState.REMOVED]
        return [t for t in self.tracks if t.state == TrackState.TRACKED and t.inactive == 0]

    # -- helpers ----------------------------------------------------------------------
    def _remember(self, track: Track, feature: np.ndarray, reset: bool = False) -> None:
        feature = np.array(feature, np.float32)  # a copy: callers may reuse their buffer
        table = self.slot_features(feature.shape[-1])
        momentum = self.config.feature_momentum
        if reset:
            track.history.clear()
        if momentum is not None and not reset:
            smooth = momentum * table[track.slot] + (1 - momentum) * _normalise(feature)
        else:
            track.history.append(feature)
            smooth = np.mean(track.history, axis=0) if momentum is None else feature
        table[track.slot] = _normalise(smooth)

    def _remove_duplicates(self, iou_threshold: float) -> None:
        best_iou, partner = self.bank.overlap  # computed with the prediction, on device
        candidates = np.flatnonzero(best_iou > iou_threshold)
        if not len(candidates):
            return
        by_slot = {t.slot: t for t in self.tracks}
        for slot in candidates:
            a, b = by_slot.get(int(slot)), by_slot.get(int(partner[slot]))
            if a is None or b is None or a.state != TrackState.TRACKED:
                continue
            # Keep the track followed for longer (JDE remove_duplicate_stracks).
            # On a tie JDE drops the tracked one.
            younger = a if (a.last_frame - a.start_frame) <= (b.last_frame - b.start_frame) else b
            younger.state = TrackState.REMOVED
        for track in self.tracks:
            if track.state == TrackState.REMOVED:
                self.bank.release(track.slot)
        self.tracks = [t for t in self.tracks if t.state != TrackState.REMOVED]


def _normalise(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x)
    return x / norm if norm > 0 else x
