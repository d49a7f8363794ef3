"""The `jde` tracker: JDE's association order, thresholds and lifecycle on constructed cases."""

import dataclasses

import jax
import numpy as np
import pytest

from jaxmot.core import kalman
from jaxmot.core.compiles import CompileCounter
from jaxmot.core.lifecycle import TrackState
from jaxmot.core.mot_io import MOTSequence, SequenceInfo
from jaxmot.core.padding import bucket_size
from jaxmot.core.registry import TRACKER_NAMES, make_tracker
from jaxmot.core.sequence import track_sequence
from jaxmot.core.synthetic import SceneConfig, simulate
from jaxmot.core.tracker import FrameDetections
from jaxmot.jde.tracker import JDETracker, JDETrackerConfig, embedding_distance, jde_costs

DIM = 8
BOX = [100.0, 100.0, 30.0, 100.0]  # narrow (w/h 0.3): IoU 0 comes before the Kalman gate


def _unit(k, dim=DIM):
    return np.eye(dim, dtype=np.float32)[k]


def _at_distance(d, metric="cosine"):
    """A unit feature at distance d from _unit(0) (Euclidean on unit vectors: d^2 / 2
    is the cosine distance)."""
    if metric == "euclidean":
        d = d * d / 2
    return np.float32(1 - d) * _unit(0) + np.float32(np.sqrt(1 - (1 - d) ** 2)) * _unit(1)


def _dets(boxes, features, scores=None):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    scores = np.ones(len(boxes), np.float32) if scores is None else np.asarray(scores, np.float32)
    features = np.asarray(features, np.float32).reshape(len(boxes), DIM)
    return FrameDetections(boxes, scores, features)


def _empty():
    return FrameDetections.empty(DIM)


def _shifted(dx, box=BOX):
    return [box[0] + dx, *box[1:]]


def _state(tracker, track_id):
    return next((t.state for t in tracker.tracks.tracks if t.track_id == track_id), None)


def test_defaults_are_the_official_ones():
    cfg = JDETrackerConfig()
    assert (cfg.conf_threshold, cfg.embedding_threshold, cfg.iou_threshold) == (0.5, 0.7, 0.5)
    assert (cfg.unconfirmed_threshold, cfg.embedding_weight) == (0.7, 0.98)
    assert (cfg.gating_threshold, cfg.min_box_area, cfg.max_aspect) == (9.4877, 200.0, 1.6)
    assert cfg.embedding_metric == "euclidean"  # matching.py's cdist with no metric
    life = cfg.lifecycle
    assert (life.min_hits, life.max_lost, life.feature_momentum) == (2, 30, 0.9)
    assert (life.duplicate_iou, life.report_box, life.scale_with_frame_rate) == (
        0.85,
        "kalman",
        True,
    )
    assert "jde" in TRACKER_NAMES and make_tracker("jde").needs_features
    with pytest.raises(ValueError, match="embedding_weight"):
        JDETrackerConfig(embedding_weight=1.5)
    with pytest.raises(ValueError, match="embedding_metric"):
        JDETrackerConfig(embedding_metric="l1")


@pytest.mark.parametrize("jit", [False, True])
def test_embedding_distance_on_hand_made_embeddings(jit):
    s = np.float32(np.sqrt(0.5))
    tracks = np.array([[1, 0, 0], [s, s, 0], [0, 0, 0]], np.float32)  # last: a free slot
    # Detections: any norm (normalised inside); the last row is padding.
    dets = np.array([[2, 0, 0], [0, 3, 0], [-1, 0, 0], [0, 0, 0]], np.float32)
    cos = 1 - np.array([[1, 0, -1, 0], [s, s, -s, 0], [0, 0, 0, 0]], np.float32)
    cos[:, 3] = cos[2, :] = 1  # padding and free slots: distance 1
    # |t - d| of unit vectors by hand: 0, sqrt(2), 2; 45 degrees: sqrt(2 - sqrt(2)).
    r = np.sqrt(2 - np.sqrt(2))
    euclid = np.array(
        [[0, np.sqrt(2), 2, 1], [r, r, np.sqrt(2 + np.sqrt(2)), 1], [1, 1, 1, 1]], np.float32
    )
    fn = jax.jit(embedding_distance) if jit else embedding_distance
    np.testing.assert_allclose(fn(tracks, dets, np.bool_(True)), euclid, atol=1e-6)
    np.testing.assert_allclose(fn(tracks, dets, np.bool_(False)), cos, atol=1e-6)


@pytest.mark.parametrize(("metric", "matched"), [("euclidean", False), ("cosine", True)])
def test_metric_moves_the_stage1_gate(metric, matched):
    """cos = 0.5 between a lost track and its detection: Euclidean distance 1.0 (fused
    0.98 > 0.7) misses where the cosine distance 0.5 (fused 0.49) matches."""
    tracker = JDETracker(JDETrackerConfig(embedding_metric=metric))
    for _ in range(3):
        tracker.update(_dets([BOX], [_unit(0)]))
    tracker.update(_empty())
    tracker.update(_dets([BOX], [_unit(0) + np.sqrt(3) * _unit(1)]))  # cos 0.5
    assert (_state(tracker, 1) == TrackState.TRACKED) == matched


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_fused_cost_and_iou_match_a_numpy_reference(metric):
    rng = np.random.default_rng(0)
    c, m, b = 5, 6, 8  # slots, real detections, padded detections
    # Predicted Kalman states: xyah with some velocity, per-coordinate covariance blocks.
    xywh = np.column_stack([rng.uniform(0, 300, (c, 2)), rng.uniform(20, 40, (c, 2))])
    xywh[:, 3] *= 3
    xyah = np.column_stack([xywh[:, :2] + xywh[:, 2:] / 2, xywh[:, 2] / xywh[:, 3], xywh[:, 3]])
    mean = np.column_stack([xyah, rng.normal(0, 2, (c, 4)) * [1, 1, 0, 0.1]]).astype(np.float32)
    pp = (xyah[:, 3:] * rng.uniform(0.05, 0.15, (c, 4))) ** 2
    pp[:, 2] = 1e-4
    cov = np.stack([pp, 0.1 * pp, 0.05 * pp], axis=1).astype(np.float32)  # [C, 3, 4]
    # Detections near the tracks (inside the gate) and far away (outside).
    near = xywh[rng.integers(0, c, m)] + rng.normal(0, [6, 6, 2, 5], (m, 4))
    near[::3, :2] += 400
    det_xyxy = np.column_stack([near[:, :2], near[:, :2] + near[:, 2:]]).astype(np.float32)
    track_feat = rng.normal(size=(c, DIM)).astype(np.float32)
    track_feat /= np.linalg.norm(track_feat, axis=1, keepdims=True)
    det_feat = (3 * rng.normal(size=(m, DIM))).astype(np.float32)
    det_feat[0] = track_feat[0] * 5  # distance 0 (rounding may make it negative: clipped)

    def run(size):
        det_inputs = {
            "boxes_xyxy": np.pad(det_xyxy, ((0, size - m), (0, 0))),
            "features": np.pad(det_feat, ((0, size - m), (0, 0))),
            "embedding_weight": np.float32(0.98),
            "gating_threshold": np.float32(9.4877),
            "euclidean": np.bool_(metric == "euclidean"),
        }
        return np.asarray(jax.jit(jde_costs)(mean, cov, {"features": track_feat}, det_inputs))

    got = run(b)
    assert got.shape == (2, c, b)
    np.testing.assert_allclose(got[:, :, :m], run(m), rtol=1e-6)  # padding changes nothing

    # The reference: the full-covariance Kalman ops (8x8, Cholesky) and plain loops.
    full_cov = np.zeros((c, 8, 8), np.float32)
    for k in range(4):
        full_cov[:, k, k], full_cov[:, k, 4 + k] = cov[:, 0, k], cov[:, 1, k]
        full_cov[:, 4 + k, k], full_cov[:, 4 + k, 4 + k] = cov[:, 1, k], cov[:, 2, k]
    det_wh = det_xyxy[:, 2:] - det_xyxy[:, :2]
    det_xyah = np.column_stack(
        [det_xyxy[:, :2] + det_wh / 2, det_wh[:, 0] / det_wh[:, 1], det_wh[:, 1]]
    )
    gating = np.asarray(jax.jit(kalman.gating_distance)(mean, full_cov, det_xyah))
    fused = np.zeros((c, m))
    iou_distance = np.zeros((c, m))
    for i in range(c):
        cx, cy, a, h = mean[i, :4]
        tx1, ty1, tx2, ty2 = cx - a * h / 2, cy - h / 2, cx + a * h / 2, cy + h / 2
        for j in range(m):
            f = det_feat[j] / np.linalg.norm(det_feat[j])
            if metric == "euclidean":
                dist = float(np.sqrt(np.sum((track_feat[i] - f) ** 2)))
            else:
                dist = max(0.0, 1.0 - float(track_feat[i] @ f))
            fused[i, j] = np.inf if gating[i, j] > 9.4877 else 0.98 * dist + 0.02 * gating[i, j]
            x1, y1, x2, y2 = det_xyxy[j]
            inter = max(0, min(tx2, x2) - max(tx1, x1)) * max(0, min(ty2, y2) - max(ty1, y1))
            union = (tx2 - tx1) * (ty2 - ty1) + (x2 - x1) * (y2 - y1) - inter
            iou_distance[i, j] = 1 - inter / union
    gated = np.isinf(fused)
    assert gated.any() and (~gated).any() and (iou_distance < 1).any()
    np.testing.assert_array_equal(np.isinf(got[0, :, :m]), gated)
    np.testing.assert_allclose(got[0, :, :m][~gated], fused[~gated], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[1, :, :m], iou_distance, atol=1e-5)
    assert (got[0, :, :m] >= 0).all()


def test_stage1_refinds_a_track_by_embedding_when_iou_is_zero():
    for feature, same_id in [(_unit(0), True), (_unit(2), False)]:
        tracker = JDETracker()
        tracker.update(_dets([BOX], [_unit(0)]))
        # 35 px right: no overlap with a 30 px wide box, but inside the young track's gate.
        out = tracker.update(_dets([_shifted(35)], [feature]))
        assert (out.ids.tolist() == [1]) == same_id
        assert _state(tracker, 1) == (TrackState.TRACKED if same_id else TrackState.LOST)


def test_embedding_precedes_iou_a_lost_track_claims_its_detection():
    def run(feature):
        tracker = JDETracker()
        beside = _shifted(8)  # IoU 22 / 38 = 0.58 with BOX
        for _ in range(2):
            tracker.update(_dets([BOX, beside], [_unit(0), _unit(1)]))  # ids 1, 2
        tracker.update(_dets([beside], [_unit(1)]))  # id 1 is LOST
        return tracker.update(_dets([BOX], [feature]))

    # Stage 1 gives the detection to the lost track that looks like it...
    assert run(_unit(0)).ids.tolist() == [1]
    # ...otherwise stage 2 gives it to the tracked track that overlaps it.
    assert run(_unit(5)).ids.tolist() == [2]


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize(
    ("distance", "lost", "shift", "same_id"),
    [
        (0.70, True, 0, True),  # fused 0.686: stage 1 re-finds the lost track
        (0.72, True, 0, False),  # fused 0.7056 > 0.7, and lost tracks skip stage 2
        (0.72, False, 0, True),  # a tracked track: stage 2 matches at IoU 1
        (0.72, False, 8, True),  # IoU 0.58 >= 0.5
        (0.72, False, 12, False),  # IoU 18 / 42 = 0.43 < 0.5
    ],
)
def test_stage1_and_stage2_thresholds(metric, distance, lost, shift, same_id):
    tracker = JDETracker(JDETrackerConfig(embedding_metric=metric))
    for _ in range(3):
        tracker.update(_dets([BOX], [_unit(0)]))
    if lost:
        tracker.update(_empty())
        assert _state(tracker, 1) == TrackState.LOST
    tracker.update(_dets([_shifted(shift)], [_at_distance(distance, metric)]))
    assert (_state(tracker, 1) == TrackState.TRACKED) == same_id
    assert (2 in {t.track_id for t in tracker.tracks.tracks}) != same_id


@pytest.mark.parametrize("lost_frames", [0, 4])
def test_detection_outside_the_kalman_gate_is_never_matched_by_embedding(lost_frames):
    tracker = JDETracker()
    for _ in range(3):
        tracker.update(_dets([BOX], [_unit(0)]))
    for _ in range(lost_frames):
        tracker.update(_empty())
    far = _shifted(120)  # the same features, far outside the gate
    tracker.update(_dets([far], [_unit(0)]))
    assert _state(tracker, 1) == TrackState.LOST
    assert [t.track_id for t in tracker.tracks.with_state(TrackState.NEW)] == [2]


@pytest.mark.parametrize(("shift", "matched"), [(14, True), (18, False)])
def test_unconfirmed_tracks_match_only_by_iou_at_0_7(shift, matched):
    tracker = JDETracker()
    tracker.update(_empty())
    tracker.update(_empty())  # tracks born in frames 1 and 2 start confirmed (lifecycle)
    assert len(tracker.update(_dets([BOX], [_unit(0)]))) == 0  # id 1 is NEW, not reported
    assert _state(tracker, 1) == TrackState.NEW
    # IoU 16 / 44 = 0.36 (distance 0.64) or 12 / 48 = 0.25 (0.75); the same embedding
    # does not help: unconfirmed tracks take no part in stage 1.
    out = tracker.update(_dets([_shifted(shift)], [_unit(0)]))
    assert out.ids.tolist() == ([1] if matched else [])
    assert _state(tracker, 1) == (TrackState.TRACKED if matched else None)  # removed
    assert (_state(tracker, 2) == TrackState.NEW) != matched


def test_unconfirmed_track_removed_when_missed():
    tracker = JDETracker()
    tracker.update(_empty())
    tracker.update(_empty())
    tracker.update(_dets([BOX], [_unit(0)]))
    tracker.update(_empty())
    assert tracker.tracks.tracks == []


def test_weak_detections_extend_tracks_but_never_start_them():
    tracker = JDETracker()
    out = tracker.update(_dets([BOX, _shifted(200)], [_unit(0), _unit(1)], scores=[0.9, 0.49]))
    assert out.ids.tolist() == [1] and len(tracker.tracks.tracks) == 1
    out = tracker.update(_dets([BOX], [_unit(0)], scores=[0.3]))
    assert out.ids.tolist() == [1]
    np.testing.assert_allclose(out.scores, [0.3])
    tracker.update(_dets([BOX, _shifted(200)], [_unit(0), _unit(1)], scores=[0.3, 0.5]))
    assert [t.track_id for t in tracker.tracks.tracks] == [1, 2]  # a score of 0.5 starts one


def test_reported_tracks_filtered_by_area_and_aspect_but_kept_alive():
    boxes = [
        [0, 0, 10, 20],  # area 200: not > 200, dropped
        [100, 0, 10, 21],  # area 210: kept
        [200, 0, 34, 20],  # w/h 1.7 > 1.6: dropped
        [300, 0, 30, 20],  # w/h 1.5: kept
    ]
    tracker = JDETracker()
    feats = [_unit(k) for k in range(4)]
    for _ in range(2):
        out = tracker.update(_dets(boxes, feats))
        assert out.ids.tolist() == [2, 4]
    assert [t.track_id for t in tracker.tracks.with_state(TrackState.TRACKED)] == [1, 2, 3, 4]
    wide = JDETracker(dataclasses.replace(JDETrackerConfig(), min_box_area=0, max_aspect=2))
    assert wide.update(_dets(boxes, feats)).ids.tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize(("frame_rate", "buffer"), [(30.0, 30), (15.0, 15)])
def test_track_buffer_scales_with_frame_rate(frame_rate, buffer):
    assert make_tracker("jde", frame_rate).tracks.max_lost_frames == buffer
    for gap, refound in [(buffer, True), (buffer + 1, False)]:
        tracker = JDETracker(frame_rate=frame_rate)
        for _ in range(3):
            tracker.update(_dets([BOX], [_unit(0)]))
        for _ in range(gap):
            tracker.update(_empty())
        assert (tracker.update(_dets([BOX], [_unit(0)])).ids.tolist() == [1]) == refound


def test_embedding_is_an_ema_with_momentum_0_9():
    tracker = JDETracker()
    tracker.update(_dets([BOX], [3 * _unit(0)]))
    second = 2 * _at_distance(0.3)  # not unit length: normalised before the average
    tracker.update(_dets([BOX], [second]))
    (track,) = tracker.tracks.tracks
    expected = 0.9 * _unit(0) + 0.1 * second / np.linalg.norm(second)
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(tracker.tracks.features[track.slot], expected, atol=1e-6)


def test_compiles_once_per_bucket():
    scene = simulate(SceneConfig(num_frames=40, render=False, seed=3))
    dets = scene.detections
    feats = np.random.default_rng(0).normal(size=(len(dets), DIM)).astype(np.float32)
    tracker = JDETracker()
    seen, det_buckets = set(), set()
    for t in range(1, 41):
        rows = dets.for_frame(t)
        keep = rows[: 1 + t % len(rows)] if len(rows) else rows  # vary the count
        before = tracker.tracks.bank.capacity
        with CompileCounter() as compiles:
            tracker.update(FrameDetections(dets.boxes[keep], dets.scores[keep], feats[keep]))
        key = (before, tracker.tracks.bank.capacity, bucket_size(len(keep)))
        # A new (capacity, detection bucket): the scorer, and the Kalman flush that
        # reports boxes, plus the two concatenations (mean, covariance) of a bank that
        # grows; the same bucket again: nothing.
        limit = 0 if key in seen else 2 + 2 * (key[0] != key[1])
        assert compiles.count <= limit, (t, key, compiles.count)
        seen.add(key)
        det_buckets.add(key[2])
    assert len(det_buckets) >= 2


def _oracle_features(scene, dim=DIM, noise=0.3, seed=0):
    """Identity prototypes plus noise (cosine distance ~0.1 within an identity)."""
    rng = np.random.default_rng(seed)
    ids = scene.det_gt_ids
    prototypes = rng.normal(size=(ids.max() + 1, dim))
    random = rng.normal(size=(len(ids), dim))  # false positives look like no one
    feats = np.where((ids >= 0)[:, None], prototypes[np.maximum(ids, 0)], random)
    return (feats + noise * rng.normal(size=feats.shape)).astype(np.float32)


def _track_scene(names, dim, seed=1):
    from jaxmot.core.eval.metrics import evaluate

    scene = simulate(SceneConfig(num_frames=100, render=False, seed=seed))
    info = SequenceInfo("S", None, 30.0, 100, 640, 480)
    sequence = MOTSequence(info, scene.detections, scene.gt)
    feats = _oracle_features(scene, dim=dim)
    metrics = {}
    for name in names:
        run = track_sequence(make_tracker(name), sequence, features=feats)
        metrics[name] = evaluate({"S": (scene.gt, run.results)})["OVERALL"]
    return metrics


def test_synthetic_scene_with_oracle_embeddings_is_tracked_well():
    jde = _track_scene(["jde"], dim=DIM)["jde"]
    # Measured: MOTA 0.691, IDF1 0.824, no ID switch (longterm: 0.504, 0.686, 137).
    assert jde["MOTA"] > 0.65 and jde["IDF1"] > 0.78 and jde["IDs"] <= 3, jde


@pytest.mark.slow  # compiling `longterm` too doubles the time
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_jde_beats_longterm_on_the_same_detections_and_embeddings(seed):
    metrics = _track_scene(["longterm", "jde"], dim=32, seed=seed)
    # Measured (seeds 1-4): jde MOTA 0.70/0.69/0.73/0.77, IDF1 0.83/0.81/0.84/0.87, 0-2 ID
    # switches; longterm 0.55/0.46/0.49/0.58, 0.75/0.68/0.70/0.76, 85-129 switches (its
    # IoU gate of 0.5 on tracked tracks breaks tracks under box noise).
    jde, longterm = metrics["jde"], metrics["longterm"]
    assert jde["MOTA"] > 0.65 and jde["IDF1"] > 0.78 and jde["IDs"] <= 3, jde
    assert jde["MOTA"] > longterm["MOTA"] and jde["IDF1"] > longterm["IDF1"], metrics


def test_track_pipeline_runs_jde_from_a_features_file(tmp_path):
    from jaxmot.core.features import save_detection_features
    from jaxmot.core.mot_io import read_results
    from jaxmot.core.synthetic import generate_sequence
    from pipelines import track

    config = SceneConfig(num_frames=20, width=320, height=240, seed=2, render=False)
    seq_dir = generate_sequence(tmp_path, config, name="SMALL")
    scene = simulate(config)
    path = tmp_path / "f.npz"
    save_detection_features(path, scene.detections, _oracle_features(scene))
    out = tmp_path / "r.txt"
    args = ["--sequence", str(seq_dir), "--tracker", "jde", "--features", str(path)]
    assert track.main([*args, "--output", str(out), "--no-progress"]) == 0
    results = read_results(out)
    assert len(results) > 0 and results.frames.max() <= 20
