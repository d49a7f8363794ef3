"""The track lifecycle every online tracker in jaxmot shares.

States, as in JDE (Zhongdao/Towards-Realtime-MOT) and ByteTrack (ifzhang/ByteTrack):

  NEW ──(min_hits matches)──> TRACKED ──(miss)──> LOST ──(match)──> TRACKED
   │                                               │
   └─(miss)──> REMOVED <──(lost > max_lost frames)─┘

* A NEW track is confirmed after `min_hits` matches in total (its first detection
  counts). Tracks born in the first `min_hits` frames of a sequence start TRACKED, as
  SORT does, since no history exists yet to confirm them against
  (`birth_confirmed_frames` sets another count: FairMOT, ByteTrack and BoT-SORT confirm
  only frame-1 tracks at birth, 1; JDE's `activate` confirms none, so it reports nothing
  on frame 1). An unconfirmed track that misses a frame is removed at once.
* A LOST track is kept while `inactive <= max_lost_frames` and can be re-found with its
  old id; `max_lost = 0` removes a track at its first miss (as the ReIDHungarian
  tracker, `reid`, does). `max_lost` is the "track buffer" given at 30 fps and scaled to
  the sequence's frame rate (`scale_with_frame_rate=False` keeps it a frame count, as
  SORT's max_age and the tracking exercise's patience are). The scaled buffer is
  rounded by `frame_rate_rounding`:
    "round" (default): to the nearest frame, halves up, and at least 1 when max_lost > 0,
      so a positive buffer never becomes 0 at a low frame rate (20 at 14 fps: 9; at
      25 fps: 17; at 1 fps: 1);
    "floor": `int(frame_rate / 30 * max_lost)`, JDE's and ByteTrack's own rule (their
      `buffer_size`), which ByteTrack-style trackers (`jde`) keep to match the originals
      (20 at 14 fps: 9; at 25 fps: 16; at 1 fps: 0, a track dies at its first miss).
* Only TRACKED tracks matched in the current frame are reported, with the box of the
  matched detection (`report_box="detection"`, as SORT's near-noiseless filter
  effectively does) or the corrected Kalman state (`"kalman"`, DeepSORT/JDE; computed
  on the host from the gains of the frame's one jitted call, `KalmanBank.corrected_boxes`).
* Appearance memory per track: the mean of its last `feature_history` embeddings
  (LongTermReID, the `longterm` tracker), or an exponential moving average with
  `feature_momentum` (JDE, 0.9); both L2-normalised and kept in one [capacity, D] array
  by slot, so a tracker hands all track features to its jitted scorer without stacking.
* Motion model (`motion`): "xyah", DeepSORT's Kalman filter (the default), or "xywh",
  BoT-SORT's (width and height with their velocities; jaxmot.core.kalman).
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import math

import numpy as np

from jaxmot.core.kalman import MOTION_MODELS
from jaxmot.core.kalman_bank import KalmanBank

FRAME_RATE_ROUNDINGS = ("round", "floor")


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
    # Drop the younger of a TRACKED and a LOST track whose boxes overlap above this IoU
    # (JDE/ByteTrack: IoU distance < 0.15, i.e. IoU > 0.85). Unlike JDE it runs at the
    # start of a frame, on the boxes `duplicate_boxes` names, and pairs each tracked track
    # with its single most overlapping lost track.
    duplicate_iou: float | None = None
    # Which boxes the duplicate check compares: "predicted" (this frame's predictions) or
    # "corrected" (the previous frame's final states: updated tracked tracks against
    # predicted lost ones, the boxes JDE/ByteTrack's remove_duplicate_stracks sees at the
    # end of a frame).
    duplicate_boxes: str = "predicted"
    report_box: str = "detection"  # "detection": the matched box; "kalman": the corrected state
    # Scale max_lost by frame_rate / 30 (JDE/ByteTrack: int(frame_rate / 30 * buffer));
    # off for trackers whose patience is a frame count (SORT's max_age).
    scale_with_frame_rate: bool = True
    # How the scaled buffer is rounded (module doc): "round" (nearest, at least 1 frame
    # when max_lost > 0) or "floor" (JDE/ByteTrack's int()).
    frame_rate_rounding: str = "round"
    # The Kalman motion model: "xyah" (DeepSORT/JDE/ByteTrack) or "xywh" (BoT-SORT).
    motion: str = "xyah"
    # False: NEW (unconfirmed) tracks skip the motion step, as in ByteTrack and BoT-SORT,
    # which predict only tracked and lost tracks (camera motion still moves them).
    predict_unconfirmed: bool = True
    # Tracks born in the first this many frames start confirmed (None: min_hits).
    birth_confirmed_frames: int | None = None

    def __post_init__(self):
        if self.min_hits < 1:
            raise ValueError(f"min_hits must be >= 1, got {self.min_hits}")
        if self.max_lost < 0:
            raise ValueError(f"max_lost must be >= 0, got {self.max_lost}")
        if self.report_box not in ("detection", "kalman"):
            raise ValueError(f"report_box must be 'detection' or 'kalman', got {self.report_box!r}")
        if self.frame_rate_rounding not in FRAME_RATE_ROUNDINGS:
            raise ValueError(
                f"LifecycleConfig.frame_rate_rounding must be one of {FRAME_RATE_ROUNDINGS}, "
                f"got {self.frame_rate_rounding!r}"
            )
        if self.birth_confirmed_frames is not None and self.birth_confirmed_frames < 0:
            raise ValueError(
                f"birth_confirmed_frames must be >= 0, got {self.birth_confirmed_frames}"
            )
        if self.duplicate_boxes not in ("predicted", "corrected"):
            raise ValueError(
                "LifecycleConfig.duplicate_boxes must be 'predicted' or 'corrected', "
                f"got {self.duplicate_boxes!r}"
            )
        if self.motion not in MOTION_MODELS:
            raise ValueError(
                f"LifecycleConfig.motion must be one of {tuple(MOTION_MODELS)}, got {self.motion!r}"
            )

    def lost_frames(self, frame_rate: float = 30.0) -> int:
        """Frames a LOST track is kept at `frame_rate` (kept while inactive <= this)."""
        if not self.scale_with_frame_rate or self.max_lost == 0:
            return self.max_lost
        if frame_rate <= 0:
            raise ValueError(f"frame_rate must be > 0, got {frame_rate}")
        if self.frame_rate_rounding == "floor":
            return int(frame_rate / 30.0 * self.max_lost)
        # Halves round up (not Python's round-half-to-even), so the rule is easy to state.
        return max(1, math.floor(self.max_lost * frame_rate / 30.0 + 0.5))


def exercise_lifecycle(patience: int, feature_history: int = 10) -> LifecycleConfig:
    """The exercise's track management: a lost track is kept while `inactive <= patience`.

    The exercise's LongTermReID template asks to "kill those for which the inactive
    parameter is > self.patience", and its unit test checks that a track whose counter
    equals the patience is kept. Patience is a frame count there (no frame-rate scaling).
    """
    if patience < 0:
        raise ValueError(f"patience must be >= 0 frames, got {patience}")
    return LifecycleConfig(
        min_hits=1,
        max_lost=patience,
        feature_history=feature_history,
        scale_with_frame_rate=False,
    )


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


class TrackIds:
    """The next track id, shared by the per-class track sets of one tracker so that ids
    stay unique across classes."""

    def __init__(self):
        self.next = 1


class TrackSet:
    """Live tracks, their Kalman states (a KalmanBank) and appearance memory."""

    def __init__(self, config: LifecycleConfig, frame_rate: float = 30.0):
        self.config = config
        self.max_lost_frames = config.lost_frames(frame_rate)
        self.bank = KalmanBank(motion=config.motion, report_gain=config.report_box == "kalman")
        self.tracks: list[Track] = []
        self.frame = 0
        self.features: np.ndarray | None = None  # [capacity, D], by slot
        self.ids = TrackIds()

    # -- queries ----------------------------------------------------------------------
    @property
    def next_id(self) -> int:
        """The id the next new track gets (`step` numbers new tracks in order)."""
        return self.ids.next

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
        if self.config.report_box == "kalman":  # on the host: no second device call
            return self.bank.corrected_boxes(self.slots(tracks))
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
    def predict(self, scorer=None, track_inputs=None, det_inputs=None, warp=None):
        """Start a frame: motion step of every live track (then the [2, 3] camera-motion
        affine `warp`, if given: xywh model only); returns the scorer's [C, B] cost."""
        self.frame += 1
        dedup = self.config.duplicate_iou is not None
        if dedup and self.config.duplicate_boxes == "corrected":
            dedup = "corrected"
        hold = None
        if not self.config.predict_unconfirmed:
            hold = np.zeros(self.bank.capacity, bool)
            hold[self.slots(self.with_state(TrackState.NEW))] = True
        cost = self.bank.predict(
            scorer, track_inputs, det_inputs, with_overlap=dedup, warp=warp, hold=hold
        )
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
        score_of = np.asarray(scores).tolist()  # Python floats: cheaper per track than NumPy
        for track, det in matches:
            matched.add(track.track_id)
            track.hits += 1
            track.inactive = 0
            track.last_frame = self.frame
            track.score = score_of[det]
            track.detection_box = boxes_xywh[det]
            if track.state == TrackState.LOST or (
                track.state == TrackState.NEW and track.hits >= cfg.min_hits
            ):
                track.state = TrackState.TRACKED
            update_slots.append(track.slot)
            update_dets.append(det)
            if features is not None:
                self._remember(track, features[det])
        self.bank.lost[update_slots] = False

        lost_slots = []
        for track in self.tracks:
            if track.track_id in matched:
                continue
            track.inactive += 1
            if track.state == TrackState.NEW or track.inactive > self.max_lost_frames:
                track.state = TrackState.REMOVED
            else:
                track.state = TrackState.LOST
                lost_slots.append(track.slot)
        self.bank.lost[lost_slots] = True

        init_slots = []
        for det in new_detections:
            slot = self.bank.allocate()
            first = (
                cfg.min_hits if cfg.birth_confirmed_frames is None else cfg.birth_confirmed_frames
            )
            born_confirmed = cfg.min_hits <= 1 or self.frame <= first
            track = Track(
                track_id=self.ids.next,
                slot=slot,
                state=TrackState.TRACKED if born_confirmed else TrackState.NEW,
                start_frame=self.frame,
                last_frame=self.frame,
                score=score_of[det],
                detection_box=boxes_xywh[det],
                history=collections.deque(maxlen=cfg.feature_history),
            )
            self.ids.next += 1
            self.tracks.append(track)
            init_slots.append(slot)
            if features is not None:
                self._remember(track, features[det], reset=True)

        # One conversion for the rows used: updates first, then new tracks.
        used = np.concatenate(
            [np.asarray(update_dets, np.int64), np.asarray(new_detections, np.int64)]
        )
        measured = self.bank.motion.measure(np.asarray(boxes_xywh, np.float32)[used])
        k = len(update_dets)
        self.bank.correct(
            np.asarray(update_slots, np.int64),
            measured[:k],
            np.asarray(init_slots, np.int64),
            measured[k:],
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
