"""JDE (Towards Real-Time MOT) pure ops: anchors, box deltas, targets, losses, NMS, decoding.

Facts from the official code (Zhongdao/Towards-Realtime-MOT): `models.py` (YOLOLayer,
create_grids), `utils/utils.py` (build_targets_thres, generate_anchor, encode_delta,
decode_delta, bbox_iou, non_max_suppression) and `cfg/yolov3*.cfg` (anchors).

Layout (channels-last, scales in stride order 8, 16, 32): a head output at one scale is
deltas [B, h, w, A, 4] (dx, dy, dw, dh), conf [B, h, w, A, 2] logits (background,
foreground) and embedding [B, h, w, E]. Boxes are pixels of the letterboxed input. The
official code works in grid units (pixels / stride); IoU and the deltas are invariant to
that scale, so pixels give the same targets.

Where this differs from the official code:
  - foreground is IoU >= 0.5 (the issue's rule); the official `iou > 0.5` leaves an anchor
    at exactly 0.5 background. Background is IoU <= 0.4: the official `< 0.4` leaves 0.4
    unassigned, i.e. at its initial 0 (background), so that part is the same.
  - empty selections give 0, never NaN (no foreground anchor: box loss 0 as official; no
    non-ignored anchor: conf loss 0 where torch gives NaN; no labelled location: ID loss 0).
  - the ID loss gathers at most `id_locations_per_image` locations per image (a static
    size, to avoid a classifier over every cell); beyond that it averages the first ones.
  - `id_embedding_scale` is 1 for nID <= 2, where sqrt(2) log(nID - 1) is <= 0.
  - `postprocess` drops boxes of width or height <= 2 px (the YOLOv3 `min_wh` that JDE's
    code base descends from; the stored JDE `non_max_suppression` has no size filter).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxmot.core.boxes import array_namespace, cxcywh_to_xyxy, iou_matrix

STRIDES = (8, 16, 32)
NUM_ANCHORS = 4  # per scale
UNCERTAINTY_INIT = (-4.85, -4.15, -2.3)  # s_r, s_c, s_id (official YOLOLayer)
FG_IOU = 0.5  # official FG_THRESH (and ID_THRESH)
BG_IOU = 0.4  # official BG_THRESH
MIN_BOX_SIZE = 2.0  # px, YOLOv3 min_wh
ID_LOCATIONS_PER_IMAGE = 512
_NORM_EPS = 1e-12  # torch F.normalize

# (w, h) px, anchors[4 * l: 4 * l + 4] for STRIDES[l] (cfg `mask` 0-3, 4-7, 8-11; the
# stride-32 [yolo] block comes first in the cfg). Each [yolo] block reads its own
# `anchors` line: in yolov3_576x320.cfg the stride-32 block's line ends with
# 120,360 170,420 340,320 while the others end with 120,320 170,320 340,320; the
# stride-32 layer uses its own line, so those are the anchors it uses.
_CFG_ANCHORS = {
    (1088, 608): (8, 24, 11, 34, 16, 48, 23, 68, 32, 96, 45, 135, 64, 192, 90, 271,
                  128, 384, 180, 540, 256, 640, 512, 640),
    (864, 480): (6, 19, 9, 27, 13, 38, 18, 54, 25, 76, 36, 107, 51, 152, 71, 215,
                 102, 305, 143, 429, 203, 508, 407, 508),
    (576, 320): (6, 16, 8, 23, 11, 32, 16, 45, 21, 64, 30, 90, 43, 128, 60, 180,
                 85, 255, 120, 360, 170, 420, 340, 320),
}  # fmt: skip


def anchors_for_size(width: int, height: int) -> np.ndarray:
    """The 12 JDE anchors for an input size: [12, 2] float32 (w, h) px.

    1088x608, 864x480 and 576x320 use the official cfg values. Any other size (multiples
    of 32) gets the 1088x608 anchors scaled by (width / 1088, height / 608): not an
    official configuration, but the proportions the official ones follow.
    """
    if int(width) != width or int(height) != height or width <= 0 or height <= 0:
        raise ValueError(f"input size must be positive integers, got {width}x{height}")
    if width % 32 or height % 32:
        raise ValueError(f"input size must be multiples of 32 (stride 32), got {width}x{height}")
    values = _CFG_ANCHORS.get((int(width), int(height)))
    if values is not None:
        return np.asarray(values, np.float32).reshape(12, 2)
    base = np.asarray(_CFG_ANCHORS[(1088, 608)], np.float32).reshape(12, 2)
    return base * np.asarray([width / 1088, height / 608], np.float32)


def anchor_grid(grid_h: int, grid_w: int, anchors_wh, stride: int) -> jax.Array:
    """Anchor boxes of one scale: [h, w, A, 4] cxcywh px.

    Centres at (column, row) * stride, the cell's corner as in the official
    generate_anchor (not the cell centre); anchors_wh: [A, 2] (w, h) px.
    """
    anchors_wh = jnp.asarray(anchors_wh, jnp.float32)
    a = anchors_wh.shape[0]
    rows, cols = jnp.meshgrid(jnp.arange(grid_h), jnp.arange(grid_w), indexing="ij")
    centres = jnp.stack([cols, rows], axis=-1).astype(jnp.float32) * stride
    centres = jnp.broadcast_to(centres[:, :, None, :], (grid_h, grid_w, a, 2))
    wh = jnp.broadcast_to(anchors_wh, (grid_h, grid_w, a, 2))
    return jnp.concatenate([centres, wh], axis=-1)


def encode_deltas(boxes_cxcywh, anchors_cxcywh):
    """[..., 4] boxes relative to [..., 4] anchors (both cxcywh) -> [..., 4] deltas:
    dx = (gx - px) / pw, dy = (gy - py) / ph, dw = log(gw / pw), dh = log(gh / ph)."""
    xp = array_namespace(boxes_cxcywh, anchors_cxcywh)
    g, p = boxes_cxcywh, anchors_cxcywh
    return xp.concatenate(
        [(g[..., :2] - p[..., :2]) / p[..., 2:], xp.log(g[..., 2:] / p[..., 2:])], axis=-1
    )


def decode_deltas(deltas, anchors_cxcywh):
    """Inverse of `encode_deltas`: [..., 4] deltas, [..., 4] anchors -> [..., 4] cxcywh."""
    xp = array_namespace(deltas, anchors_cxcywh)
    p = anchors_cxcywh
    return xp.concatenate(
        [p[..., 2:] * deltas[..., :2] + p[..., :2], p[..., 2:] * xp.exp(deltas[..., 2:])], axis=-1
    )


def _cxcywh_iou(a: jax.Array, b: jax.Array) -> jax.Array:
    """[N, 4] x [M, 4] cxcywh -> [N, M], the official bbox_iou (with its 1e-16)."""
    a, b = cxcywh_to_xyxy(a)[:, None], cxcywh_to_xyxy(b)[None]
    iw = jnp.maximum(jnp.minimum(a[..., 2], b[..., 2]) - jnp.maximum(a[..., 0], b[..., 0]), 0)
    ih = jnp.maximum(jnp.minimum(a[..., 3], b[..., 3]) - jnp.maximum(a[..., 1], b[..., 1]), 0)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / (area_a + area_b - inter + 1e-16)


def build_targets(gt_boxes, gt_ids, gt_valid, anchors_wh, stride: int, grid_hw) -> dict:
    """Training targets of one image at one scale (official build_targets_thres).

    Every anchor takes its best-IoU valid gt: foreground (1) at IoU >= 0.5, background
    (0) at IoU <= 0.4, ignored (-1) between. Gt centres are clamped into the grid first,
    as official. Padded gts (valid False) never match. Ties pick the first gt.

    Args:
      gt_boxes: [G, 4] cxcywh px; gt_ids: [G] int (-1 = identity unknown);
      gt_valid: [G] bool; anchors_wh: [A, 2] px; stride, grid_hw = (h, w): static ints.

    Returns:
      conf: [h, w, A] int32 in {1, 0, -1};
      deltas: [h, w, A, 4] float32, encoded best gt of foreground anchors, 0 elsewhere;
      ids: [h, w] int32, the largest id among the best gts of the location's foreground
        anchors (official `tids.max(1)`), -1 where none.
    """
    h, w = grid_hw
    anchors = anchor_grid(h, w, anchors_wh, stride)
    a = anchors.shape[2]
    flat = anchors.reshape(-1, 4)
    gt = jnp.asarray(gt_boxes, jnp.float32).reshape(-1, 4)
    if gt.shape[0] == 0:
        return {
            "conf": jnp.zeros((h, w, a), jnp.int32),
            "deltas": jnp.zeros((h, w, a, 4), jnp.float32),
            "ids": jnp.full((h, w), -1, jnp.int32),
        }
    limit = jnp.asarray([(w - 1) * stride, (h - 1) * stride], jnp.float32)
    gt = jnp.concatenate([jnp.clip(gt[:, :2], 0, limit), gt[:, 2:]], axis=-1)
    iou = jnp.where(jnp.asarray(gt_valid, bool)[None], _cxcywh_iou(flat, gt), -1.0)
    best_iou = jnp.max(iou, axis=1)
    fg = best_iou >= FG_IOU
    conf = jnp.where(fg, 1, jnp.where(best_iou <= BG_IOU, 0, -1)).astype(jnp.int32)
    # One-hot selection of the best gt (first on ties) rather than gathers: a handful of
    # fused elementwise ops, cheaper to compile and to run on accelerators.
    best = (jnp.arange(gt.shape[0]) == jnp.argmax(iou, axis=1)[:, None]) & fg[:, None]
    # Non-foreground anchors encode themselves (deltas 0): no log(0) from padded gts.
    matched = jnp.where(fg[:, None], jnp.where(best[..., None], gt, 0.0).sum(axis=1), flat)
    deltas = encode_deltas(matched, flat)
    anchor_ids = jnp.where(best, jnp.asarray(gt_ids, jnp.int32), -1).max(axis=1)
    return {
        "conf": conf.reshape(h, w, a),
        "deltas": deltas.reshape(h, w, a, 4),
        "ids": anchor_ids.reshape(h, w, a).max(axis=-1),
    }


def id_embedding_scale(num_ids: int) -> float:
    """sqrt(2) * log(nID - 1) (official emb_scale); 1 where that is <= 0 (nID <= 2)."""
    return math.sqrt(2) * math.log(num_ids - 1) if num_ids > 2 else 1.0


def _l2_normalize(x: jax.Array) -> jax.Array:
    """x / max(||x||, eps) over the last axis (torch F.normalize), finite grads at 0."""
    sq = jnp.sum(x * x, axis=-1, keepdims=True)
    return x / jnp.sqrt(jnp.maximum(sq, _NORM_EPS**2))


def _masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of values where mask; 0 (and zero gradients) where mask is empty."""
    total = jnp.sum(jnp.where(mask, values, 0.0))
    return total / jnp.maximum(jnp.sum(mask), 1).astype(values.dtype)


def scale_losses(
    out,
    targets: dict,
    classifier_kernel,
    classifier_bias,
    emb_scale,
    *,
    id_locations_per_image: int | None = ID_LOCATIONS_PER_IMAGE,
):
    """Box, confidence and identity losses of one scale over a batch (official YOLOLayer).

    Args:
      out: (deltas [B, h, w, A, 4], conf [B, h, w, A, 2] logits, embedding [B, h, w, E]),
        e.g. a JDEScaleOutput.
      targets: `build_targets` output batched over B (conf [B, h, w, A], ...).
      classifier_kernel: [E, nID], classifier_bias: [nID]; kernel None -> l_id = 0.
      emb_scale: `id_embedding_scale(nID)`.
      id_locations_per_image: static cap on the locations fed to the classifier (times
        B for the batch); None = every location.

    Returns:
      l_box: SmoothL1 (beta 1) mean over the 4 coordinates of foreground anchors;
      l_conf: 2-way cross-entropy mean over non-ignored anchors;
      l_id: cross-entropy over locations with a foreground anchor and a known id, on
        emb_scale * L2-normalised embeddings; 0 unless the batch has >= 2 locations
        with a foreground anchor (official `len(embedding) > 1`, which counts
        unknown-id locations too).
    """
    deltas, conf_logits, embedding = out
    deltas = deltas.astype(jnp.float32)
    t_conf = targets["conf"]
    fg = t_conf == 1

    diff = jnp.abs(deltas - targets["deltas"])
    smooth_l1 = jnp.where(diff < 1.0, 0.5 * diff * diff, diff - 0.5)
    l_box = _masked_mean(smooth_l1, jnp.broadcast_to(fg[..., None], smooth_l1.shape))

    log_p = jax.nn.log_softmax(conf_logits.astype(jnp.float32), axis=-1)
    l_conf = _masked_mean(-jnp.where(fg, log_p[..., 1], log_p[..., 0]), t_conf >= 0)

    if classifier_kernel is None:
        return l_box, l_conf, jnp.zeros((), jnp.float32)
    emb_mask = fg.any(axis=-1).reshape(-1)  # [B * h * w]
    ids = targets["ids"].reshape(-1)
    labelled = emb_mask & (ids >= 0)
    emb = embedding.reshape(ids.shape[0], -1)
    n = ids.shape[0]
    if id_locations_per_image is not None:
        n = min(n, embedding.shape[0] * id_locations_per_image)
    if n < ids.shape[0]:
        # First n labelled locations in a static size: only they meet the classifier.
        (rows,) = jnp.nonzero(labelled, size=n, fill_value=0)
        labelled = jnp.arange(n) < jnp.sum(labelled)
        emb, ids = emb[rows], ids[rows]
    e = emb_scale * _l2_normalize(emb.astype(jnp.float32))
    logits = e @ classifier_kernel + classifier_bias
    picked = jnp.take_along_axis(logits, jnp.clip(ids, 0)[:, None], axis=-1)[:, 0]
    id_nll = jax.nn.logsumexp(logits, axis=-1) - picked
    l_id = jnp.where(jnp.sum(emb_mask) > 1, _masked_mean(id_nll, labelled), 0.0)
    return l_box, l_conf, l_id


def uncertainty_loss(l_box, l_conf, l_id, s_r, s_c, s_id):
    """0.5 * (exp(-s_r) l_box + exp(-s_c) l_conf + exp(-s_id) l_id + s_r + s_c + s_id)."""
    weighted = jnp.exp(-s_r) * l_box + jnp.exp(-s_c) * l_conf + jnp.exp(-s_id) * l_id
    return 0.5 * (weighted + s_r + s_c + s_id)


def _check_outputs(outputs, anchors) -> None:
    if len(outputs) != len(STRIDES):
        raise ValueError(
            f"expected {len(STRIDES)} scale outputs (strides {STRIDES}), got {len(outputs)}"
        )
    if tuple(anchors.shape) != (len(STRIDES) * NUM_ANCHORS, 2):
        raise ValueError(f"anchors must be [12, 2] (w, h), got {tuple(anchors.shape)}")
    for stride, (deltas, conf, emb) in zip(STRIDES, outputs, strict=True):
        b, h, w = deltas.shape[:3]
        if deltas.shape[3:] != (NUM_ANCHORS, 4) or conf.shape != (b, h, w, NUM_ANCHORS, 2):
            raise ValueError(
                f"stride {stride}: expected deltas [B, h, w, 4, 4] and conf "
                f"[B, h, w, 4, 2], got {deltas.shape} and {conf.shape}"
            )
        if emb.shape[:3] != (b, h, w):
            raise ValueError(
                f"stride {stride}: embedding {emb.shape} does not match deltas {deltas.shape}"
            )


def jde_loss(
    outputs: Sequence,
    batch: dict,
    anchors,
    classifier_kernel,
    classifier_bias,
    uncertainty,
    num_ids: int,
    *,
    id_locations_per_image: int | None = ID_LOCATIONS_PER_IMAGE,
):
    """The JDE training loss: per scale uncertainty-weighted losses, summed (official).

    Args:
      outputs: 3 (deltas, conf, embedding) head outputs, strides 8, 16, 32.
      batch: boxes [B, G, 4] cxcywh px, ids [B, G] int, valid [B, G] bool.
      anchors: [12, 2] (`anchors_for_size`); classifier_kernel [E, nID] (or None),
        classifier_bias [nID]: one classifier shared by the scales.
      uncertainty: [3, 3], row = scale (stride order), columns s_r, s_c, s_id (each
        official YOLOLayer has its own).
      num_ids: static nID, for the embedding scale.

    Returns:
      (loss scalar, metrics): loss, box, conf, id (means over the scales), and per
      scale box_8, conf_8, id_8, s_r_8, s_c_8, s_id_8 ... and num_fg (foreground anchors).
    """
    anchors = jnp.asarray(anchors, jnp.float32)
    _check_outputs(outputs, anchors)
    uncertainty = jnp.asarray(uncertainty)
    if uncertainty.shape != (len(STRIDES), 3):
        raise ValueError(
            f"uncertainty must be [3, 3] (scale, s_r/s_c/s_id), got {uncertainty.shape}"
        )
    emb_scale = id_embedding_scale(num_ids)
    total = jnp.zeros((), jnp.float32)
    metrics, parts = {}, {"box": [], "conf": [], "id": []}
    num_fg = jnp.zeros((), jnp.int32)
    for level, (stride, out) in enumerate(zip(STRIDES, outputs, strict=True)):
        h, w = out[0].shape[1:3]
        level_anchors = anchors[NUM_ANCHORS * level : NUM_ANCHORS * (level + 1)]
        per_image = functools.partial(
            build_targets, anchors_wh=level_anchors, stride=stride, grid_hw=(h, w)
        )
        targets = jax.vmap(per_image)(batch["boxes"], batch["ids"], batch["valid"])
        losses = scale_losses(
            out,
            targets,
            classifier_kernel,
            classifier_bias,
            emb_scale,
            id_locations_per_image=id_locations_per_image,
        )
        s_r, s_c, s_id = uncertainty[level, 0], uncertainty[level, 1], uncertainty[level, 2]
        total = total + uncertainty_loss(*losses, s_r, s_c, s_id)
        num_fg = num_fg + jnp.sum(targets["conf"] == 1)
        for name, value in zip(("box", "conf", "id"), losses, strict=True):
            parts[name].append(value)
            metrics[f"{name}_{stride}"] = value
        metrics.update({f"s_r_{stride}": s_r, f"s_c_{stride}": s_c, f"s_id_{stride}": s_id})
    metrics.update({name: jnp.mean(jnp.stack(v)) for name, v in parts.items()})
    metrics["loss"] = total
    metrics["num_fg"] = num_fg
    return total, metrics


def nms(boxes_xyxy, scores, valid, iou_threshold, max_outputs: int):
    """Greedy non-maximum suppression under jit with a static number of outputs.

    Highest score first (ties: lower index first); a box is suppressed by a kept box
    whose IoU with it is > iou_threshold (torchvision / OpenCV rule).

    Args:
      boxes_xyxy: [N, 4]; scores: [N]; valid: [N] bool (invalid never kept);
      max_outputs: static K.

    Returns:
      keep: [K] int32 indices into N in kept order (0 where padded);
      keep_valid: [K] bool.
    """
    boxes_xyxy = jnp.asarray(boxes_xyxy, jnp.float32)
    n = boxes_xyxy.shape[0]
    keep = jnp.zeros((max_outputs,), jnp.int32)
    keep_valid = jnp.zeros((max_outputs,), bool)
    if n == 0 or max_outputs == 0:
        return keep, keep_valid
    order = jnp.argsort(-jnp.where(valid, scores, -jnp.inf), stable=True).astype(jnp.int32)
    sorted_boxes = boxes_xyxy[order]
    iou = iou_matrix(sorted_boxes, sorted_boxes)
    alive = jnp.asarray(valid, bool)[order]

    # One iteration per kept box: at most K sequential steps, each a row of the matrix.
    def cond(state):
        k, alive, _, _ = state
        return (k < max_outputs) & jnp.any(alive)

    def body(state):
        k, alive, keep, keep_valid = state
        i = jnp.argmax(alive)  # the best remaining box (candidates are sorted)
        alive = (alive & (iou[i] <= iou_threshold)).at[i].set(False)
        return k + 1, alive, keep.at[k].set(order[i]), keep_valid.at[k].set(True)

    _, _, keep, keep_valid = jax.lax.while_loop(cond, body, (0, alive, keep, keep_valid))
    return keep, keep_valid


def nms_host(boxes_xyxy, scores, iou_threshold: float) -> np.ndarray:
    """Greedy NMS with a plain NumPy loop: kept indices [M] int64, highest score first."""
    boxes_xyxy = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    suppressed = np.zeros(len(order), bool)
    kept = []
    for rank, i in enumerate(order):
        if suppressed[rank]:
            continue
        kept.append(i)
        ious = iou_matrix(boxes_xyxy[i : i + 1], boxes_xyxy[order[rank + 1 :]])[0]
        suppressed[rank + 1 :] |= ious > iou_threshold
    return np.asarray(kept, np.int64)


def postprocess(
    outputs: Sequence,
    anchors,
    conf_threshold,
    nms_threshold,
    top_k: int = 1024,
    max_detections: int = 256,
    *,
    min_box_size: float = MIN_BOX_SIZE,
) -> dict:
    """Detections of a batch of head outputs; works under jit.

    Per image: conf = softmax(conf)[..., 1]; boxes decoded at each anchor (cxcywh px ->
    xyxy); candidates have conf > conf_threshold and width, height > min_box_size; the
    top_k (static) candidates by conf go through `nms`, max_detections (static) out.
    The official code caps neither: `num_candidates` tells the caller whether top_k
    held them all (JDEDetector grows both sizes until it does).

    Returns:
      boxes_xyxy [B, K, 4] px of the network input, scores [B, K], embeddings [B, K, E]
      (the kept anchor's location, L2-normalised), valid [B, K]; padded rows are 0;
      num_candidates [B] int32, the candidates before the top_k cut.
    """
    anchors = jnp.asarray(anchors, jnp.float32)
    _check_outputs(outputs, anchors)
    boxes, scores, locations, embeddings = [], [], [], []
    offset = 0
    for level, (stride, (deltas, conf, emb)) in enumerate(zip(STRIDES, outputs, strict=True)):
        b, h, w, a = deltas.shape[:4]
        grid = anchor_grid(h, w, anchors[NUM_ANCHORS * level : NUM_ANCHORS * (level + 1)], stride)
        boxes.append(decode_deltas(deltas.astype(jnp.float32), grid).reshape(b, -1, 4))
        scores.append(jax.nn.softmax(conf.astype(jnp.float32), axis=-1)[..., 1].reshape(b, -1))
        locations.append(offset + jnp.arange(h * w * a, dtype=jnp.int32) // a)
        embeddings.append(emb.reshape(b, h * w, -1))
        offset += h * w
    boxes = jnp.concatenate(boxes, axis=1)  # [B, N, 4] cxcywh
    scores = jnp.concatenate(scores, axis=1)
    locations = jnp.concatenate(locations)
    embeddings = jnp.concatenate(embeddings, axis=1)  # [B, L, E]
    candidate = (
        (scores > conf_threshold) & (boxes[..., 2] > min_box_size) & (boxes[..., 3] > min_box_size)
    )
    k = min(top_k, boxes.shape[1])

    def one_image(boxes, scores, candidate, embeddings):
        top_scores, top = jax.lax.top_k(jnp.where(candidate, scores, -jnp.inf), k)
        top_boxes = cxcywh_to_xyxy(boxes[top])
        keep, valid = nms(
            top_boxes, top_scores, top_scores > -jnp.inf, nms_threshold, max_detections
        )
        emb = _l2_normalize(embeddings[locations[top[keep]]].astype(jnp.float32))
        return {
            "boxes_xyxy": jnp.where(valid[:, None], top_boxes[keep], 0.0),
            "scores": jnp.where(valid, top_scores[keep], 0.0),
            "embeddings": jnp.where(valid[:, None], emb, 0.0),
            "valid": valid,
        }

    out = jax.vmap(one_image)(boxes, scores, candidate, embeddings)
    return {**out, "num_candidates": candidate.sum(axis=1, dtype=jnp.int32)}


__all__ = [
    "BG_IOU",
    "FG_IOU",
    "MIN_BOX_SIZE",
    "NUM_ANCHORS",
    "STRIDES",
    "UNCERTAINTY_INIT",
    "anchor_grid",
    "anchors_for_size",
    "build_targets",
    "decode_deltas",
    "encode_deltas",
    "id_embedding_scale",
    "jde_loss",
    "nms",
    "nms_host",
    "postprocess",
    "scale_losses",
    "uncertainty_loss",
]
