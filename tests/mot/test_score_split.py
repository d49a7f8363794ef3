"""The `iou` tracker's score split that follows the detector: a running quantile of the
scores seen so far."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jaxmot.core.tracker import FrameDetections
from jaxmot.mot.iou_tracker import SCORE_BINS, IoUTracker, IoUTrackerConfig, ScoreHistogram


def _reference_split(scores_so_far: np.ndarray, q: float) -> float:
    """The largest bin edge t (a multiple of 1/SCORE_BINS) with at most a share q of the
    scores strictly below it, scores binned by flooring to the bin grid."""
    binned = np.floor(np.clip(scores_so_far, 0, 1) * SCORE_BINS).clip(max=SCORE_BINS - 1)
    edges = np.arange(SCORE_BINS)
    ok = [(binned < e).sum() <= q * len(binned) for e in edges]
    return float(edges[np.flatnonzero(ok)[-1]]) / SCORE_BINS


@pytest.mark.parametrize("q", [0.0, 0.1, 0.3, 0.5])
def test_running_quantile_against_a_plain_reference(q):
    rng = np.random.default_rng(3)
    running = ScoreHistogram()
    seen = np.zeros(0)
    for _ in range(20):
        frame = np.concatenate([rng.beta(5, 2, rng.integers(0, 12)), rng.uniform(-0.2, 1.3, 2)])
        seen = np.concatenate([seen, frame])
        running.add(frame)
        assert running.quantile(q) == pytest.approx(_reference_split(seen, q))
    # On dense scores, numpy's quantile lies in the split's bin.
    dense = ScoreHistogram()
    many = rng.random(200_000)
    dense.add(many)
    assert 0 <= np.quantile(many, q) - dense.quantile(q) <= 1.5 / SCORE_BINS


def test_the_split_follows_the_score_scale():
    """The same detections with their scores squeezed into [0.05, 0.45] (an uncalibrated
    detector) track the same with a quantile split; a fixed 0.7 split then sees only low
    scores and starts no track at all."""
    rng = np.random.default_rng(0)
    frames = []
    for t in range(30):
        boxes = np.array([[10 + 3 * t, 20, 30, 60], [200, 40 + 2 * t, 25, 50], [400, 300, 20, 40]])
        scores = np.array([rng.uniform(0.8, 1.0), rng.uniform(0.8, 1.0), rng.uniform(0.1, 0.3)])
        frames.append((boxes.astype(np.float32), scores))

    def run(config, squeeze):
        tracker = IoUTracker(config)
        outs = []
        for boxes, scores in frames:
            s = 0.05 + 0.4 * scores if squeeze else scores
            outs.append(tracker.update(FrameDetections(boxes, s)))
        return outs

    quantile = IoUTrackerConfig(split_quantile=0.34)
    for a, b in zip(run(quantile, False), run(quantile, True), strict=True):
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_allclose(a.boxes, b.boxes)
    assert {int(i) for o in run(quantile, True) for i in o.ids} == {1, 2}  # not the weak one
    fixed = IoUTrackerConfig(high_score=0.7)
    assert sum(len(o) for o in run(fixed, True)) == 0


def test_split_quantile_checks_its_range():
    with pytest.raises(ValueError, match="split_quantile"):
        IoUTrackerConfig(split_quantile=1.0)
    config = dataclasses.replace(IoUTrackerConfig(), split_quantile=0.2)
    assert IoUTracker(config).high_score(np.array([0.5])) == 0.5


def _moving_frames(num_frames=30, seed=0):
    """Three walkers with high scores and a static box with low ones; [(boxes, scores)]."""
    rng = np.random.default_rng(seed)
    frames = []
    for t in range(num_frames):
        boxes = np.array([[10 + 3 * t, 20, 30, 60], [200, 40 + 2 * t, 25, 50],
                          [120 - 2 * t, 150, 28, 56], [400, 300, 20, 40]], np.float32)  # fmt: skip
        scores = np.concatenate([rng.uniform(0.7, 1.0, 3), rng.uniform(0.2, 0.35, 1)])
        frames.append((boxes, scores))
    return frames


def _run(config, frames, scale=1.0):
    tracker = IoUTracker(config)
    return [tracker.update(FrameDetections(b, scale * s)) for b, s in frames]


def test_default_thresholds_follow_a_rescaled_detector():
    """Every score threshold of the default `iou` (split, new-track floor, fused score
    over its running quantile) follows the detector: halving every score tracks the
    same, where BoT-SORT-like constants (split 0.6, new tracks from 0.7, raw fusion)
    start nothing once the scores sit below 0.5."""
    frames = _moving_frames()
    for a, b in zip(_run(IoUTrackerConfig(), frames), _run(IoUTrackerConfig(), frames, 0.5),
                    strict=True):  # fmt: skip
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_allclose(a.boxes, b.boxes)
    assert {1, 2, 3} <= {int(i) for o in _run(IoUTrackerConfig(), frames) for i in o.ids}
    constants = IoUTrackerConfig(
        high_score=0.6, new_track_quantile=0.0, new_track_cap=0.7, fuse_quantile=None
    )
    assert sum(len(o) for o in _run(constants, frames)) > 0
    assert sum(len(o) for o in _run(constants, frames, 0.5)) == 0


def test_new_tracks_need_the_new_track_quantile():
    """A detection above the split but below the running new-track quantile starts no
    track (ByteTrack's new-track threshold); with the floor off it does."""
    frames = _moving_frames()
    # Scores seen: three high per frame and one low; the 0.3-quantile lies among the
    # high ones (the low ones are a quarter), so the static box never starts a track.
    config = IoUTrackerConfig(split_quantile=0.0, new_track_quantile=0.3, new_track_cap=None)
    ids = {int(i) for o in _run(config, frames) for i in o.ids}
    assert ids == {1, 2, 3}
    anyone = dataclasses.replace(config, new_track_quantile=None)
    assert {int(i) for o in _run(anyone, frames) for i in o.ids} == {1, 2, 3, 4}


def test_fusion_scores_against_a_plain_reference():
    """The score fused into the first-stage cost: score / running quantile, at most 1."""
    tracker = IoUTracker(IoUTrackerConfig(fuse_quantile=0.5))
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.9])
    tracker.high_score(scores)  # adds them to the running histogram
    reference = np.floor(np.quantile(scores, 0.5, method="lower") * SCORE_BINS) / SCORE_BINS
    np.testing.assert_allclose(
        tracker._fusion_scores(scores), np.minimum(scores / reference, 1.0), rtol=1e-6
    )
