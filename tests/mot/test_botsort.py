"""BoT-SORT on the shared lifecycle: camera-motion estimates on shifted images, the
fused cost against a NumPy re-statement, hand-made frames, and a rendered sequence."""

import cv2
import numpy as np
import pytest

from jaxmot.core.compiles import CompileCounter
from jaxmot.core.registry import make_tracker
from jaxmot.core.synthetic import SceneConfig, render_frames, simulate
from jaxmot.core.tracker import FrameDetections
from jaxmot.mot.botsort import BoTSortConfig, BoTSortTracker, botsort_cost
from jaxmot.mot.cmc import CameraMotion


def _texture(height=360, width=480, seed=0, blur=2.0):
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (height, width)).astype(np.float32)
    grey = cv2.GaussianBlur(noise, (0, 0), blur)
    grey = (grey - grey.min()) / (grey.max() - grey.min()) * 255
    return np.repeat(grey.astype(np.uint8)[:, :, None], 3, axis=2)


def _view(big, dx, dy, top=40, left=40, height=240, width=320):
    """The camera's image after the scene moved by (dx, dy) pixels in the image."""
    return big[top - dy : top - dy + height, left - dx : left - dx + width]


@pytest.mark.parametrize("method", ["sparseOptFlow", "ecc"])
@pytest.mark.parametrize("shift", [(6, -4), (-11, 3)])
def test_cmc_recovers_a_known_shift(method, shift):
    big = _texture()
    cmc = CameraMotion(method)
    np.testing.assert_array_equal(cmc.apply(_view(big, 0, 0)), np.eye(2, 3))  # first frame
    warp = cmc.apply(_view(big, *shift))
    np.testing.assert_allclose(warp[:, 2], shift, atol=0.5)
    np.testing.assert_allclose(warp[:, :2], np.eye(2), atol=0.01)
    # Frame to frame: the next estimate is relative to the previous frame.
    warp = cmc.apply(_view(big, shift[0] + 2, shift[1]))
    np.testing.assert_allclose(warp[:, 2], [2, 0], atol=0.5)


def test_cmc_without_frames_or_method_is_the_identity():
    assert np.array_equal(CameraMotion().apply(None), np.eye(2, 3))
    cmc = CameraMotion("none")
    big = _texture()
    cmc.apply(_view(big, 0, 0))
    assert np.array_equal(cmc.apply(_view(big, 5, 5)), np.eye(2, 3))
    with pytest.raises(ValueError, match="camera-motion method"):
        CameraMotion("orb")


def _numpy_cost(track_xywh_center, det_xyxy, scores, track_feat=None, det_feat=None):
    """BoT-SORT's first-stage cost restated (bot_sort.py): IoU distance, mask where it
    exceeds 0.5, fuse_score, halved cosine distance set to 1 above 0.25 or masked, min."""
    cx, cy, w, h = track_xywh_center.T
    tracks = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    iou = np.zeros((len(tracks), len(det_xyxy)))
    for i, a in enumerate(tracks):
        for j, b in enumerate(det_xyxy):
            iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            inter = iw * ih
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            iou[i, j] = inter / union
    dist = 1 - iou
    mask = dist > 0.5
    fused = 1 - (1 - dist) * scores[None]
    if track_feat is None:
        return fused, dist
    t = track_feat / np.linalg.norm(track_feat, axis=1, keepdims=True)
    d = det_feat / np.linalg.norm(det_feat, axis=1, keepdims=True)
    emb = np.maximum(0.0, 1 - t @ d.T) / 2
    emb[emb > 0.25] = 1.0
    emb[mask] = 1.0
    return np.minimum(fused, emb), dist


@pytest.mark.parametrize("with_features", [False, True])
def test_botsort_cost_matches_numpy(with_features):
    rng = np.random.default_rng(3)
    c, b = 6, 5
    centres = np.stack([rng.uniform(100, 140, c), rng.uniform(100, 140, c),
                        rng.uniform(30, 50, c), rng.uniform(80, 120, c)], 1)  # fmt: skip
    mean = np.concatenate([centres, np.zeros((c, 4))], 1).astype(np.float32)
    xy = rng.uniform(80, 120, (b, 2))
    det = np.concatenate([xy, xy + rng.uniform([30, 80], [50, 120], (b, 2))], 1)
    scores = rng.uniform(0.6, 1.0, b).astype(np.float32)
    base = rng.normal(size=(3, 16))
    track_feat = base[rng.integers(0, 3, c)] + 0.1 * rng.normal(size=(c, 16))
    det_feat = base[rng.integers(0, 3, b)] + 0.1 * rng.normal(size=(b, 16))
    det_inputs = {
        "boxes_xyxy": det.astype(np.float32),
        "scores": scores,
        "fuse": np.bool_(True),
        "proximity_thresh": np.float32(0.5),
        "appearance_thresh": np.float32(0.25),
    }
    track_inputs = None
    if with_features:
        det_inputs["features"] = det_feat.astype(np.float32)
        norm = track_feat / np.linalg.norm(track_feat, axis=1, keepdims=True)
        track_inputs = {"features": norm.astype(np.float32)}
    got = np.asarray(botsort_cost(mean, None, track_inputs, det_inputs))
    want = _numpy_cost(centres, det, scores, *((track_feat, det_feat) if with_features else ()))
    np.testing.assert_allclose(got[0], want[0], atol=1e-5)
    np.testing.assert_allclose(got[1], want[1], atol=1e-5)


def _frame(boxes, scores, features=None):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return FrameDetections(boxes, np.asarray(scores, np.float32), features)


def test_camera_motion_keeps_the_id_through_a_pan():
    """The camera pans 24 px in one frame: the 20 px wide box no longer overlaps its
    prediction, unless the track is moved by the estimated camera motion (sparse optical
    flow; a coarse texture, so that Lucas-Kanade follows a shift that large)."""
    big = np.pad(_texture(blur=4.0), ((0, 0), (60, 60), (0, 0)), mode="reflect")
    results = {}
    for with_frames in (True, False):
        tracker = BoTSortTracker()
        for _ in range(5):
            image = _view(big, 0, 0, left=100) if with_frames else None
            out = tracker.update(_frame([[100, 80, 20, 50]], [0.9]), frame=image)
            assert out.ids.tolist() == [1]
        image = _view(big, 24, 0, left=100) if with_frames else None
        results[with_frames] = tracker.update(_frame([[124, 80, 20, 50]], [0.9]), frame=image)
    assert results[True].ids.tolist() == [1]
    np.testing.assert_allclose(results[True].boxes[0], [124, 80, 20, 50], atol=1.0)
    assert results[False].ids.tolist() == []  # a new, unconfirmed track instead


def test_appearance_overrides_iou_when_both_boxes_are_close():
    """Two overlapping people swap places between frames: IoU alone keeps the ids on the
    boxes; their embeddings move the ids with the people."""
    e1, e2 = np.eye(8, dtype=np.float32)[:2]
    boxes = [[100, 100, 40, 100], [108, 100, 40, 100]]  # IoU 0.67 with each other
    first = {}
    for features in (True, False):
        tracker = BoTSortTracker()
        feats = np.stack([e1, e2]) if features else None
        for _ in range(3):
            tracker.update(_frame(boxes, [0.9, 0.9], feats))
        swapped = np.stack([e2, e1]) if features else None
        out = tracker.update(_frame(boxes, [0.9, 0.9], swapped))
        first[features] = dict(zip(out.ids.tolist(), out.detection_index.tolist(), strict=True))
    assert first[False] == {1: 0, 2: 1}
    assert first[True] == {1: 1, 2: 0}
    # Features are optional frame by frame.
    tracker.update(_frame(boxes, [0.9, 0.9]))


def test_rendered_sequence_with_cmc_no_recompiles():
    scene = simulate(SceneConfig(num_frames=40, width=320, height=240, num_objects=6, seed=2))
    images = list(render_frames(scene))
    dets = scene.detections
    tracker = make_tracker("botsort", frame_rate=30)
    assert isinstance(tracker, BoTSortTracker) and tracker.needs_frames
    outs = []
    for t, image in enumerate(images, start=1):
        rows = dets.for_frame(t)
        frame_dets = _frame(dets.boxes[rows], dets.scores[rows])
        if t == 21:
            counter = CompileCounter().__enter__()
        outs.append(tracker.update(frame_dets, frame=image))
    counter.__exit__(None, None, None)
    assert counter.count == 0
    # A static camera: the estimated motion stays near the identity.
    warp = tracker.cmc.apply(images[-1])
    assert np.abs(warp[:, 2]).max() < 1.0
    assert sum(len(o) for o in outs) > 0.5 * len(scene.gt.ids)


def test_config_checks():
    with pytest.raises(ValueError, match="cmc_method"):
        BoTSortConfig(cmc_method="orb")
    from jaxmot.core.lifecycle import LifecycleConfig

    with pytest.raises(ValueError, match="xywh"):
        BoTSortConfig(lifecycle=LifecycleConfig())
    assert BoTSortTracker(frame_rate=25).tracks.max_lost_frames == 25
