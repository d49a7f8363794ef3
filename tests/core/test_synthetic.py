"""Synthetic scene generator: determinism, MOT layout, gt sanity, detector statistics."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scenes import SMALL_SCENE
from scipy.optimize import linear_sum_assignment

from jaxmot.core import mot_io as mot
from jaxmot.core import synthetic as syn

SMALL = SMALL_SCENE
# The demo scene without pixels: trajectories are cheap.
DEMO_NO_PIXELS = syn.SceneConfig(render=False)


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def small_sequence(tmp_path_factory):
    return syn.generate_sequence(tmp_path_factory.mktemp("a"), SMALL, name="S")


def test_same_config_gives_byte_identical_files(small_sequence, tmp_path):
    again = syn.generate_sequence(tmp_path, SMALL, name="S")
    a, b = _files(small_sequence), _files(again)
    assert sorted(a) == sorted(b)
    assert all(a[k] == b[k] for k in a), [k for k in a if a[k] != b[k]]
    other = syn.generate_sequence(tmp_path, dataclasses.replace(SMALL, seed=4), name="T")
    assert _files(other)["gt/gt.txt"] != a["gt/gt.txt"]


def test_layout(small_sequence):
    assert small_sequence.name == "S"
    for part in ("seqinfo.ini", "gt/gt.txt", "det/det.txt"):
        assert (small_sequence / part).is_file(), part
    frames = sorted((small_sequence / "img1").iterdir())
    assert [p.name for p in frames] == [f"{i:06d}.jpg" for i in range(1, SMALL.num_frames + 1)]
    seq = mot.read_sequence(small_sequence)
    assert (seq.info.name, seq.info.length) == ("S", SMALL.num_frames)
    assert (seq.info.width, seq.info.height, seq.info.frame_rate) == (320, 240, 30.0)
    img = seq.frame(SMALL.num_frames)
    assert img.shape == (240, 320, 3) and img.dtype == np.uint8
    # Not a blank image: a textured background with figures on it.
    assert img.std() > 10


def test_files_hold_exactly_the_simulated_arrays(small_sequence):
    scene = syn.simulate(SMALL)
    seq = mot.read_sequence(small_sequence)
    for name in ("frames", "ids", "boxes", "flags", "classes", "visibility"):
        np.testing.assert_array_equal(getattr(seq.gt, name), getattr(scene.gt, name), name)
    for name in ("frames", "boxes", "scores"):
        np.testing.assert_array_equal(
            getattr(seq.detections, name), getattr(scene.detections, name), name
        )


def test_render_false_writes_no_frames_and_same_annotations(small_sequence, tmp_path):
    seq_dir = syn.generate_sequence(tmp_path, dataclasses.replace(SMALL, render=False), name="S")
    assert not (seq_dir / "img1").exists()
    assert _files(seq_dir) == {
        k: v for k, v in _files(small_sequence).items() if not k.startswith("img1/")
    }
    assert mot.read_sequence(seq_dir).info.length == SMALL.num_frames


def test_regeneration_removes_stale_frames(tmp_path):
    syn.generate_sequence(tmp_path, SMALL, name="S")
    seq_dir = syn.generate_sequence(tmp_path, dataclasses.replace(SMALL, num_frames=5), name="S")
    assert len(list((seq_dir / "img1").glob("*.jpg"))) == 5


def test_ids_persist_and_boxes_move_smoothly():
    gt = syn.simulate(DEMO_NO_PIXELS).gt
    cfg = DEMO_NO_PIXELS
    for i in np.unique(gt.ids):
        rows = gt.ids == i
        # Present on consecutive frames only: nobody vanishes and comes back.
        np.testing.assert_array_equal(np.diff(gt.frames[rows]), 1)
        b = gt.boxes[rows].astype(np.float64)
        if len(b) < 3:
            continue
        centre = b[:, :2] + 0.5 * b[:, 2:]
        step = np.abs(np.diff(centre, axis=0))
        assert step.max() <= 1.1 * cfg.speed_range[1], (i, step.max())
        # Smooth: velocity changes by a fraction of a pixel per frame.
        assert np.abs(np.diff(centre, 2, axis=0)).max() < 0.5, i
        assert np.abs(np.diff(b[:, 3]) / b[:-1, 3]).max() < 0.02, i
    assert np.all(gt.boxes[:, 2:] > 0)
    h_lo, h_hi = cfg.height_range
    assert 0.75 * h_lo <= gt.boxes[:, 3].min() and gt.boxes[:, 3].max() <= 1.3 * h_hi
    aspect = gt.boxes[:, 2] / gt.boxes[:, 3]
    assert cfg.aspect_range[0] - 1e-3 <= aspect.min() <= aspect.max() <= cfg.aspect_range[1] + 1e-3


def test_people_enter_and_exit_at_the_borders():
    cfg = DEMO_NO_PIXELS
    gt = syn.simulate(cfg).gt
    ids = np.unique(gt.ids)
    assert len(ids) == cfg.num_objects
    entered = exited = 0
    for i in ids:
        rows = np.flatnonzero(gt.ids == i)
        for r, inside in ((rows[0], gt.frames[rows[0]] > 1), (rows[-1], gt.frames[rows[-1]] < 150)):
            if inside:
                x, _, w, _ = gt.boxes[r]
                assert x < 0 or x + w > cfg.width, f"id {i} appears/vanishes inside the image"
        entered += gt.frames[rows[0]] > 1
        exited += gt.frames[rows[-1]] < cfg.num_frames
    assert entered >= 2 and exited >= 2
    per_frame = np.bincount(gt.frames)[1:]
    assert 5 <= per_frame.mean() <= 12
    # Nothing fully outside the image is written.
    b = gt.boxes
    assert np.all((b[:, 0] < cfg.width) & (b[:, 0] + b[:, 2] > 0))
    assert np.all((b[:, 1] < cfg.height) & (b[:, 1] + b[:, 3] > 0))


def test_occlusions_happen_and_visibility_is_a_fraction():
    gt = syn.simulate(DEMO_NO_PIXELS).gt
    assert np.all((gt.visibility >= 0) & (gt.visibility <= 1))
    assert (gt.visibility < 0.5).sum() >= 10
    assert (gt.visibility == 1).mean() > 0.3
    # gt.txt alone defines it: nearer = lower bottom edge, clipped by the image border.
    for f in (1, 50, 150):
        rows = gt.for_frame(f)
        b = gt.boxes[rows].astype(np.float64)
        vis = syn.box_visibility(b, b[:, 1] + b[:, 3], 640, 480)
        np.testing.assert_allclose(gt.visibility[rows], vis, atol=1e-4)


def _naive_visibility(boxes, depth, width, height):
    """Pixel masks, integer boxes: the plain definition box_visibility must match."""
    out = []
    for i, (x, y, w, h) in enumerate(boxes):
        mask = np.zeros((height + 400, width + 400), bool)  # room for boxes outside
        mask[y + 200 : y + h + 200, x + 200 : x + w + 200] = True
        mask[:200] = mask[height + 200 :] = False
        mask[:, :200] = mask[:, width + 200 :] = False
        for j, (xj, yj, wj, hj) in enumerate(boxes):
            if depth[j] > depth[i] or (depth[j] == depth[i] and j > i):
                mask[yj + 200 : yj + hj + 200, xj + 200 : xj + wj + 200] = False
        out.append(mask.sum() / (w * h))
    return np.array(out)


@pytest.mark.parametrize("seed", range(5))
def test_box_visibility_matches_pixel_masks(seed):
    rng = np.random.default_rng(seed)
    n, width, height = 12, 120, 90
    wh = rng.integers(5, 60, (n, 2))
    xy = rng.integers(-30, 110, (n, 2))
    boxes = np.concatenate([xy, wh], 1)
    depth = rng.integers(0, 6, n)  # ties on purpose
    expected = _naive_visibility(boxes, depth, width, height)
    got = syn.box_visibility(boxes.astype(float), depth, width, height)
    np.testing.assert_allclose(got, expected, atol=1e-12)


def _iou(a, b):
    """[N, 4] xywh x [M, 4] xywh -> [N, M]."""
    ax1, ay1, bx1, by1 = a[:, None, 0], a[:, None, 1], b[None, :, 0], b[None, :, 1]
    ax2, ay2 = ax1 + a[:, None, 2], ay1 + a[:, None, 3]
    bx2, by2 = bx1 + b[None, :, 2], by1 + b[None, :, 3]
    iw = np.clip(np.minimum(ax2, bx2) - np.maximum(ax1, bx1), 0, None)
    ih = np.clip(np.minimum(ay2, by2) - np.maximum(ay1, by1), 0, None)
    inter = iw * ih
    return inter / (a[:, None, 2] * a[:, None, 3] + b[None, :, 2] * b[None, :, 3] - inter)


def _match(gt, dets, num_frames):
    """Per-frame Hungarian matching at IoU >= 0.5: (gt row, det row) pairs."""
    pairs = []
    for f in range(1, num_frames + 1):
        g, d = gt.for_frame(f), dets.for_frame(f)
        if len(g) == 0 or len(d) == 0:
            continue
        iou = _iou(gt.boxes[g].astype(float), dets.boxes[d].astype(float))
        r, c = linear_sum_assignment(-iou)
        ok = iou[r, c] >= 0.5
        pairs += list(zip(g[r[ok]], d[c[ok]], strict=True))
    return np.array(pairs).reshape(-1, 2)


def _robust_std(x):
    """Std from the median absolute deviation: a few wrong matches (a neighbour's box
    matched to a person whose own detection was missed) must not inflate it."""
    return 1.4826 * np.median(np.abs(x - np.median(x)))


@pytest.mark.parametrize(
    "model",
    [
        syn.DetectorModel(),
        syn.DetectorModel(p_max=0.7, center_std=0.02, size_std=0.08, fp_per_frame=3.0),
    ],
)
def test_detector_statistics_match_the_model(model):
    cfg = syn.SceneConfig(num_frames=500, num_objects=40, render=False, seed=7, detector=model)
    scene = syn.simulate(cfg)
    gt, dets = scene.gt, scene.detections
    pairs = _match(gt, dets, cfg.num_frames)
    matched_gt = np.zeros(len(gt), bool)
    matched_gt[pairs[:, 0]] = True

    vis = gt.visibility
    full = vis >= model.vis_hi
    assert abs(matched_gt[full].mean() - model.p_max) < 0.03
    assert matched_gt[vis <= model.vis_lo].mean() < 0.05
    mid = (vis > 0.45) & (vis < 0.55)
    expected_mid = model.detection_probability(vis[mid]).mean()
    assert abs(matched_gt[mid].mean() - expected_mid) < 0.08

    fp_per_frame = (len(dets) - len(pairs)) / cfg.num_frames
    assert abs(fp_per_frame - model.fp_per_frame) < 0.15 * model.fp_per_frame + 0.1

    # Box noise, on fully visible people well inside the image (no clipping).
    g, d = gt.boxes[pairs[:, 0]].astype(float), dets.boxes[pairs[:, 1]].astype(float)
    inner = (vis[pairs[:, 0]] == 1) & (g[:, 0] > 20) & (g[:, 0] + g[:, 2] < cfg.width - 20)
    inner &= g[:, 1] + g[:, 3] < cfg.height - 20
    g, d = g[inner], d[inner]
    assert len(g) > 500
    dcx = (d[:, 0] + d[:, 2] / 2 - g[:, 0] - g[:, 2] / 2) / g[:, 3]
    dcy = (d[:, 1] + d[:, 3] / 2 - g[:, 1] - g[:, 3] / 2) / g[:, 3]
    for measured in (_robust_std(dcx), _robust_std(dcy)):
        assert abs(measured - model.center_std) < 0.15 * model.center_std
    for measured in (_robust_std(d[:, 2] / g[:, 2]), _robust_std(d[:, 3] / g[:, 3])):
        assert abs(measured - model.size_std) < 0.15 * model.size_std

    true = scene.det_gt_ids >= 0
    assert np.all((dets.scores[true] >= 0.5) & (dets.scores[true] <= 1.0))
    assert dets.scores[~true].mean() < dets.scores[true].mean() - 0.3
    assert dets.scores[~true].max() <= model.fp_score_max
    # The oracle labels agree with the matching for almost every detection.
    assert np.mean(scene.det_gt_ids[pairs[:, 1]] == gt.ids[pairs[:, 0]]) > 0.93


def test_detections_stay_in_the_image_with_positive_size():
    scene = syn.simulate(DEMO_NO_PIXELS)
    b = scene.detections.boxes
    assert np.all(b[:, 2] > 0) and np.all(b[:, 3] > 0)
    assert np.all(b[:, 0] >= 0) and np.all(b[:, 1] >= 0)
    assert np.all(b[:, 0] + b[:, 2] <= 640 + 0.01) and np.all(b[:, 1] + b[:, 3] <= 480 + 0.01)
    assert np.all(np.diff(scene.detections.frames) >= 0)


def test_detection_probability_ramp():
    model = syn.DetectorModel(p_max=0.9, vis_lo=0.2, vis_hi=0.8)
    np.testing.assert_allclose(
        model.detection_probability(np.array([0.0, 0.2, 0.5, 0.8, 1.0])),
        [0.0, 0.0, 0.45, 0.9, 0.9],
    )


def _torso_colours(scene, frames):
    """Mean RGB of the torso area of fully visible, fully inside people, per id."""
    cfg, gt = scene.config, scene.gt
    out: dict[int, list[np.ndarray]] = {}
    for t, img in enumerate(frames, start=1):
        for r in gt.for_frame(t):
            x, y, w, h = gt.boxes[r]
            if gt.visibility[r] < 1 or x < 0 or y < 0 or x + w > cfg.width or y + h > cfg.height:
                continue
            crop = img[int(y + 0.28 * h) : int(y + 0.45 * h), int(x + 0.35 * w) : int(x + 0.65 * w)]
            out.setdefault(int(gt.ids[r]), []).append(crop.reshape(-1, 3).mean(0))
    return {i: np.array(v) for i, v in out.items()}


def test_identities_look_different_and_stay_the_same():
    cfg = dataclasses.replace(SMALL, num_objects=12, num_frames=12, seed=11)
    scene = syn.simulate(cfg)
    colours = _torso_colours(scene, syn.render_frames(scene))
    assert len(colours) >= 6
    within = max(np.abs(v - v.mean(0)).max() for v in colours.values())
    means = np.array([v.mean(0) for v in colours.values()])
    between = np.linalg.norm(means[:, None] - means[None], axis=-1)[np.triu_indices(len(means), 1)]
    assert within < 30  # one person keeps their look (texture and noise only)
    assert np.median(between) > 50  # most pairs differ clearly
    tops = {a.top for a in scene.appearances.values()}
    assert len(tops) == len(scene.appearances)
    assert set(scene.appearances) == set(np.unique(scene.gt.ids).tolist())


def test_render_frames_are_deterministic():
    scene = syn.simulate(dataclasses.replace(SMALL, num_frames=3))
    a, b = list(syn.render_frames(scene)), list(syn.render_frames(scene))
    assert len(a) == 3 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], a[1])  # per-frame sensor noise


@pytest.mark.parametrize(("target", "frames"), [(10, 100), (50, 60), (200, 20)])
def test_detection_stream_density(target, frames):
    dets, gt = syn.generate_detection_stream(target, frames, seed=1)
    per_frame = len(dets) / frames
    assert 0.75 * target <= per_frame <= 1.25 * target, per_frame
    assert len(gt) > 0 and np.all(np.isin(np.unique(dets.frames), np.arange(1, frames + 1)))
    again, _ = syn.generate_detection_stream(target, frames, seed=1)
    np.testing.assert_array_equal(again.boxes, dets.boxes)


@pytest.mark.parametrize(
    "bad",
    [
        {"num_frames": 0},
        {"num_objects": 0},
        {"height_range": (100.0, 50.0)},
        {"ground_band": (0.9, 0.5)},
        {"speed_range": (0.0, 1.0)},
    ],
)
def test_invalid_config_is_rejected(bad):
    with pytest.raises(ValueError):
        syn.SceneConfig(**bad)
