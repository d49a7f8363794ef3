"""Segmentation metrics against hand-computed cases and a plain numpy reference."""

import numpy as np
import pytest

from jaxmot.seg.metrics import (
    SegmentationScores,
    foreground_iou,
    mean_iou,
    resize_mask_nearest,
    upsample_probabilities,
)


def _naive_iou(pred, target):
    """IoU of one class by counting pixels in loops; union 0 -> 1."""
    inter = union = 0
    for p, t in zip(pred.ravel().tolist(), target.ravel().tolist(), strict=True):
        inter += p and t
        union += p or t
    return 1.0 if union == 0 else inter / union


def test_hand_computed_case():
    pred = np.array([[1, 1], [0, 0]], bool)
    target = np.array([[1, 0], [1, 0]], bool)
    # fg: intersection 1, union 3; bg: intersection 1 ((1, 1)), union 3
    assert foreground_iou(pred, target) == pytest.approx(1 / 3)
    assert mean_iou(pred, target) == pytest.approx(1 / 3)
    target = np.array([[1, 1], [1, 0]], bool)
    # fg 2/3; bg: intersection 1, union 2
    assert foreground_iou(pred, target) == pytest.approx(2 / 3)
    assert mean_iou(pred, target) == pytest.approx(0.5 * (2 / 3 + 1 / 2))


def test_empty_masks():
    empty = np.zeros((3, 4), bool)
    full = np.ones((3, 4), bool)
    assert foreground_iou(empty, empty) == 1.0  # no foreground anywhere: perfect
    assert mean_iou(empty, empty) == 1.0
    assert mean_iou(full, full) == 1.0  # no background anywhere: bg IoU 1
    one = empty.copy()
    one[0, 0] = True
    assert foreground_iou(empty, one) == 0.0
    assert foreground_iou(one, empty) == 0.0
    assert mean_iou(empty, one) == pytest.approx(0.5 * (0 + 11 / 12))


def test_thresholds_and_input_types():
    prob = np.array([[0.2, 0.5], [0.51, 0.9]], np.float32)
    target = np.array([[0, 1], [1, 1]], np.uint8)
    # 0.5 is not above the threshold: prediction {0.51, 0.9}, target has 3 pixels
    assert foreground_iou(prob, target) == pytest.approx(2 / 3)
    assert foreground_iou(prob, target, threshold=0.3) == pytest.approx(1.0)
    assert foreground_iou(prob, target, threshold=0.95) == 0.0
    as_255 = (prob > 0.5).astype(np.uint8) * 255
    assert foreground_iou(as_255, target * 255) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match=r"prediction shape \(2, 2\).*\(2, 3\)"):
        foreground_iou(prob, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\[H, W\] or \[B, H, W\]"):
        foreground_iou(np.zeros(4), np.zeros(4))


def test_batch_pools_pixels_and_per_image_does_not():
    pred = np.zeros((2, 4, 4), bool)
    target = np.zeros((2, 4, 4), bool)
    target[0] = True  # big object, found completely: IoU 1
    pred[0] = True
    target[1, 0, 0] = True  # one-pixel object, missed: IoU 0
    assert foreground_iou(pred, target) == pytest.approx(16 / 17)
    np.testing.assert_allclose(foreground_iou(pred, target, per_image=True), [1.0, 0.0])
    per_image_mean = mean_iou(pred, target, per_image=True)
    np.testing.assert_allclose(per_image_mean, [1.0, 0.5 * (0 + 15 / 16)])
    # bg pooled: image 0 has no background anywhere (0/0), image 1 gives 15 / 16
    assert mean_iou(pred, target) == pytest.approx(0.5 * (16 / 17 + 15 / 16))


def test_against_plain_numpy_on_random_data():
    rng = np.random.default_rng(0)
    prob = rng.random((5, 9, 11))
    target = rng.random((5, 9, 11)) > 0.6
    for t in (0.3, 0.5, 0.8):
        pred = prob > t
        fg = [_naive_iou(p, g) for p, g in zip(pred, target, strict=True)]
        bg = [_naive_iou(~p, ~g) for p, g in zip(pred, target, strict=True)]
        np.testing.assert_allclose(foreground_iou(prob, target, t, per_image=True), fg)
        np.testing.assert_allclose(
            mean_iou(prob, target, t, per_image=True), 0.5 * (np.array(fg) + bg)
        )
        assert foreground_iou(prob, target, t) == pytest.approx(_naive_iou(pred, target))
        pooled = 0.5 * (_naive_iou(pred, target) + _naive_iou(~pred, ~target))
        assert mean_iou(prob, target, t) == pytest.approx(pooled)
        assert foreground_iou(prob[2], target[2], t) == pytest.approx(fg[2])


def test_scores_accumulator():
    rng = np.random.default_rng(1)
    probs = [rng.random((6, 7)), rng.random((6, 7)), rng.random((10, 3))]
    targets = [rng.random(p.shape) > 0.5 for p in probs]
    scores = SegmentationScores()
    for p, t in zip(probs, targets, strict=True):
        scores.add(p, t)
    r = scores.result()
    preds = [p > 0.5 for p in probs]
    all_pred = np.concatenate([p.ravel() for p in preds])
    all_target = np.concatenate([t.ravel() for t in targets])
    assert r["images"] == 3 == len(scores)
    assert r["fg_iou"] == pytest.approx(_naive_iou(all_pred, all_target))
    assert r["bg_iou"] == pytest.approx(_naive_iou(~all_pred, ~all_target))
    assert r["mean_iou_fg_bg"] == pytest.approx(0.5 * (r["fg_iou"] + r["bg_iou"]))
    fg = [_naive_iou(p, t) for p, t in zip(preds, targets, strict=True)]
    mean = [0.5 * (f + _naive_iou(~p, ~t)) for f, p, t in zip(fg, preds, targets, strict=True)]
    assert r["fg_iou_per_image_mean"] == pytest.approx(np.mean(fg))
    assert r["mean_iou_fg_bg_per_image_mean"] == pytest.approx(np.mean(mean))

    # a batch adds its images one by one
    batched = SegmentationScores()
    batched.add(np.stack(probs[:2]), np.stack(targets[:2]))
    batched.add(probs[2], targets[2])
    assert batched.result() == pytest.approx(r)


def test_scores_dataset_level_differs_from_per_image_mean():
    scores = SegmentationScores()
    scores.add(np.ones((4, 4), bool), np.ones((4, 4), bool))
    small = np.zeros((4, 4), bool)
    small[0, 0] = True
    scores.add(np.zeros((4, 4), bool), small)
    r = scores.result()
    assert r["fg_iou"] == pytest.approx(16 / 17)
    assert r["fg_iou_per_image_mean"] == pytest.approx(0.5)


def test_scores_errors():
    with pytest.raises(ValueError, match="no images"):
        SegmentationScores().result()
    with pytest.raises(ValueError, match="does not match"):
        SegmentationScores().add(np.zeros((2, 2)), np.zeros((4, 4)))


def test_upsampling():
    coarse = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    up = upsample_probabilities(coarse, (32, 32))
    assert up.shape == (32, 32) and up.dtype == np.float32
    assert up.min() >= 0 and up.max() <= 1
    assert up[0, 0] == 0 and up[0, 31] == 1  # clamped past the outer pixel centres
    assert 0 < up[15, 15] < 1  # bilinear in between
    np.testing.assert_allclose(
        upsample_probabilities(np.full((2, 3), 0.3), (32, 48)), 0.3, rtol=1e-6
    )
    batch = upsample_probabilities(np.stack([coarse, 1 - coarse]), (32, 32))
    assert batch.shape == (2, 32, 32)
    np.testing.assert_allclose(batch[1], 1 - up, atol=1e-6)

    mask = np.array([[True, False, True], [False, False, True]])
    full = resize_mask_nearest(mask, (32, 48))
    np.testing.assert_array_equal(full, np.kron(mask, np.ones((16, 16), bool)))
    assert resize_mask_nearest(np.stack([mask, ~mask]), (32, 48)).shape == (2, 32, 48)
    # coarse prediction vs full-resolution target
    assert foreground_iou(full, np.kron(mask, np.ones((16, 16)))) == 1.0
