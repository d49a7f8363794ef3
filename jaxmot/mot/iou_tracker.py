"""Motion-only tracker: Kalman prediction + Hungarian on IoU, with thresholds that follow
the detector's scores (ByteTrack's stages on a running score distribution) and a box
buffer that follows its localisation jitter (C-BIoU's buffered IoU)."""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxmot.core import boxes as box_ops
from jaxmot.core.assignment import linear_assignment
from jaxmot.core.lifecycle import LifecycleConfig, TrackState
from jaxmot.core.padding import bucket_size, pad_rows
from jaxmot.core.tracker import FrameDetections, OnlineTracker
from jaxmot.mot.bytetrack import ByteStages, associate_in_stages, byte_lifecycle
from jaxmot.mot.costs import BUFFERED_IOU_COSTS, IOU_COSTS, fuse_score


@dataclasses.dataclass(frozen=True)
class IoUTrackerConfig:
    """Defaults: ByteTrack's three association stages and track management (Zhang et
    al., ECCV 2022, BYTETracker: first stage IoU >= 0.2 on the score-fused cost, second
    stage IoU >= 0.5 for tracked tracks and low detections, unconfirmed tracks IoU >= 0.3,
    lost tracks kept 30 frames at 30 fps, duplicates at IoU > 0.85 removed) with SORT's
    confirmation on the third match (frame-1 tracks at birth), BoT-SORT's Kalman state
    of width and height, the Kalman box reported, and every score threshold taken from
    the detector's running score distribution instead of a constant: the high/low split
    is the 10% quantile of every score seen so far (at most 0.6), and scores are fused
    into the first-stage cost divided by their 60% quantile (at most 1), so a detector
    whose scores all lie in 0.05-0.45 is tracked as one whose scores spread over 0-1.
    Every high detection left unmatched starts a track (a new-track quantile, as
    ByteTrack's higher new-track threshold, is an option: `new_track_quantile`). The
    first stage compares C-BIoU's buffered boxes (Yang et al., WACV 2023), the buffer 3
    times the detector's measured jitter (at most 1), and needs a buffered IoU x score
    of 0.3 instead of ByteTrack's 0.2 on plain boxes.

    Chosen by `python -m pipelines.select_defaults` on synthetic scenes and MOT17-02/04
    (at 30 and 15 fps, and under a panning camera) detected by five simulated detectors
    of different recall, box noise, false positives and score calibration, plus
    MOT17-02/04 with a real detector's detections (jaxmot.mot.selection), none of them
    a sequence the tracker is reported on (the buffer's over three draws of the
    simulated data). `sort_config()` gives SORT's own settings.
    """

    # Minimum (buffered) IoU of a first-stage match, times the fused score (ByteTrack 0.2
    # on plain IoU, SORT 0.3).
    iou_threshold: float = 0.3
    min_score: float = 0.0  # detections below are ignored
    # High/low split (ByteTrack): detections scoring >= the split are matched first and
    # alone start tracks; the others may only extend still-unmatched TRACKED tracks, at
    # IoU >= low_iou_threshold. The split is `high_score` when given (a constant), else
    # the running `split_quantile`-quantile of every detection score seen so far in the
    # sequence (this frame's included), never above `split_cap`, so the lowest share q of
    # any detector's scores goes to the second stage whatever its calibration, and a
    # detector whose scores are nearly all high keeps them in the first. Both None: one
    # stage over all detections.
    high_score: float | None = None
    low_iou_threshold: float = 0.5  # ByteTrack's second-stage threshold
    split_quantile: float | None = 0.1
    split_cap: float | None = 0.6
    low_score: float = 0.1  # ByteTrack's floor: lower detections (below the split) never match
    # Unmatched first-stage detections start tracks only when they score >= the running
    # `new_track_quantile`-quantile (at most `new_track_cap`), as ByteTrack's new-track
    # threshold sits above its split. None: every one does.
    new_track_quantile: float | None = None
    new_track_cap: float | None = None
    # First-stage cost 1 - IoU * s (ByteTrack's fuse_score), s the score divided by the
    # running `fuse_quantile`-quantile and clipped at 1 (None: the raw score).
    fuse_score: bool = True
    fuse_quantile: float | None = 0.6
    # True: ByteTrack's three stages (unconfirmed tracks matched after the confirmed ones,
    # at IoU >= unconfirmed_iou_threshold). False: one Hungarian over every track (SORT).
    unconfirmed_stage: bool = True
    unconfirmed_iou_threshold: float = 0.3  # ByteTrack's 0.7 cost
    # C-BIoU's buffer (Yang et al., WACV 2023) in the first and the unconfirmed stage:
    # the IoU is taken between boxes grown by a share b of their width and height on
    # each side, so a track whose detections land off its prediction still meets them.
    # b is `buffer_scale`, or with `buffer_jitter` = k, k times the detector's running
    # jitter: the mean distance between a tracked track's prediction and the detection
    # it is matched to, per unit of box size (|dx| / w + |dy| / h) / 2, over the
    # sequence so far (0 before the first such match), at most `buffer_cap`. The low
    # detections' stage keeps the plain IoU.
    buffer_scale: float = 0.0
    buffer_jitter: float | None = 3.0
    buffer_cap: float = 1.0

    lifecycle: LifecycleConfig = byte_lifecycle(motion="xywh", min_hits=3)

    def __post_init__(self):
        for name in ("split_quantile", "new_track_quantile", "fuse_quantile"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value < 1.0:
                raise ValueError(f"IoUTrackerConfig.{name} must be in [0, 1), got {value}")
        for name in ("iou_threshold", "low_iou_threshold", "unconfirmed_iou_threshold"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                # IoU thresholds are inclusive (cost 1 - IoU <= 1 - threshold): 0 would
                # link boxes that do not overlap at all.
                raise ValueError(f"IoUTrackerConfig.{name} must be in (0, 1], got {value}")
        for name in ("buffer_scale", "buffer_jitter", "buffer_cap"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 10.0:
                raise ValueError(f"IoUTrackerConfig.{name} must be in [0, 10], got {value}")
        if not 0.0 <= self.low_score <= 1.0:
            raise ValueError(f"IoUTrackerConfig.low_score must be in [0, 1], got {self.low_score}")


def sort_config() -> IoUTrackerConfig:
    """SORT's settings: IoU 0.3, min_hits 3, max_age 1, one association stage, the
    matched detection's box, no score in the cost, plain IoU."""
    lifecycle = LifecycleConfig(min_hits=3, max_lost=1, scale_with_frame_rate=False)
    return IoUTrackerConfig(
        iou_threshold=0.3, high_score=None, split_quantile=None, new_track_quantile=None,
        fuse_score=False, unconfirmed_stage=False, low_score=0.0, buffer_jitter=None,
        lifecycle=lifecycle,
    )  # fmt: skip


SCORE_BINS = 1000  # resolution of the running score quantile: 0.001 on [0, 1]


class ScoreHistogram:
    """Every score added so far, as a histogram of [0, 1] in SCORE_BINS bins (scores
    outside are clipped): its quantiles cost O(bins) a frame, however long the sequence.
    Before any score every quantile is 0 (every detection counts as high)."""

    def __init__(self):
        self.counts = np.zeros(SCORE_BINS, np.int64)
        self._below = np.zeros(SCORE_BINS, np.int64)  # scores in lower bins, per bin
        self._total = 0

    def add(self, scores: np.ndarray) -> None:
        """Add a frame's scores [M]."""
        bins = np.clip((np.asarray(scores, np.float64) * SCORE_BINS).astype(np.int64), 0,
                       SCORE_BINS - 1)  # fmt: skip
        self.counts += np.bincount(bins, minlength=SCORE_BINS)
        cumulative = np.cumsum(self.counts)
        self._total = int(cumulative[-1])
        self._below = cumulative - self.counts

    def quantile(self, q: float, cap: float | None = None) -> float:
        """The q-quantile (the lower edge of its bin), at most `cap`."""
        if self._total == 0:
            return 0.0
        # The last bin with at most a share q of the scores in lower bins: scores in lower
        # bins are all < its lower edge, the bin's own are >= it. `_below` is sorted.
        index = int(np.searchsorted(self._below, q * self._total, side="right")) - 1
        value = index / SCORE_BINS
        return value if cap is None else min(value, cap)


class IoUTracker(OnlineTracker):
    def __init__(self, config: IoUTrackerConfig = IoUTrackerConfig(), frame_rate: float = 30.0):
        self.config = config
        super().__init__(config.lifecycle, frame_rate)
        # ByteTrack's stages on IoU thresholds; the score thresholds are this tracker's own.
        self._stages = ByteStages(
            high_thresh=1.0, low_thresh=0.0, new_track_thresh=0.0,  # not read
            match_thresh=1.0 - config.iou_threshold,
            second_match_thresh=1.0 - config.low_iou_threshold,
            unconfirmed_match_thresh=1.0 - config.unconfirmed_iou_threshold,
        )  # fmt: skip
        self._buffered = config.buffer_jitter is not None or config.buffer_scale > 0
        motion = config.lifecycle.motion
        self._scorer = BUFFERED_IOU_COSTS[motion] if self._buffered else IOU_COSTS[motion]

    def reset(self) -> None:
        super().reset()
        self._scores = ScoreHistogram()
        self._jitter_sum, self._jitter_count = 0.0, 0

    def buffer(self) -> float:
        """This frame's first-stage buffer (IoUTrackerConfig.buffer_scale / buffer_jitter)."""
        cfg = self.config
        if cfg.buffer_jitter is None:
            return cfg.buffer_scale
        jitter = self._jitter_sum / self._jitter_count if self._jitter_count else 0.0
        return min(cfg.buffer_jitter * jitter, cfg.buffer_cap)

    def _add_jitter(self, matches, boxes: np.ndarray) -> None:
        """Add the matched TRACKED tracks' offsets (detection vs prediction, per unit of
        the predicted box's size) to the running jitter; boxes [M, 4] xywh."""
        tracked = [(t, j) for t, j in matches if t.state == TrackState.TRACKED]
        if not tracked:
            return
        predicted = box_ops.xywh_to_cxcywh(self.tracks.boxes([t for t, _ in tracked]))
        found = box_ops.xywh_to_cxcywh(boxes[[j for _, j in tracked]])
        size = np.maximum(predicted[:, 2:], 1e-6)
        offset = np.abs(found[:, :2] - predicted[:, :2]) / size
        self._jitter_sum += float(offset.mean(axis=1).sum())
        self._jitter_count += len(tracked)

    def high_score(self, scores: np.ndarray) -> float | None:
        """This frame's high/low split (the fixed `high_score`, or `split_quantile`);
        adds the frame's scores to the running histogram."""
        cfg = self.config
        self._scores.add(scores)
        if cfg.high_score is None and cfg.split_quantile is not None:
            return self._scores.quantile(cfg.split_quantile, cfg.split_cap)
        return cfg.high_score

    def _associate(self, detections: FrameDetections):
        cfg = self.config
        split = self.high_score(detections.scores)
        keep = np.flatnonzero(detections.scores >= cfg.min_score) if cfg.min_score > 0 else None
        boxes = detections.boxes if keep is None else detections.boxes[keep]
        scores = detections.scores if keep is None else detections.scores[keep]
        m = len(boxes)
        padded = pad_rows(box_ops.xywh_to_xyxy(boxes), bucket_size(m))
        inputs = {"boxes_xyxy": padded}
        if self._buffered:  # rows: the first stage's buffered IoU, the plain IoU
            inputs["buffers"] = np.array([self.buffer(), 0.0], np.float32)
        cost = self.tracks.predict(self._scorer, None, inputs)[..., :m]
        first_distance, second_distance = (cost[0], cost[1]) if self._buffered else (cost, cost)
        if split is None:
            is_high = np.ones(m, bool)
            is_low = np.zeros(m, bool)
        else:
            is_high = scores >= split
            is_low = ~is_high & (scores > min(cfg.low_score, split))
        high, low = np.flatnonzero(is_high), np.flatnonzero(is_low)
        first = first_distance
        if cfg.fuse_score:
            first = fuse_score(first_distance, self._fusion_scores(scores))
        if cfg.unconfirmed_stage:
            matches, new = associate_in_stages(
                self.tracks, first, second_distance, high, low, self._stages
            )
        else:
            matches, new = self._associate_one_stage(first, second_distance, high, low)
        if cfg.new_track_quantile is not None:
            floor = self._scores.quantile(cfg.new_track_quantile, cfg.new_track_cap)
            new = new[scores[new] >= floor]
        if cfg.buffer_jitter is not None:
            self._add_jitter(matches, boxes)
        if keep is not None:  # back to indices into `detections`
            matches = [(track, int(keep[j])) for track, j in matches]
            new = keep[new]
        return matches, new

    def _fusion_scores(self, scores: np.ndarray) -> np.ndarray:
        """[M] the scores fused into the first-stage cost (IoUTrackerConfig.fuse_quantile)."""
        q = self.config.fuse_quantile
        if q is None:
            return scores
        reference = max(self._scores.quantile(q), 1.0 / SCORE_BINS)
        return np.minimum(scores / reference, 1.0)

    def _associate_one_stage(self, first, second_cost, high, low):
        """Every live track against the high detections (cost `first`), then
        still-unmatched tracked tracks against the low ones (`second_cost`); returns the
        matches and the high detections left."""
        cfg = self.config
        candidates = self.tracks.with_state(TrackState.NEW, TrackState.TRACKED, TrackState.LOST)
        slots = self.tracks.slots(candidates)
        pairs, rest, unmatched = linear_assignment(first[slots][:, high], 1.0 - cfg.iou_threshold)
        matches = [(candidates[i], int(high[j])) for i, j in pairs]
        if len(low):
            second = [i for i in rest if candidates[i].state == TrackState.TRACKED]
            pairs, _, _ = linear_assignment(
                second_cost[slots[second]][:, low], 1.0 - cfg.low_iou_threshold
            )
            matches += [(candidates[second[i]], int(low[j])) for i, j in pairs]
        return matches, high[unmatched]
