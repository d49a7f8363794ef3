"""JDE pure ops (jaxmot.jde.ops) against plain loop references.

References written from the official code (Zhongdao/Towards-Realtime-MOT `utils/utils.py`:
build_targets_thres, generate_anchor, encode_delta, decode_delta, bbox_iou; `models.py`:
YOLOLayer's losses and inference decoding) and checked against OpenCV's NMS.
"""

from __future__ import annotations

import functools
import math

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxmot.core.boxes import iou_matrix
from jaxmot.jde import ops as jde
from jaxmot.jde.detector import (
    FIRST_MAX_DETECTIONS,
    FIRST_TOP_K,
    JDEDetectorConfig,
    run_uncut,
)

# --------------------------------------------------------------------------- references


def iou_cxcywh_ref(a, b):
    """Official bbox_iou for one pair of cxcywh boxes (with its 1e-16)."""
    ax1, ax2, ay1, ay2 = a[0] - a[2] / 2, a[0] + a[2] / 2, a[1] - a[3] / 2, a[1] + a[3] / 2
    bx1, bx2, by1, by2 = b[0] - b[2] / 2, b[0] + b[2] / 2, b[1] - b[3] / 2, b[1] + b[3] / 2
    inter = max(min(ax2, bx2) - max(ax1, bx1), 0) * max(min(ay2, by2) - max(ay1, by1), 0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter + 1e-16)


def targets_ref(gt_boxes, gt_ids, gt_valid, anchors_wh, stride, h, w):
    """build_targets with loops over cells, anchors and gts."""
    na = len(anchors_wh)
    conf = np.zeros((h, w, na), np.int64)
    deltas = np.zeros((h, w, na, 4))
    ids = np.full((h, w), -1, np.int64)
    gts = []
    for box, gid, ok in zip(gt_boxes, gt_ids, gt_valid, strict=True):
        if ok:
            cx = min(max(float(box[0]), 0.0), (w - 1) * stride)
            cy = min(max(float(box[1]), 0.0), (h - 1) * stride)
            gts.append(((cx, cy, float(box[2]), float(box[3])), int(gid)))
    for i in range(h):
        for j in range(w):
            for a in range(na):
                px, py, pw, ph = j * stride, i * stride, *map(float, anchors_wh[a])
                best, best_iou = None, -1.0
                for g in gts:
                    iou = iou_cxcywh_ref((px, py, pw, ph), g[0])
                    if iou > best_iou:
                        best, best_iou = g, iou
                if best_iou >= 0.5:
                    (gx, gy, gw, gh), gid = best
                    conf[i, j, a] = 1
                    deltas[i, j, a] = [
                        (gx - px) / pw,
                        (gy - py) / ph,
                        math.log(gw / pw),
                        math.log(gh / ph),
                    ]
                    ids[i, j] = max(ids[i, j], gid)
                elif best_iou > 0.4:
                    conf[i, j, a] = -1
    return conf, deltas, ids


def logsumexp_ref(x):
    m = max(x)
    return m + math.log(sum(math.exp(v - m) for v in x))


def losses_ref(deltas, conf, emb, t_conf, t_deltas, t_ids, kernel, bias, emb_scale):
    """YOLOLayer's three losses with loops."""
    box, confs, idl, n_emb = [], [], [], 0
    b_, h, w, na = t_conf.shape
    for b in range(b_):
        for i in range(h):
            for j in range(w):
                for a in range(na):
                    t = t_conf[b, i, j, a]
                    if t == 1:
                        for c in range(4):
                            d = abs(float(deltas[b, i, j, a, c]) - float(t_deltas[b, i, j, a, c]))
                            box.append(0.5 * d * d if d < 1 else d - 0.5)
                    if t >= 0:
                        logits = [float(v) for v in conf[b, i, j, a]]
                        confs.append(logsumexp_ref(logits) - logits[t])
                if (t_conf[b, i, j] == 1).any():
                    n_emb += 1
                    if t_ids[b, i, j] >= 0:
                        e = np.asarray(emb[b, i, j], np.float64)
                        e = emb_scale * e / max(np.sqrt((e * e).sum()), 1e-12)
                        logits = list(e @ kernel + bias)
                        idl.append(logsumexp_ref(logits) - logits[t_ids[b, i, j]])
    mean = lambda v: sum(v) / len(v) if v else 0.0  # noqa: E731
    return mean(box), mean(confs), mean(idl) if n_emb > 1 else 0.0


def uncertainty_ref(lb, lc, li, sr, sc, sid):
    return 0.5 * (math.exp(-sr) * lb + math.exp(-sc) * lc + math.exp(-sid) * li + sr + sc + sid)


# --------------------------------------------------------------------------- fixtures

STRIDE, H, W = 8, 5, 7
ANCHORS_WH = np.array([[8, 24], [11, 34], [16, 48], [23, 68]], np.float32)
IMG_W, IMG_H = 128, 64  # tiny input: grids 8x16, 4x8, 2x4
LEVEL_ANCHORS = np.concatenate([ANCHORS_WH * f for f in (0.5, 1.0, 2.0)])  # [12, 2]


def random_gts(rng, anchors, stride, h, w, n_valid, n_pad):
    """Gt boxes near random anchors (so there are fg and ignored anchors) plus padding."""
    boxes = []
    for _ in range(n_valid):
        a = anchors[rng.integers(len(anchors))]
        centre = np.array([rng.integers(w), rng.integers(h)]) * stride
        centre = centre + rng.uniform(-0.3, 0.3, 2) * a
        boxes.append([*centre, *(a * rng.uniform(0.7, 1.4, 2))])
    boxes[0][0] = -5.0  # centre left of the grid: clamped as official
    pad = np.column_stack([rng.uniform(-50, 200, (n_pad, 2)), rng.uniform(0, 300, (n_pad, 2))])
    pad[:1, 2:] = 0.0  # a zero-size padded box must not produce log(0) anywhere
    boxes = np.concatenate([np.asarray(boxes), pad]).astype(np.float32)
    ids = np.concatenate([rng.integers(0, 5, n_valid), rng.integers(0, 9, n_pad)]).astype(np.int32)
    ids[1] = -1  # identity unknown
    valid = np.arange(n_valid + n_pad) < n_valid
    return boxes, ids, valid


def fake_outputs(rng, batch, emb_dim, img_w=IMG_W, img_h=IMG_H, conf_scale=2.0):
    outs = []
    for s in jde.STRIDES:
        h, w = img_h // s, img_w // s
        outs.append(
            (
                jnp.asarray(rng.normal(0, 0.6, (batch, h, w, 4, 4)), jnp.float32),
                jnp.asarray(rng.normal(0, conf_scale, (batch, h, w, 4, 2)), jnp.float32),
                jnp.asarray(rng.normal(0, 1, (batch, h, w, emb_dim)), jnp.float32),
            )
        )
    return outs


N_IDS, E_DIM = 9, 5


def _loss_of(params, batch):
    outputs, kernel, bias, unc = params
    return jde.jde_loss(outputs, batch, LEVEL_ANCHORS, kernel, bias, unc, N_IDS)


# Compiled once per module and shared by the tests (compiles dominate this file's time).
build_targets_jit = jax.jit(jde.build_targets, static_argnums=(4, 5))
batch_targets_jit = jax.jit(
    jax.vmap(
        functools.partial(jde.build_targets, anchors_wh=ANCHORS_WH, stride=STRIDE, grid_hw=(H, W))
    )
)
scale_losses_jit = jax.jit(jde.scale_losses, static_argnames=("id_locations_per_image",))
loss_and_grad_jit = jax.jit(jax.value_and_grad(_loss_of, has_aux=True))
nms_jit = jax.jit(jde.nms, static_argnums=(4,))
postprocess_jit = jax.jit(jde.postprocess, static_argnames=("top_k", "max_detections"))


# --------------------------------------------------------------------------- anchors, deltas


def test_anchors_for_size_official_and_scaled():
    a = jde.anchors_for_size(1088, 608)
    assert a.shape == (12, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a[0], [8, 24])
    np.testing.assert_array_equal(a[8:], [[128, 384], [180, 540], [256, 640], [512, 640]])
    np.testing.assert_array_equal(jde.anchors_for_size(864, 480)[11], [407, 508])
    # 576x320: the stride-32 [yolo] block's own anchor line.
    np.testing.assert_array_equal(
        jde.anchors_for_size(576, 320)[8:], [[85, 255], [120, 360], [170, 420], [340, 320]]
    )
    np.testing.assert_allclose(jde.anchors_for_size(544, 320), a * [0.5, 320 / 608], rtol=1e-6)
    for bad in [(100, 64), (0, 32), (-32, 64)]:
        with pytest.raises(ValueError, match="input size"):
            jde.anchors_for_size(*bad)


def test_anchor_grid_at_cell_corners():
    grid = np.asarray(jde.anchor_grid(H, W, ANCHORS_WH, STRIDE))
    assert grid.shape == (H, W, 4, 4)
    for i in range(H):
        for j in range(W):
            for a in range(4):
                np.testing.assert_array_equal(grid[i, j, a], [j * 8, i * 8, *ANCHORS_WH[a]])


def test_decode_matches_loop_and_round_trips():
    rng = np.random.default_rng(0)
    anchors = np.column_stack([rng.uniform(0, 100, (20, 2)), rng.uniform(5, 60, (20, 2))])
    deltas = rng.normal(0, 0.5, (20, 4))
    out = jde.decode_deltas(deltas, anchors)
    assert isinstance(out, np.ndarray)  # NumPy in, NumPy out
    for d, p, o in zip(deltas, anchors, out, strict=True):
        ref = [p[2] * d[0] + p[0], p[3] * d[1] + p[1], p[2] * math.exp(d[2]), p[3] * math.exp(d[3])]
        np.testing.assert_allclose(o, ref, rtol=1e-12)
    np.testing.assert_allclose(jde.encode_deltas(out, anchors), deltas, atol=1e-12)
    out_j = jde.decode_deltas(jnp.asarray(deltas, jnp.float32), jnp.asarray(anchors, jnp.float32))
    assert isinstance(out_j, jax.Array)
    np.testing.assert_allclose(out_j, out, rtol=1e-5, atol=1e-4)
    back = jde.decode_deltas(jde.encode_deltas(out_j, anchors), anchors)
    np.testing.assert_allclose(back, out, rtol=1e-5, atol=1e-4)


# --------------------------------------------------------------------------- targets


def test_build_targets_matches_loop_and_ignores_padding():
    rng = np.random.default_rng(1)
    boxes, ids, valid = random_gts(rng, ANCHORS_WH, STRIDE, H, W, n_valid=6, n_pad=3)
    got = build_targets_jit(boxes, ids, valid, ANCHORS_WH, STRIDE, (H, W))
    conf, deltas, t_ids = targets_ref(boxes, ids, valid, ANCHORS_WH, STRIDE, H, W)
    # The data covers every case: fg, ignored, bg, an fg location of unknown id.
    assert {1, 0, -1} <= set(conf.ravel().tolist()) and (conf == 1).sum() >= 4
    np.testing.assert_array_equal(got["conf"], conf)
    np.testing.assert_allclose(got["deltas"], deltas, atol=1e-5)
    np.testing.assert_array_equal(got["ids"], t_ids)
    assert got["conf"].dtype == jnp.int32 and got["ids"].dtype == jnp.int32

    # Padding never changes anything: no padding at all, or other padded values.
    trimmed = build_targets_jit(boxes[valid], ids[valid], valid[valid], ANCHORS_WH, STRIDE, (H, W))
    boxes2, ids2 = boxes.copy(), ids.copy()
    boxes2[~valid] = [30.0, 20.0, 40.0, 60.0]  # would overlap many anchors if it counted
    ids2[~valid] = 99
    repadded = build_targets_jit(boxes2, ids2, valid, ANCHORS_WH, STRIDE, (H, W))
    for other in (trimmed, repadded):
        for key in got:
            np.testing.assert_array_equal(other[key], got[key])


def test_build_targets_vmap_and_no_gt():
    rng = np.random.default_rng(2)
    batch = [random_gts(rng, ANCHORS_WH, STRIDE, H, W, 5, 2) for _ in range(2)]
    batch[1][2][:] = False  # an image with only padding: all background
    boxes, ids, valid = (np.stack(x) for x in zip(*batch, strict=True))
    vmapped = batch_targets_jit(boxes, ids, valid)
    single = build_targets_jit(boxes[0], ids[0], valid[0], ANCHORS_WH, STRIDE, (H, W))
    for key in single:
        np.testing.assert_allclose(vmapped[key][0], single[key], rtol=1e-5, atol=1e-6)
    assert (vmapped["conf"][0] == 1).any()
    assert (vmapped["conf"][1] == 0).all() and (vmapped["ids"][1] == -1).all()
    empty = build_targets_jit(
        np.zeros((0, 4)), np.zeros(0, int), np.zeros(0, bool), ANCHORS_WH, STRIDE, (H, W)
    )
    assert (empty["conf"] == 0).all() and (empty["ids"] == -1).all()


# --------------------------------------------------------------------------- losses


def batch_targets(rng, b=2, n_valid=5, n_pad=2):
    gts = [random_gts(rng, ANCHORS_WH, STRIDE, H, W, n_valid, n_pad) for _ in range(b)]
    return batch_targets_jit(*(np.stack(x) for x in zip(*gts, strict=True)))


def test_scale_losses_match_loop_reference():
    rng = np.random.default_rng(3)
    targets = batch_targets(rng, 2)
    e_dim, n_ids = 6, 7
    deltas = rng.normal(0, 1.0, (2, H, W, 4, 4)).astype(np.float32)  # both SmoothL1 branches
    conf = rng.normal(0, 2, (2, H, W, 4, 2)).astype(np.float32)
    emb = rng.normal(0, 1, (2, H, W, e_dim)).astype(np.float32)
    kernel = rng.normal(0, 0.3, (e_dim, n_ids)).astype(np.float32)
    bias = rng.normal(0, 0.1, n_ids).astype(np.float32)
    scale = jde.id_embedding_scale(n_ids)
    assert scale == pytest.approx(math.sqrt(2) * math.log(6))
    t = {k: np.asarray(v) for k, v in targets.items()}
    args = (deltas, conf, emb, t["conf"], t["deltas"], t["ids"], kernel, bias, scale)
    n_lab = int(((t["conf"] == 1).any(-1) & (t["ids"] >= 0)).sum())
    assert n_lab > 2

    out = (jnp.asarray(deltas), jnp.asarray(conf), jnp.asarray(emb))
    dense = scale_losses_jit(out, targets, kernel, bias, scale, id_locations_per_image=None)
    np.testing.assert_allclose(dense, losses_ref(*args), rtol=2e-5)
    # A static cap above the count gathers every labelled cell: same loss.
    cap = n_lab // 2 + 1  # 2 * cap > n_lab: padded slots in the gather must not count
    assert 2 * cap < 2 * H * W
    capped = scale_losses_jit(out, targets, kernel, bias, scale, id_locations_per_image=cap)
    np.testing.assert_allclose(capped, dense, rtol=1e-6)
    assert jde.id_embedding_scale(2) == jde.id_embedding_scale(0) == 1.0


def test_uncertainty_loss_and_its_gradients():
    lb, lc, li = 0.7, 1.3, 4.2
    s = (-4.85, -4.15, -2.3)
    assert jde.UNCERTAINTY_INIT == s
    got = jde.uncertainty_loss(lb, lc, li, *s)
    np.testing.assert_allclose(got, uncertainty_ref(lb, lc, li, *s), rtol=1e-6)
    grads = jax.grad(lambda s: jde.uncertainty_loss(lb, lc, li, *s))(jnp.asarray(s))
    expected = [0.5 * (1 - math.exp(-si) * L) for si, L in zip(s, (lb, lc, li), strict=True)]
    np.testing.assert_allclose(grads, expected, rtol=1e-5)
    g_losses = jax.grad(lambda l: jde.uncertainty_loss(*l, *s))(jnp.asarray([lb, lc, li]))
    np.testing.assert_allclose(g_losses, [0.5 * math.exp(-si) for si in s], rtol=1e-5)


def loss_batch(rng, b=2, n_valid=4, n_pad=2):
    gts = [
        random_gts(rng, LEVEL_ANCHORS[4:8], 16, IMG_H // 16, IMG_W // 16, n_valid, n_pad)
        for _ in range(b)
    ]
    boxes, ids, valid = (np.stack(x) for x in zip(*gts, strict=True))
    return {"boxes": boxes, "ids": ids, "valid": valid}


def loss_params(rng, scatter=0.3):
    outputs = fake_outputs(rng, 2, E_DIM)
    kernel = rng.normal(0, 0.3, (E_DIM, N_IDS)).astype(np.float32)
    bias = rng.normal(0, 0.1, N_IDS).astype(np.float32)
    unc = np.asarray(jde.UNCERTAINTY_INIT, np.float32)[None] + rng.normal(0, scatter, (3, 1))
    return outputs, kernel, bias, unc.astype(np.float32)


def test_jde_loss_matches_reference():
    rng = np.random.default_rng(4)
    params = loss_params(rng)
    outputs, kernel, bias, unc = params
    batch = loss_batch(rng)
    (loss, metrics), _ = loss_and_grad_jit(params, batch)

    expected = 0.0
    for level, s in enumerate(jde.STRIDES):
        h, w = IMG_H // s, IMG_W // s
        refs = [
            targets_ref(
                batch["boxes"][b],
                batch["ids"][b],
                batch["valid"][b],
                LEVEL_ANCHORS[4 * level : 4 * level + 4],
                s,
                h,
                w,
            )
            for b in range(2)
        ]
        t_conf, t_deltas, t_ids = (np.stack(x) for x in zip(*refs, strict=True))
        d, c, e = (np.asarray(x) for x in outputs[level])
        ls = losses_ref(
            d, c, e, t_conf, t_deltas, t_ids, kernel, bias, jde.id_embedding_scale(N_IDS)
        )
        np.testing.assert_allclose(
            [metrics[f"{k}_{s}"] for k in ("box", "conf", "id")], ls, rtol=2e-5
        )
        expected += uncertainty_ref(*ls, *unc[level].astype(np.float64))
        assert float(metrics[f"s_id_{s}"]) == unc[level, 2]
    np.testing.assert_allclose(loss, expected, rtol=2e-5)
    assert metrics["num_fg"] > 0 and float(metrics["loss"]) == float(loss)
    assert float(metrics["id"]) > 0
    with pytest.raises(ValueError, match="uncertainty"):
        jde.jde_loss(outputs, batch, LEVEL_ANCHORS, kernel, bias, unc[:2], N_IDS)
    with pytest.raises(ValueError, match="3 scale outputs"):
        jde.jde_loss(outputs[:2], batch, LEVEL_ANCHORS, kernel, bias, unc, N_IDS)


def test_jde_loss_gradients_finite_with_and_without_foreground():
    rng = np.random.default_rng(5)
    outputs, kernel, bias, _ = loss_params(rng)
    outputs[0] = (outputs[0][0], outputs[0][1], jnp.zeros_like(outputs[0][2]))  # zero embeddings
    unc = np.tile(np.asarray(jde.UNCERTAINTY_INIT, np.float32), (3, 1))
    params = (outputs, kernel, bias, unc)
    for batch in (loss_batch(rng), {**loss_batch(rng), "valid": np.zeros((2, 6), bool)}):
        (_, metrics), grads = loss_and_grad_jit(params, batch)
        for g in jax.tree.leaves(grads):
            assert np.isfinite(np.asarray(g)).all()
    # No foreground: box and ID terms vanish, so only s_r and s_id's constant 0.5 is left.
    assert metrics["num_fg"] == 0
    np.testing.assert_allclose(grads[3][:, 0], 0.5)
    np.testing.assert_allclose(grads[3][:, 2], 0.5)
    assert not np.asarray(grads[1]).any()


@pytest.mark.slow
def test_jit_equals_eager():
    """Eager JAX compiles each op on its own: slow on CPU, hence marked slow."""
    rng = np.random.default_rng(6)
    boxes, ids, valid = random_gts(rng, ANCHORS_WH, STRIDE, H, W, 5, 2)
    jitted = build_targets_jit(boxes, ids, valid, ANCHORS_WH, STRIDE, (H, W))
    eager = jde.build_targets(boxes, ids, valid, ANCHORS_WH, STRIDE, (H, W))
    for key in eager:
        np.testing.assert_allclose(eager[key], jitted[key], rtol=1e-5, atol=1e-6)
    params, batch = loss_params(rng), loss_batch(rng)
    (loss, metrics), _ = loss_and_grad_jit(params, batch)
    eager, eager_metrics = _loss_of(params, batch)
    np.testing.assert_allclose(eager, loss, rtol=1e-5)
    for key in metrics:
        np.testing.assert_allclose(eager_metrics[key], metrics[key], rtol=1e-5, atol=1e-7)
    outputs = params[0]
    jitted = postprocess_jit(outputs, LEVEL_ANCHORS, 0.5, 0.4, top_k=1024, max_detections=64)
    eager = jde.postprocess(outputs, LEVEL_ANCHORS, 0.5, 0.4, top_k=1024, max_detections=64)
    for key in jitted:
        np.testing.assert_allclose(eager[key], jitted[key], rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- NMS


def random_boxes(rng, n):
    xy = rng.uniform(0, 40, (n, 2))
    wh = rng.uniform(15, 40, (n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    scores = (rng.permutation(n) + rng.uniform(0.1, 0.9, n)) / n  # distinct
    return boxes, scores.astype(np.float32)


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_nms_jit_matches_host_and_opencv(threshold):
    rng = np.random.default_rng([7, int(threshold * 10)])
    boxes, scores = random_boxes(rng, 60)
    valid = rng.uniform(size=60) < 0.8
    iou = iou_matrix(boxes, boxes)
    assert not (np.abs(iou - threshold) < 1e-5).any()  # no ties at the threshold
    idx = np.flatnonzero(valid)

    host = idx[jde.nms_host(boxes[idx], scores[idx], threshold)]
    xywh = np.concatenate([boxes[idx, :2], boxes[idx, 2:] - boxes[idx, :2]], 1).astype(float)
    ocv = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), scores[idx].tolist(), 0.0, threshold))
    np.testing.assert_array_equal(idx[ocv.ravel()], host)
    assert 3 < len(host) < len(idx)

    keep, keep_valid = nms_jit(boxes, scores, valid, threshold, 64)
    assert keep.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(keep)[np.asarray(keep_valid)], host)
    assert not keep_valid[len(host) :].any()
    _, none_valid = nms_jit(boxes, scores, np.zeros(60, bool), threshold, 64)
    assert not np.asarray(none_valid).any()
    # Fewer outputs than NMS keeps: the first ones (also checked through postprocess).
    if threshold == 0.5:
        keep3, valid3 = nms_jit(boxes, scores, valid, threshold, 3)
        np.testing.assert_array_equal(keep3, host[:3])
        assert valid3.all()


# --------------------------------------------------------------------------- postprocess


def postprocess_ref(outputs, anchors, conf_thr, nms_thr, top_k, max_det, b):
    cands = []
    for level, s in enumerate(jde.STRIDES):
        d, c, e = (np.asarray(x[b], np.float64) for x in outputs[level])
        h, w = d.shape[:2]
        for i in range(h):
            for j in range(w):
                for a in range(4):
                    pw, ph = anchors[4 * level + a]
                    dx, dy, dw, dh = d[i, j, a]
                    cx, cy = pw * dx + j * s, ph * dy + i * s
                    bw, bh = pw * math.exp(dw), ph * math.exp(dh)
                    score = 1 / (1 + math.exp(c[i, j, a, 0] - c[i, j, a, 1]))
                    if score > conf_thr and bw > 2 and bh > 2:
                        box = [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]
                        emb = e[i, j] / np.linalg.norm(e[i, j])
                        cands.append((score, box, emb))
    cands = sorted(cands, key=lambda t: -t[0])[:top_k]
    if not cands:
        return np.zeros((0, 4)), np.zeros(0), np.zeros((0, outputs[0][2].shape[-1]))
    keep = jde.nms_host(np.array([t[1] for t in cands]), np.array([t[0] for t in cands]), nms_thr)
    keep = keep[:max_det]
    return (
        np.array([cands[k][1] for k in keep]),
        np.array([cands[k][0] for k in keep]),
        np.array([cands[k][2] for k in keep]),
    )


def test_postprocess_matches_loop_reference():
    top_k, max_det = 20, 16  # fewer than the candidates, and than NMS keeps in one image
    rng = np.random.default_rng(7)
    outputs = fake_outputs(rng, 2, 3, img_w=64, img_h=32)
    # Image 1 mostly background: fewer detections than max_det, so padding shows.
    outputs = [(d, c.at[1, ..., 0].add(4.0), e) for d, c, e in outputs]
    anchors = LEVEL_ANCHORS * 0.5
    out = postprocess_jit(outputs, anchors, 0.5, 0.4, top_k=top_k, max_detections=max_det)
    assert out["boxes_xyxy"].shape == (2, max_det, 4) and out["embeddings"].shape == (2, max_det, 3)
    counts = []
    for b in range(2):
        boxes, scores, embs = postprocess_ref(outputs, anchors, 0.5, 0.4, top_k, max_det, b)
        v = np.asarray(out["valid"][b])
        assert v.sum() == len(scores) > 0 and v[: len(scores)].all()
        np.testing.assert_allclose(out["boxes_xyxy"][b][v], boxes, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(out["scores"][b][v], scores, rtol=1e-5)
        np.testing.assert_allclose(out["embeddings"][b][v], embs, rtol=1e-5, atol=1e-6)
        assert not np.asarray(out["scores"][b][~v]).any()
        counts.append(len(scores))
    assert max(counts) == max_det > min(counts)  # truncation and padding both exercised


def test_crowded_frame_keeps_every_candidate_the_official_code_keeps():
    """More than 1024 candidates and more than 256 survivors of NMS in one frame: the
    uncapped detector config (the default, as the official code) keeps them all; the
    old fixed sizes lose some."""
    rng = np.random.default_rng(11)
    outputs = fake_outputs(rng, 1, 3, img_w=320, img_h=192)
    outputs = [(d, c.at[..., 1].add(1.5), e) for d, c, e in outputs]  # mostly confident
    anchors = LEVEL_ANCHORS * 0.25  # small boxes: many survive NMS

    def run(sizes):
        return postprocess_jit(outputs, anchors, 0.5, 0.4, top_k=sizes[0], max_detections=sizes[1])

    boxes, scores, _ = postprocess_ref(outputs, anchors, 0.5, 0.4, None, None, 0)
    config = JDEDetectorConfig()
    out, sizes = run_uncut(run, config, config.first_sizes())
    candidates = int(out["num_candidates"][0])
    assert candidates > FIRST_TOP_K and len(scores) > FIRST_MAX_DETECTIONS
    assert sizes[0] >= candidates and sizes[1] > len(scores)
    v = np.asarray(out["valid"][0])
    assert v.sum() == len(scores)
    np.testing.assert_allclose(out["scores"][0][v], scores, rtol=1e-5)
    # Near-tied scores may swap places (float32 against float64): compare as sets.
    by_row = lambda a: a[np.lexsort(np.round(a, 2).T[::-1])]  # noqa: E731
    np.testing.assert_allclose(by_row(out["boxes_xyxy"][0][v]), by_row(boxes), atol=1e-3)
    # The same sizes again: nothing grows, nothing recompiles.
    assert config.grown_sizes(jax.device_get(out), sizes) == sizes
    # Fixed caps (the earlier defaults) cut this frame.
    capped = JDEDetectorConfig(top_k=FIRST_TOP_K, max_detections=FIRST_MAX_DETECTIONS)
    cut, cut_sizes = run_uncut(run, capped, capped.first_sizes())
    assert cut_sizes == (FIRST_TOP_K, FIRST_MAX_DETECTIONS)
    assert int(np.asarray(cut["valid"][0]).sum()) == FIRST_MAX_DETECTIONS < len(scores)
