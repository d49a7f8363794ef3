"""ByteTrack (Zhang et al., ECCV 2022) with its own defaults, on the shared lifecycle.

As FoundationVision/ByteTrack yolox/tracker/byte_tracker.py (BYTETracker.update):

1. Detections scoring <= 0.1 are dropped; those > `track_thresh` (0.5) are "high", those
   strictly between 0.1 and `track_thresh` "low" (a score of exactly `track_thresh` is
   neither, as in the original).
2. First stage: confirmed tracks (tracked and lost) against the high detections, cost
   1 - IoU of the Kalman-predicted box, fused with the detection score
   (1 - IoU * score, `fuse_score`; the original skips it with --mot20), matched when the
   cost is <= `match_thresh` (0.8).
3. Second stage: still-unmatched *tracked* tracks against the low detections, plain
   1 - IoU <= 0.5.
4. Unconfirmed tracks (born in the previous frame) against the high detections left,
   fused cost <= 0.7; an unconfirmed track that finds none is removed.
5. High detections still left start tracks when they score >= `track_thresh` + 0.1.
   Tracks born on frame 1 are confirmed at once, later ones after their second match.
6. A lost track is kept while it has been lost <= int(frame_rate / 30 * 30) frames;
   a tracked track whose box overlaps a lost one at IoU > 0.85 removes the one
   followed for the shorter time. The corrected Kalman box (xyah filter) is reported.

The three stages (`byte_associate`) are shared with BoT-SORT (jaxmot.mot.botsort),
which runs them on its own costs. One jitted call per frame: the Kalman step and the
IoU of every track with every detection (`iou_tracker.iou_cost`); the stages run on
slices of that matrix on the host, and the reported (corrected) Kalman boxes are
computed there from the gains the same call returns (`KalmanBank.corrected_boxes`).

Difference from the original, from the shared lifecycle: duplicate removal pairs each
tracked track with its single most overlapping lost track and never removes an
unconfirmed one (the original checks every pair). As in the original, it compares the
frame's final boxes (`duplicate_boxes="corrected"`; it runs at the start of the next
frame, before anything else), only frame-1 tracks are confirmed at birth
(`birth_confirmed_frames=1`) and unconfirmed tracks skip the motion step
(`predict_unconfirmed=False`).
Not part of the tracker: the original's demo and evaluation scripts also drop reported
boxes smaller than `min_box_area` or wider than 1.6 x their height; jaxmot does not.
The evaluation script tools/track.py uses track_thresh 0.6 and match_thresh 0.9 on
MOT17 (the defaults here are those of the tracker's demo, tools/demo_track.py).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxmot.core import boxes as box_ops
from jaxmot.core.assignment import linear_assignment
from jaxmot.core.lifecycle import LifecycleConfig, Track, TrackSet, TrackState
from jaxmot.core.padding import bucket_size, pad_rows
from jaxmot.core.tracker import FrameDetections, OnlineTracker
from jaxmot.mot.costs import fuse_score, iou_cost


@dataclasses.dataclass(frozen=True)
class ByteStages:
    """Thresholds of ByteTrack's association (shared by ByteTrack and BoT-SORT)."""

    high_thresh: float  # detections scoring > this enter the first stage
    low_thresh: float  # detections scoring <= this are dropped
    new_track_thresh: float  # unmatched high detections scoring >= this start tracks
    match_thresh: float  # first stage: largest (fused) cost
    second_match_thresh: float = 0.5  # second stage: largest 1 - IoU
    unconfirmed_match_thresh: float = 0.7  # unconfirmed tracks: largest (fused) cost

    def __post_init__(self):
        if not 0 <= self.low_thresh <= self.high_thresh:
            raise ValueError(
                f"need 0 <= low_thresh <= high_thresh, got {self.low_thresh}, {self.high_thresh}"
            )
        for name in ("match_thresh", "second_match_thresh", "unconfirmed_match_thresh"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")


def byte_associate(
    tracks: TrackSet,
    first_cost: np.ndarray,
    second_cost: np.ndarray,
    scores: np.ndarray,
    stages: ByteStages,
) -> tuple[list[tuple[Track, int]], np.ndarray]:
    """ByteTrack's three association stages on precomputed costs.

    Args:
      tracks: the live tracks (their slots index the cost rows).
      first_cost: [C, M] cost of the first stage and of the unconfirmed tracks (rows by
        slot, columns this frame's detections).
      second_cost: [C, M] cost of the second stage (1 - IoU).
      scores: [M] detection scores.

    Returns:
      (track, detection index) matches and the detection indices that start tracks.
    """
    high = np.flatnonzero(scores > stages.high_thresh)
    low = np.flatnonzero((scores > stages.low_thresh) & (scores < stages.high_thresh))
    matches, left = associate_in_stages(tracks, first_cost, second_cost, high, low, stages)
    return matches, left[scores[left] >= stages.new_track_thresh]


def associate_in_stages(
    tracks: TrackSet,
    first_cost: np.ndarray,
    second_cost: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    stages: ByteStages,
) -> tuple[list[tuple[Track, int]], np.ndarray]:
    """The three stages for given high / low detection indices (byte_associate's split,
    or another rule's): confirmed tracks against `high` (first_cost <= match_thresh),
    still-unmatched tracked tracks against `low` (second_cost <= second_match_thresh),
    unconfirmed tracks against the high detections left (<= unconfirmed_match_thresh).
    Returns the matches and the high detections left unmatched. Score thresholds of
    `stages` are not used here."""
    pool = tracks.with_state(TrackState.TRACKED, TrackState.LOST)
    unconfirmed = tracks.with_state(TrackState.NEW)

    pairs, rest, unmatched = linear_assignment(
        first_cost[tracks.slots(pool)][:, high], stages.match_thresh
    )
    matches = _matched(pool, pairs, high)

    second = [pool[i] for i in rest.tolist() if pool[i].state == TrackState.TRACKED]
    pairs, _, _ = linear_assignment(
        second_cost[tracks.slots(second)][:, low], stages.second_match_thresh
    )
    matches += _matched(second, pairs, low)

    left = high[unmatched]
    pairs, _, unmatched = linear_assignment(
        first_cost[tracks.slots(unconfirmed)][:, left], stages.unconfirmed_match_thresh
    )
    matches += _matched(unconfirmed, pairs, left)
    return matches, left[unmatched]


def _matched(tracks: list[Track], pairs: np.ndarray, columns: np.ndarray):
    """[(tracks[i], columns[j])] for the (i, j) rows of `pairs`, as Python ints (lists
    index faster per pair than NumPy scalars)."""
    column = columns.tolist()
    return [(tracks[i], column[j]) for i, j in pairs.tolist()]


def byte_lifecycle(**overrides) -> LifecycleConfig:
    """ByteTrack's track management: confirmed after 2 matches (frame-1 tracks at
    birth), unconfirmed tracks not predicted, lost tracks kept int(frame_rate / 30 * 30)
    frames, duplicates at IoU > 0.85 removed, the Kalman box reported."""
    settings = dict(
        min_hits=2,
        birth_confirmed_frames=1,
        predict_unconfirmed=False,
        max_lost=30,
        duplicate_iou=0.85,
        duplicate_boxes="corrected",
        report_box="kalman",
        frame_rate_rounding="floor",
    )
    return LifecycleConfig(**{**settings, **overrides})


@dataclasses.dataclass(frozen=True)
class ByteTrackConfig:
    """ByteTrack's defaults (tools/demo_track.py and BYTETracker)."""

    track_thresh: float = 0.5  # high/low split
    new_track_thresh: float | None = None  # None: track_thresh + 0.1 (BYTETracker.det_thresh)
    low_thresh: float = 0.1  # detections at or below are dropped
    match_thresh: float = 0.8  # first stage, on the fused cost
    second_match_thresh: float = 0.5
    unconfirmed_match_thresh: float = 0.7
    fuse_score: bool = True  # the original's `not args.mot20`
    lifecycle: LifecycleConfig = dataclasses.field(default_factory=byte_lifecycle)

    @property
    def stages(self) -> ByteStages:
        new = self.track_thresh + 0.1 if self.new_track_thresh is None else self.new_track_thresh
        return ByteStages(
            high_thresh=self.track_thresh,
            low_thresh=self.low_thresh,
            new_track_thresh=new,
            match_thresh=self.match_thresh,
            second_match_thresh=self.second_match_thresh,
            unconfirmed_match_thresh=self.unconfirmed_match_thresh,
        )

    def __post_init__(self):
        self.stages  # noqa: B018 (validates the thresholds)


class ByteTracker(OnlineTracker):
    """ByteTrack: `ByteTracker(ByteTrackConfig(), frame_rate)`; module doc for the rules."""

    def __init__(self, config: ByteTrackConfig = ByteTrackConfig(), frame_rate: float = 30.0):
        super().__init__(config.lifecycle, frame_rate)
        self.config = config
        self._stages = config.stages

    def _associate(self, detections: FrameDetections):
        m = len(detections)
        padded = pad_rows(box_ops.xywh_to_xyxy(detections.boxes), bucket_size(m))
        iou_distance = self.tracks.predict(iou_cost, None, {"boxes_xyxy": padded})[:, :m]
        scores = detections.scores
        first = fuse_score(iou_distance, scores) if self.config.fuse_score else iou_distance
        return byte_associate(self.tracks, first, iou_distance, scores, self._stages)
