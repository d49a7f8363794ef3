"""ByteTrack on the shared lifecycle: its association rules against a plain NumPy
re-statement, hand-made frames for each rule, and a generated sequence."""

import dataclasses

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from jaxmot.core.compiles import CompileCounter
from jaxmot.core.lifecycle import LifecycleConfig, TrackSet, TrackState
from jaxmot.core.registry import make_tracker
from jaxmot.core.synthetic import SceneConfig, simulate
from jaxmot.core.tracker import FrameDetections
from jaxmot.mot.bytetrack import ByteStages, ByteTrackConfig, ByteTracker, byte_associate


def _lapjv_reference(cost, thresh):
    """lap.lapjv(cost, extend_cost=True, cost_limit=thresh) restated: an unmatched row
    or column costs thresh / 2, pairs above thresh are forbidden; solved on the
    (N + M)-square extended matrix. Returns (row, col) pairs as a set."""
    n, m = cost.shape
    if n == 0 or m == 0:
        return set()
    big = 1e6
    ext = np.full((n + m, n + m), big)
    ext[:n, :m] = np.where(cost <= thresh, cost, big)
    ext[np.arange(n), m + np.arange(n)] = thresh / 2
    ext[n + np.arange(m), np.arange(m)] = thresh / 2
    ext[n:, m:] = 0
    rows, cols = linear_sum_assignment(ext)
    return {(r, c) for r, c in zip(rows, cols, strict=True) if r < n and c < m}


def _byte_reference(states, iou, scores, fuse=True, high=0.5, low=0.1, new=0.6):
    """BYTETracker.update's association, restated on an IoU matrix [N, M] of the tracks
    (states: "tracked", "lost", "new") with this frame's detections."""
    dist = 1 - iou
    first = 1 - iou * scores[None] if fuse else dist
    hi = [j for j in range(len(scores)) if scores[j] > high]
    lo = [j for j in range(len(scores)) if low < scores[j] < high]
    pool = [i for i, s in enumerate(states) if s in ("tracked", "lost")]
    unconfirmed = [i for i, s in enumerate(states) if s == "new"]
    pairs = _lapjv_reference(first[np.ix_(pool, hi)], 0.8)
    matches = {(pool[a], hi[b]) for a, b in pairs}
    taken = {pool[a] for a, _ in pairs}
    rest = [i for i in pool if i not in taken and states[i] == "tracked"]
    matches |= {(rest[a], lo[b]) for a, b in _lapjv_reference(dist[np.ix_(rest, lo)], 0.5)}
    left = [j for j in hi if j not in {d for _, d in matches}]
    pairs = _lapjv_reference(first[np.ix_(unconfirmed, left)], 0.7)
    matches |= {(unconfirmed[a], left[b]) for a, b in pairs}
    used = {left[b] for _, b in pairs}
    started = [j for j in left if j not in used and scores[j] >= new]
    return matches, started


@pytest.mark.parametrize("seed", range(6))
def test_byte_associate_matches_numpy_restatement(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(3, 9), rng.integers(3, 12)
    tracks = TrackSet(LifecycleConfig())
    names = rng.choice(["tracked", "lost", "new"], n)
    for name in names:
        slot = tracks.bank.allocate()
        state = {"tracked": TrackState.TRACKED, "lost": TrackState.LOST, "new": TrackState.NEW}
        tracks.tracks.append(_track(len(tracks.tracks) + 1, slot, state[name]))
    # Sparse IoU: most pairs do not overlap, a few overlap strongly.
    iou = np.where(rng.random((n, m)) < 0.3, rng.uniform(0.2, 1.0, (n, m)), 0.0)
    scores = rng.choice([0.05, 0.3, 0.45, 0.5, 0.55, 0.62, 0.8, 0.95], m).astype(np.float32)
    for fuse in (True, False):
        cost = np.zeros((tracks.bank.capacity, m))
        cost[tracks.slots(tracks.tracks)] = 1 - iou
        first = 1 - (1 - cost) * scores[None] if fuse else cost
        stages = ByteStages(high_thresh=0.5, low_thresh=0.1, new_track_thresh=0.6,
                            match_thresh=0.8)  # fmt: skip
        matches, new = byte_associate(tracks, first, cost, scores, stages)
        got = {(t.track_id - 1, j) for t, j in matches}
        want, want_new = _byte_reference(list(names), iou, scores, fuse)
        assert got == want
        assert sorted(new.tolist()) == sorted(want_new)


def _track(track_id, slot, state):
    from jaxmot.core.lifecycle import Track

    return Track(track_id, slot, state, 1, 1, 1.0, np.zeros(4, np.float32))


def _frame(boxes, scores):
    return FrameDetections(np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores))


def _walker(t, x0=100.0, y0=100.0):
    return [x0 + 3.0 * t, y0, 40.0, 100.0]


def test_low_score_detections_extend_tracks_but_never_start_them():
    tracker = ByteTracker()
    for t in range(5):
        assert tracker.update(_frame([_walker(t)], [0.9])).ids.tolist() == [1]
    # The person is half occluded: score 0.3. Second stage keeps the track; a low-score
    # detection elsewhere starts nothing.
    out = tracker.update(_frame([_walker(5), [400, 300, 40, 100]], [0.3, 0.3]))
    assert out.ids.tolist() == [1] and out.detection_index.tolist() == [0]
    assert len(tracker.tracks.tracks) == 1
    # At or below 0.1 a detection is dropped even for the second stage.
    assert len(tracker.update(_frame([_walker(6)], [0.1]))) == 0


def test_new_track_threshold_and_the_exact_split_score():
    tracker = ByteTracker()
    tracker.update(_frame([_walker(0)], [0.9]))
    # 0.55 is a high detection (> 0.5) but below the new-track threshold 0.6; 0.5 exactly
    # is neither high nor low. Neither starts a track.
    tracker.update(_frame([_walker(1), [400, 300, 40, 100], [500, 300, 40, 100]],
                          [0.9, 0.55, 0.5]))  # fmt: skip
    assert [t.track_id for t in tracker.tracks.tracks] == [1]
    # 0.65 starts an unconfirmed track, reported from its second match on.
    out = tracker.update(_frame([_walker(2), [400, 300, 40, 100]], [0.9, 0.65]))
    assert out.ids.tolist() == [1]
    assert tracker.tracks.tracks[1].state == TrackState.NEW
    out = tracker.update(_frame([_walker(3), [401, 300, 40, 100]], [0.9, 0.65]))
    assert out.ids.tolist() == [1, 2]


def test_fused_score_decides_the_first_stage():
    """IoU 0.3 at score 0.6: fused cost 1 - 0.18 = 0.82 > 0.8 (no match), plain 0.7."""
    box = [100.0, 100.0, 40.0, 100.0]
    shifted = [100.0 + 40.0 * (1 - 0.3) / (1 + 0.3), 100.0, 40.0, 100.0]  # IoU 0.3
    ids = {}
    for fuse in (True, False):
        tracker = ByteTracker(ByteTrackConfig(fuse_score=fuse))
        for _ in range(2):  # on frame 3 a new track is no longer confirmed at birth
            tracker.update(_frame([box], [0.9]))
        ids[fuse] = tracker.update(_frame([shifted], [0.6])).ids.tolist()
    assert ids[True] == [] and ids[False] == [1]


def test_lost_buffer_floors_with_the_frame_rate_and_kalman_box_is_reported():
    assert ByteTracker(frame_rate=25).tracks.max_lost_frames == 25
    assert ByteTracker(frame_rate=14).tracks.max_lost_frames == 14
    tracker = ByteTracker()
    for t in range(4):
        out = tracker.update(_frame([_walker(t)], [0.9]))
    # The reported box is the corrected Kalman state, not the detection.
    assert not np.allclose(out.boxes[0], _walker(3))
    np.testing.assert_allclose(out.boxes[0], _walker(3), atol=3.0)


def test_generated_sequence_no_recompiles_and_sane_output():
    scene = simulate(SceneConfig(num_frames=80, seed=4, render=False))
    dets = scene.detections
    frames = [_frame(dets.boxes[dets.for_frame(f)], dets.scores[dets.for_frame(f)])
              for f in range(1, 81)]  # fmt: skip
    tracker = make_tracker("bytetrack", frame_rate=30)
    assert isinstance(tracker, ByteTracker)
    for f in frames[:40]:
        tracker.update(f)
    with CompileCounter() as compiles:
        outs = [tracker.update(f) for f in frames[40:]]
    assert compiles.count == 0
    reported = sum(len(o) for o in outs)
    ids = {int(i) for o in outs for i in o.ids}
    gt_ids = {int(i) for i in scene.gt.ids[scene.gt.frames > 40]}
    assert reported > 0.5 * (scene.gt.frames > 40).sum()
    assert len(ids) <= 2 * len(gt_ids)


def test_config_validation():
    with pytest.raises(ValueError, match="low_thresh"):
        ByteTrackConfig(track_thresh=0.05)
    with pytest.raises(ValueError, match="match_thresh"):
        ByteTrackConfig(match_thresh=0.0)
    cfg = dataclasses.replace(ByteTrackConfig(), new_track_thresh=0.9)
    assert cfg.stages.new_track_thresh == 0.9
    assert ByteTrackConfig().stages.new_track_thresh == pytest.approx(0.6)
