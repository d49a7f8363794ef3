"""Motion-only tracker: Kalman prediction + Hungarian on IoU (SORT-like)."""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxmot.core import boxes as box_ops
from jaxmot.core.assignment import linear_assignment
from jaxmot.core.lifecycle import LifecycleConfig, TrackState
from jaxmot.core.padding import bucket_size, pad_rows
from jaxmot.core.tracker import FrameDetections, OnlineTracker


@dataclasses.dataclass(frozen=True)
class IoUTrackerConfig:
    """Defaults: ByteTrack's association (IoU >= 0.2 first stage, 0.5 second, track buffer
    30 frames) with SORT's min_hits 3, the Kalman box reported, and a high/low score split
    that follows the detector: the running 10% quantile of its scores. ByteTrack's
    duplicate removal (LifecycleConfig.duplicate_iou=0.85) is off: on TUD-Stadtmitte it
    removes re-found tracks and costs 6 IDF1 points.

    The split rule, min_hits and the reported box were chosen by `python -m
    pipelines.select_defaults` on synthetic scenes and MOT17-02/04 detected by five
    simulated detectors of different recall, box noise, false positives and score
    calibration (jaxmot.mot.selection), none of them a sequence the tracker is reported
    on; a constant split (the former 0.7, picked on TUD) scores nothing on a detector
    whose scores all lie below it. `sort_config()` gives SORT's own settings.
    """

    iou_threshold: float = 0.2  # minimum IoU of a first-stage match (ByteTrack 0.2, SORT 0.3)
    min_score: float = 0.0  # detections below are ignored
    # Two-stage association (ByteTrack): detections scoring >= the split are matched
    # first and alone start tracks; the others may only extend still-unmatched TRACKED
    # tracks, at IoU >= low_iou_threshold. The split is `high_score` when given (a
    # constant, ByteTrack's way), else the running `split_quantile`-quantile of every
    # detection score seen so far in the sequence (this frame's included), so the lowest
    # share q of any detector's scores goes to the second stage whatever its calibration.
    # Both None: one stage over all detections.
    high_score: float | None = None
    low_iou_threshold: float = 0.5  # ByteTrack's second-stage threshold
    split_quantile: float | None = 0.1
    # The quantile split never rises above this (None: no cap), so a detector whose
    # scores are nearly all high keeps them all in the first stage.
    split_cap: float | None = 0.7

    def __post_init__(self):
        if self.split_quantile is not None and not 0.0 <= self.split_quantile < 1.0:
            raise ValueError(
                f"IoUTrackerConfig.split_quantile must be in [0, 1), got {self.split_quantile}"
            )
        for name in ("iou_threshold", "low_iou_threshold"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                # IoU thresholds are inclusive (cost 1 - IoU <= 1 - threshold): 0 would
                # link boxes that do not overlap at all.
                raise ValueError(f"IoUTrackerConfig.{name} must be in (0, 1], got {value}")

    lifecycle: LifecycleConfig = LifecycleConfig(min_hits=3, max_lost=30, report_box="kalman")


def sort_config() -> IoUTrackerConfig:
    """SORT's settings: IoU 0.3, min_hits 3, max_age 1, one association stage, the
    matched detection's box."""
    lifecycle = LifecycleConfig(min_hits=3, max_lost=1, scale_with_frame_rate=False)
    return IoUTrackerConfig(
        iou_threshold=0.3, high_score=None, split_quantile=None, lifecycle=lifecycle
    )


def iou_cost(mean, cov, track_inputs, det_inputs):
    """[C, B] 1 - IoU between predicted track boxes and padded detections."""
    del cov, track_inputs
    track_xyxy = box_ops.xyah_to_xyxy(mean[:, :4])
    return 1.0 - box_ops.iou_matrix(track_xyxy, det_inputs["boxes_xyxy"])


SCORE_BINS = 1000  # resolution of the running score quantile: 0.001 on [0, 1]


class RunningQuantile:
    """The q-quantile of every score added so far, from a histogram of [0, 1] in
    SCORE_BINS bins (scores outside are clipped): O(bins) a frame, however long the
    sequence. Before any score it is 0 (every detection counts as high)."""

    def __init__(self, q: float):
        self.q = q
        self.counts = np.zeros(SCORE_BINS, np.int64)

    def add(self, scores: np.ndarray) -> float:
        """Add a frame's scores [M]; returns the quantile (the lower edge of its bin)."""
        bins = np.clip((np.asarray(scores, np.float64) * SCORE_BINS).astype(np.int64), 0,
                       SCORE_BINS - 1)  # fmt: skip
        self.counts += np.bincount(bins, minlength=SCORE_BINS)
        total = self.counts.sum()
        if total == 0:
            return 0.0
        # The first bin at which at least a share q of the scores lie below or in it:
        # scores in lower bins are all < the split, the bin's own are >= its lower edge.
        below = np.cumsum(self.counts) - self.counts
        return float(np.flatnonzero(below <= self.q * total)[-1]) / SCORE_BINS


class IoUTracker(OnlineTracker):
    def __init__(self, config: IoUTrackerConfig = IoUTrackerConfig(), frame_rate: float = 30.0):
        self.config = config
        super().__init__(config.lifecycle, frame_rate)

    def reset(self) -> None:
        super().reset()
        q = self.config.split_quantile
        use_quantile = q is not None and self.config.high_score is None
        self._score_quantile = RunningQuantile(q) if use_quantile else None

    def high_score(self, scores: np.ndarray) -> float | None:
        """This frame's high/low split (the fixed `high_score`, or `split_quantile`)."""
        if self._score_quantile is not None:
            split = self._score_quantile.add(scores)
            cap = self.config.split_cap
            return split if cap is None else min(split, cap)
        return self.config.high_score

    def _associate(self, detections: FrameDetections):
        cfg = self.config
        scores = detections.scores
        high_score = self.high_score(scores)
        keep = np.flatnonzero(scores >= cfg.min_score) if cfg.min_score > 0 else None
        boxes = detections.boxes if keep is None else detections.boxes[keep]
        padded = pad_rows(box_ops.xywh_to_xyxy(boxes), bucket_size(len(boxes)))
        cost = self.tracks.predict(iou_cost, None, {"boxes_xyxy": padded})
        kept_scores = scores if keep is None else scores[keep]
        if high_score is None:
            is_high = np.ones(len(kept_scores), bool)
        else:
            is_high = kept_scores >= high_score
        candidates = self.tracks.with_state(TrackState.NEW, TrackState.TRACKED, TrackState.LOST)
        rows = cost[self.tracks.slots(candidates)]
        if is_high.all():  # the common case: one stage
            high, low = np.arange(len(boxes)), np.zeros(0, np.int64)
            first = rows[:, : len(boxes)]
        else:
            high, low = np.flatnonzero(is_high), np.flatnonzero(~is_high)
            first = rows[:, high]
        pairs, rest, unmatched = linear_assignment(first, 1.0 - cfg.iou_threshold)
        matches = [(candidates[i], int(high[j])) for i, j in pairs]
        if len(low):
            second = [i for i in rest if candidates[i].state == TrackState.TRACKED]
            pairs, _, _ = linear_assignment(rows[second][:, low], 1.0 - cfg.low_iou_threshold)
            matches += [(candidates[second[i]], int(low[j])) for i, j in pairs]
        new = high[unmatched]
        if keep is not None:  # back to indices into `detections`
            matches = [(track, int(keep[j])) for track, j in matches]
            new = keep[new]
        return matches, new
