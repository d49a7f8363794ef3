"""LightTrack / E.T.Track training targets and loss (jaxmot.sot.loss).

References written from the official code (researchmm/LightTrack and pblatter/ettrack
`lib/dataset/dataset_base.py` / `dataset_prepped.py`: `_create_dynamic_logisticloss_label`,
`reg_label`; `lib/models/super_model.py`: `_weighted_BCE`, `_IOULoss`).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxmot.sot.geometry import score_grid
from jaxmot.sot.loss import classification_labels, regression_targets, sot_loss

S, STRIDE, SEARCH = 16, 16, 256
GRID = score_grid(S, STRIDE, SEARCH)
loss_jit = jax.jit(sot_loss)


def shift_label_reference(sz, shift, stride, r_pos, r_neg=0.0):
    """Official dynamic label from the augmentation shift (block metric)."""
    cx = sz // 2 + int(-shift[0] / stride)
    cy = sz // 2 + int(-shift[1] / stride)
    label = np.zeros((sz, sz))
    for i in range(sz):
        for j in range(sz):
            d = abs(j - cx) + abs(i - cy)
            label[i, j] = 1.0 if d <= r_pos else (0.5 if d < r_neg else 0.0)
    return label


def loss_reference(logits, reg, boxes, grid, iou_weight=1.2):
    """Pooled weighted BCE + IoU loss with plain loops over the batch and cells."""
    pos, neg, ious = [], [], []
    for b in range(len(boxes)):
        x1, y1, x2, y2 = boxes[b]
        c = ((x1 + x2) / 2 - SEARCH // 2, (y1 + y2) / 2 - SEARCH // 2)
        label = shift_label_reference(S, (-c[0], -c[1]), STRIDE, 16 / STRIDE)
        for i in range(S):
            for j in range(S):
                x = float(logits[b, i, j, 0])
                y = label[i, j]
                bce = max(x, 0) - x * y + np.log1p(np.exp(-abs(x)))
                (pos if y == 1 else neg).append(bce)
                gx, gy = grid[i, j]
                t = [gx - x1, gy - y1, x2 - gx, y2 - gy]
                if min(t) > 0:
                    p = reg[b, i, j]
                    area_t = (t[0] + t[2]) * (t[1] + t[3])
                    area_p = (p[0] + p[2]) * (p[1] + p[3])
                    inter = (min(p[0], t[0]) + min(p[2], t[2])) * (
                        min(p[1], t[1]) + min(p[3], t[3])
                    )
                    ious.append(-np.log((inter + 1) / (area_t + area_p - inter + 1)))
    cls = 0.5 * np.mean(pos) + 0.5 * np.mean(neg)
    return cls + iou_weight * np.mean(ious), cls, np.mean(ious)


def random_batch(rng, b=3):
    centres = rng.uniform(70, 186, size=(b, 2))
    sizes = rng.uniform(30, 120, size=(b, 2))
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1).astype(np.float32)
    logits = rng.normal(size=(b, S, S, 1)).astype(np.float32) * 3
    reg = rng.uniform(1, 80, size=(b, S, S, 4)).astype(np.float32)
    return jnp.asarray(logits), jnp.asarray(reg), jnp.asarray(boxes)


@pytest.mark.parametrize("shift", [(0.0, 0.0), (37.5, -12.0), (-64.0, 50.2), (15.9, -16.0)])
def test_labels_match_official_shift_label(shift):
    # Unscaled crop: the target centre sits at the crop centre minus the shift.
    c = np.array([SEARCH / 2 - shift[0], SEARCH / 2 - shift[1]])
    box = jnp.asarray(np.concatenate([c - [20.0, 35.0], c + [20.0, 35.0]]), jnp.float32)
    labels = np.asarray(classification_labels(box, GRID))
    np.testing.assert_array_equal(labels, shift_label_reference(S, shift, STRIDE, 1.0))
    assert labels.sum() <= 5  # plus-shaped, fewer when clipped by the border
    wide = classification_labels(box, GRID, radius=2.0)
    np.testing.assert_array_equal(wide, shift_label_reference(S, shift, STRIDE, 2.0))


def test_labels_at_stride_8_use_radius_two():
    grid = score_grid(32, 8, 256)
    box = jnp.array([100.0, 110.0, 150.0, 170.0])  # centre (125, 140)
    labels = np.asarray(classification_labels(box, grid))
    np.testing.assert_array_equal(labels, shift_label_reference(32, (3.0, -12.0), 8, 2.0))
    assert labels.sum() == 13


def test_regression_targets_match_loop():
    box = jnp.array([50.5, 60.0, 170.0, 131.25])
    targets, weight = regression_targets(box, GRID)
    grid = np.asarray(GRID)
    for i in range(S):
        for j in range(S):
            gx, gy = grid[i, j]
            t = [gx - 50.5, gy - 60.0, 170.0 - gx, 131.25 - gy]
            np.testing.assert_allclose(targets[i, j], t)
            assert weight[i, j] == float(min(t) > 0)
    # Grid lines at 64, 80, ..., 160 in x and 64, ..., 128 in y are inside.
    assert float(weight.sum()) == 7 * 5


def test_loss_hand_computed_tiny_case():
    grid = score_grid(4, 16, 64)  # positions 0, 16, 32, 48; centre cell 2 at 32
    box = jnp.array([[20.0, 20.0, 52.0, 44.0]])  # centre (36, 32): target cell (2, 2)
    logits = jnp.zeros((1, 4, 4, 1))
    reg = jnp.zeros((1, 4, 4, 4)).at[0, 2, 2].set(jnp.array([10.0, 12.0, 20.0, 14.0]))
    reg = reg.at[0, 2, 3].set(jnp.array([28.0, 12.0, 4.0, 12.0]))  # exact at (48, 32)
    loss, m = loss_jit(logits, reg, box, grid)
    # Zero logits: BCE = log 2 for every cell, both halves.
    np.testing.assert_allclose(m["cls_loss"], np.log(2.0), rtol=1e-6)
    assert float(m["num_pos"]) == 5 and float(m["num_reg"]) == 2
    # Cell (2, 2) at (32, 32): target l,t,r,b = 12, 12, 20, 12 (area 768), prediction
    # 10, 12, 20, 14 (area 780), intersection 30 * 24 = 720, union 828.
    expect_iou = 0.5 * (-np.log(721.0 / 829.0) + 0.0)
    np.testing.assert_allclose(m["iou_loss"], expect_iou, rtol=1e-5)
    np.testing.assert_allclose(loss, np.log(2.0) + 1.2 * expect_iou, rtol=1e-5)
    np.testing.assert_allclose(m["mean_iou"], 0.5 * (720 / 828 + 1.0), rtol=1e-5)


def test_loss_matches_loop_reference_and_jit():
    logits, reg, boxes = random_batch(np.random.default_rng(0))
    loss, m = loss_jit(logits, reg, boxes, GRID)
    ref, ref_cls, ref_iou = loss_reference(
        np.asarray(logits), np.asarray(reg), np.asarray(boxes), np.asarray(GRID)
    )
    np.testing.assert_allclose(
        [loss, m["cls_loss"], m["iou_loss"]], [ref, ref_cls, ref_iou], rtol=1e-5
    )
    eager, _ = sot_loss(logits, reg, boxes, GRID)
    np.testing.assert_allclose(eager, loss, rtol=1e-6)


def test_valid_mask_ignores_padding_and_empty_cases_are_finite():
    logits, reg, boxes = random_batch(np.random.default_rng(1), b=2)
    # Second sample is garbage padding: a degenerate box and huge outputs.
    boxes_p = boxes.at[1].set(jnp.array([5.0, 5.0, 5.0, 5.0]))
    logits_p = logits.at[1].set(1e4)
    valid = jnp.array([True, False])
    masked, _ = loss_jit(logits_p, reg, boxes_p, GRID, valid=valid)
    alone, _ = loss_jit(logits[:1], reg[:1], boxes[:1], GRID)
    np.testing.assert_allclose(masked, alone, rtol=1e-6)

    # Nothing valid, or a box between grid points (no cell inside): finite loss and grads.
    grad_fn = jax.jit(
        jax.grad(lambda lg, rg, bx, v: sot_loss(lg, rg, bx, GRID, valid=v)[0], (0, 1))
    )
    for bx, v in [(boxes, jnp.array([False, False])), (boxes_p, jnp.array([False, True]))]:
        loss, m = loss_jit(logits, reg, bx, GRID, valid=v)
        assert np.isfinite(float(loss))
        assert all(np.isfinite(np.asarray(x)).all() for x in m.values())
        for g in grad_fn(logits, reg, bx, v):
            assert np.isfinite(np.asarray(g)).all()


def test_gradients_finite_and_match_finite_differences():
    logits, reg, boxes = random_batch(np.random.default_rng(2), b=2)
    f = jax.jit(lambda lg, rg: sot_loss(lg, rg, boxes, GRID)[0])
    g_logits, g_reg = jax.grad(f, (0, 1))(logits, reg)
    assert np.isfinite(np.asarray(g_logits)).all() and np.isfinite(np.asarray(g_reg)).all()
    # Only cells inside a box get a regression gradient.
    _, weight = jax.vmap(lambda b: regression_targets(b, GRID))(boxes)
    assert np.all(np.asarray(g_reg)[np.asarray(weight) == 0] == 0)
    # Directional derivative against a central difference (float64 would be overkill).
    rng = np.random.default_rng(3)
    d_l = jnp.asarray(rng.normal(size=logits.shape).astype(np.float32))
    d_r = jnp.asarray(rng.normal(size=reg.shape).astype(np.float32)) * 0.05
    eps = 1e-2
    fd = (f(logits + eps * d_l, reg + eps * d_r) - f(logits - eps * d_l, reg - eps * d_r)) / (
        2 * eps
    )
    analytic = jnp.sum(g_logits * d_l) + jnp.sum(g_reg * d_r)
    np.testing.assert_allclose(fd, analytic, rtol=2e-2, atol=1e-4)


def test_perfect_prediction_beats_random():
    logits, reg, boxes = random_batch(np.random.default_rng(4))
    labels = jax.vmap(lambda b: classification_labels(b, GRID))(boxes)
    targets, weight = jax.vmap(lambda b: regression_targets(b, GRID))(boxes)
    perfect_logits = (labels * 20.0 - 10.0)[..., None]
    perfect_reg = jnp.where(weight[..., None] > 0, targets, 1.0)
    perfect, m = loss_jit(perfect_logits, perfect_reg, boxes, GRID)
    random_loss, _ = loss_jit(logits, reg, boxes, GRID)
    assert float(perfect) < 1e-3 < float(random_loss)
    np.testing.assert_allclose(m["mean_iou"], 1.0, rtol=1e-6)
