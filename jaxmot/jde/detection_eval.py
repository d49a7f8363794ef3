"""JDE's detection AP and embedding TPR@FAR, as its official `test.py` computes them.

result = average_precision([(boxes_xyxy, scores), ...], [gt_boxes_xyxy, ...])
result["jde_ap"], result["ap"]                    # JDE's reported number, pooled VOC AP
embedding_tpr_at_far(embeddings, ids)[0.1]        # JDE's "TPR@FAR=0.1"

Facts from Zhongdao/Towards-Realtime-MOT (`test.py`: `test`, `test_emb`; `utils/utils.py`:
`ap_per_class`, `compute_ap`, `bbox_iou`), read to fix the details below:

Detection (`test`, single class):
* Matching, per image: predictions in descending score order; each takes the gt with the
  highest IoU over ALL gts (first on ties), and is a true positive iff that IoU is
  strictly greater than the threshold (0.5) and that gt is not matched yet. So a
  prediction whose best gt is taken is a false positive even when another, free gt
  overlaps it above the threshold (the PASCAL VOC devkit rule; "best unmatched gt" would
  differ). Duplicates of a matched gt are false positives. IoU is the continuous-coordinate
  one (no +1 pixel), `jaxmot.core.boxes.iou_matrix`.
* AP of a set of scored predictions: precision = TP / (TP + FP) and recall = TP / num_gt
  along the descending-score list, then the all-point interpolated area (VOC2010+,
  `compute_ap`): the precision envelope max_{r' >= r} p(r') summed over the recall steps.
  AP is 0 when there is no gt or no prediction.
* The number JDE prints and returns (`jde_ap` here) is NOT a pooled AP: it computes the
  AP of each image separately and averages over the images that have at least one gt AND
  at least one prediction. Images with gts but no predictions (or predictions but no gts)
  add 0 to the sum but nothing to the count, so they are ignored, not penalised.
  `jde_recall` and `jde_precision` are the same per-image averages of the final recall
  and precision. `ap` / `recall` / `precision` are the usual dataset-level (pooled)
  numbers: all predictions of all images ranked together against all gts.
* Ties in score keep the input order (a stable sort; JDE's np.argsort leaves tie order to
  the sort implementation).

Embedding (`test_emb`):
* Embeddings with an unknown id (JDE drops label -1; here every id < 0) are dropped, the
  rest L2-normalised (norm floored at 1e-12, as torch's F.normalize), and the cosine
  similarity of every pair i < j computed in float32 (as JDE's torch.mm). A pair is
  positive iff both ids are equal.
* ROC over all pairs (sklearn's roc_curve: one point per distinct similarity threshold t,
  FAR = #negatives >= t / #negatives, TPR = #positives >= t / #positives, starting at
  (0, 0)), and TPR at each FAR level by linear interpolation along that polyline (scipy's
  interp1d; where the curve is vertical at exactly that FAR, the lowest TPR there).
* Quirk: JDE selects the pairs with np.triu(S) - eye * S != 0, which also drops every
  off-diagonal pair whose similarity is exactly 0 (e.g. orthogonal one-hot embeddings).
  That is `drop_zero_similarity=True`; the default keeps all pairs i < j. With real
  embeddings exact zeros essentially never occur and both give the same numbers.
* Memory: N embeddings make N(N-1)/2 pairs (200M for 20k). Instead of sorting them all,
  two passes over blocks of the similarity matrix find the exact threshold at each FAR
  level by a radix select on the float32 bit patterns (16 high bits, then 16 low bits),
  so memory stays O(block_size^2) and the result equals the full ROC's. Time is two
  float32 matrix products of N x N x E plus a bincount per pair: about 3 s for 6k
  embeddings (18M pairs) on two CPU cores, so ~30 s for 20k.

Host-side NumPy (evaluation runs once per epoch over a whole test set).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from jaxmot.core.boxes import iou_matrix

JDE_IOU_THRESHOLD = 0.5  # test.py --iou-thres
JDE_FAR_LEVELS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)  # test.py test_emb far_levels

_RADIX = 1 << 16  # each select pass resolves 16 bits of a float32 key


# ---------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------


def _check_boxes(boxes, what: str) -> np.ndarray:
    boxes = np.asarray(boxes, np.float64)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{what}: expected [N, 4] xyxy boxes, got shape {boxes.shape}")
    bad = ~np.isfinite(boxes).all(axis=1)
    if bad.any():
        raise ValueError(f"{what}: row {int(np.argmax(bad))} is not finite: {boxes[bad][0]}")
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bad.any():
        raise ValueError(
            f"{what}: row {int(np.argmax(bad))} has x2 < x1 or y2 < y1 (xyxy expected): "
            f"{boxes[bad][0]}"
        )
    return boxes


def _check_scores(scores, n: int, what: str) -> np.ndarray:
    scores = np.asarray(scores, np.float64)
    if scores.size == 0:
        scores = scores.reshape(0)
    if scores.ndim != 1 or len(scores) != n:
        raise ValueError(f"{what}: expected [{n}] scores (one per box), got shape {scores.shape}")
    bad = ~np.isfinite(scores)
    if bad.any():
        raise ValueError(f"{what}: score {int(np.argmax(bad))} is not finite")
    return scores


def _check_threshold(iou_threshold: float) -> float:
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
    return float(iou_threshold)


def _match(pred: np.ndarray, scores: np.ndarray, gt: np.ndarray, thr: float) -> np.ndarray:
    tp = np.zeros(len(pred), bool)
    if not len(pred) or not len(gt):
        return tp
    iou = iou_matrix(pred, gt)  # [N, G]
    best = np.argmax(iou, axis=1)  # over all gts, matched or not: JDE's rule
    best_iou = iou[np.arange(len(pred)), best]
    taken = np.zeros(len(gt), bool)
    for i in np.argsort(-scores, kind="stable"):
        if best_iou[i] > thr and not taken[best[i]]:
            tp[i] = taken[best[i]] = True
    return tp


def match_detections(
    pred_boxes_xyxy, pred_scores, gt_boxes_xyxy, iou_threshold: float = JDE_IOU_THRESHOLD
) -> np.ndarray:
    """True positives of one image's predictions, by JDE's rule (see the module docstring).

    Args:
      pred_boxes_xyxy: [N, 4]; pred_scores: [N]; gt_boxes_xyxy: [G, 4] (same frame).
      iou_threshold: a match needs IoU strictly above it.

    Returns:
      [N] bool, in the input order of the predictions.
    """
    pred = _check_boxes(pred_boxes_xyxy, "pred_boxes_xyxy")
    scores = _check_scores(pred_scores, len(pred), "pred_scores")
    gt = _check_boxes(gt_boxes_xyxy, "gt_boxes_xyxy")
    return _match(pred, scores, gt, _check_threshold(iou_threshold))


def _ap_recall_precision(tp_sorted: np.ndarray, num_gt: int) -> tuple[float, float, float]:
    """AP (all-point, VOC2010+), final recall and precision of a descending-score list."""
    if not len(tp_sorted) or num_gt == 0:
        return 0.0, 0.0, 0.0
    tpc = np.cumsum(tp_sorted)
    recall = tpc / num_gt
    precision = tpc / np.arange(1, len(tpc) + 1)
    # Envelope: the best precision at this recall or any higher one; the sentinel
    # (recall 1, precision 0) closes the curve as compute_ap's does.
    envelope = np.maximum.accumulate(np.append(precision, 0.0)[::-1])[::-1]
    steps = np.diff(np.concatenate([[0.0], recall, [1.0]]))
    ap = float(np.sum(steps * envelope))
    return ap, float(recall[-1]), float(precision[-1])


def average_precision(
    predictions: Sequence[tuple[np.ndarray, np.ndarray]],
    gt_boxes: Sequence[np.ndarray],
    iou_threshold: float = JDE_IOU_THRESHOLD,
) -> dict[str, float | int]:
    """Detection AP at an IoU threshold over a set of images (see the module docstring).

    Args:
      predictions: per image, (boxes_xyxy [N_i, 4], scores [N_i]); N_i may be 0.
      gt_boxes: per image, boxes_xyxy [G_i, 4] in the same frame; G_i may be 0.
      iou_threshold: a match needs IoU strictly above it (JDE: 0.5).

    Returns:
      dict with
        ap, recall, precision: pooled over all images (dataset-level AP; the final recall
          and precision with every prediction kept);
        jde_ap, jde_recall, jde_precision: JDE test.py's numbers, the mean per-image AP,
          recall and precision over the images that have both gts and predictions (its
          returned and printed "mAP" is jde_ap);
        jde_num_images: how many images that mean is over;
        num_gt, num_pred, num_images: totals.

    Raises:
      ValueError naming the image on mismatched lengths, bad shapes, non-finite values.
    """
    if len(predictions) != len(gt_boxes):
        raise ValueError(
            f"predictions cover {len(predictions)} images but gt_boxes {len(gt_boxes)}"
        )
    thr = _check_threshold(iou_threshold)
    all_scores, all_tp, per_image = [], [], []
    num_gt = 0
    for i, (pred, gt) in enumerate(zip(predictions, gt_boxes, strict=True)):
        if len(pred) != 2:
            raise ValueError(f"predictions[{i}]: expected a (boxes, scores) pair")
        boxes = _check_boxes(pred[0], f"predictions[{i}] boxes")
        scores = _check_scores(pred[1], len(boxes), f"predictions[{i}] scores")
        gt = _check_boxes(gt, f"gt_boxes[{i}]")
        tp = _match(boxes, scores, gt, thr)
        num_gt += len(gt)
        all_scores.append(scores)
        all_tp.append(tp)
        if len(boxes) and len(gt):
            order = np.argsort(-scores, kind="stable")
            per_image.append(_ap_recall_precision(tp[order], len(gt)))

    scores = np.concatenate(all_scores) if all_scores else np.zeros(0)
    tp = np.concatenate(all_tp) if all_tp else np.zeros(0, bool)
    ap, recall, precision = _ap_recall_precision(tp[np.argsort(-scores, kind="stable")], num_gt)
    jde = np.mean(per_image, axis=0) if per_image else np.zeros(3)
    return {
        "ap": ap,
        "recall": recall,
        "precision": precision,
        "jde_ap": float(jde[0]),
        "jde_recall": float(jde[1]),
        "jde_precision": float(jde[2]),
        "jde_num_images": len(per_image),
        "num_gt": int(num_gt),
        "num_pred": len(scores),
        "num_images": len(gt_boxes),
    }


# ---------------------------------------------------------------------------------------
# Embedding TPR at FAR
# ---------------------------------------------------------------------------------------


def _sortable_keys(sim: np.ndarray) -> np.ndarray:
    """float32 [...] -> uint32 [...] with the same order (-0.0 folded into +0.0)."""
    bits = (sim + np.float32(0.0)).view(np.uint32)
    negative = (bits >> np.uint32(31)).astype(bool)
    return np.where(negative, ~bits, bits | np.uint32(0x80000000))


def _pairs(
    x: np.ndarray, ids: np.ndarray, block_size: int, drop_zero: bool
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(keys [P] uint32, positive [P] bool) of the pairs i < j, one block at a time."""
    n = len(x)
    for i0 in range(0, n, block_size):
        xi, idi = x[i0 : i0 + block_size], ids[i0 : i0 + block_size]
        for j0 in range(i0, n, block_size):
            sim = xi @ x[j0 : j0 + block_size].T  # float32, as JDE's torch.mm
            same = idi[:, None] == ids[None, j0 : j0 + block_size]
            if j0 == i0:
                upper = np.triu(np.ones(sim.shape, bool), k=1)
                sim, same = sim[upper], same[upper]
            else:
                sim, same = sim.ravel(), same.ravel()
            if drop_zero:
                keep = sim != 0
                sim, same = sim[keep], same[keep]
            yield _sortable_keys(sim), same


def _suffix(counts: np.ndarray) -> np.ndarray:
    """[K] -> [K + 1]: out[b] = counts[b:].sum(), out[K] = 0."""
    return np.append(np.cumsum(counts[::-1])[::-1], 0)


def embedding_tpr_at_far(
    embeddings,
    ids,
    far_levels: float | Sequence[float] = JDE_FAR_LEVELS,
    *,
    drop_zero_similarity: bool = False,
    block_size: int = 2048,
) -> dict[float, float]:
    """TPR of same-id verification at each false-accept rate, as JDE's test_emb.

    Args:
      embeddings: [N, E] (any scale; L2-normalised here).
      ids: [N] int identity of each embedding; ids < 0 (unknown) are dropped.
      far_levels: FAR values in (0, 1] (a float for one).
      drop_zero_similarity: also drop pairs of similarity exactly 0, JDE's exact pair set
        (see the module docstring).
      block_size: rows of the similarity matrix computed at once (memory ~ block_size^2).

    Returns:
      {far: tpr} for each level, tpr in [0, 1].

    Raises:
      ValueError on mismatched lengths, non-finite embeddings, FAR outside (0, 1], or
      ids that give no positive pair (no id seen twice) or no negative pair (one id).
    """
    x = np.asarray(embeddings, np.float64)
    ids = np.asarray(ids)
    if x.ndim != 2:
        raise ValueError(f"embeddings: expected [N, E], got shape {x.shape}")
    if ids.ndim != 1 or len(ids) != len(x):
        raise ValueError(f"ids: expected [{len(x)}] (one per embedding), got shape {ids.shape}")
    if len(ids) and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids: expected integers, got dtype {ids.dtype}")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise ValueError(f"embeddings: row {int(np.argmax(bad))} is not finite")
    levels = [float(f) for f in np.atleast_1d(np.asarray(far_levels, np.float64))]
    if any(not 0.0 < f <= 1.0 for f in levels):
        raise ValueError(f"far_levels must lie in (0, 1], got {levels}")
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")

    known = ids >= 0
    x, ids = x[known], ids[known].astype(np.int64)
    x = (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    # Pass 1: histogram of the high 16 bits of every pair's key, negatives then positives.
    hist = np.zeros(2 * _RADIX, np.int64)
    for keys, pos in _pairs(x, ids, block_size, drop_zero_similarity):
        hist += np.bincount((keys >> 16).astype(np.int64) + _RADIX * pos, minlength=2 * _RADIX)
    neg_hi, pos_hi = hist[:_RADIX], hist[_RADIX:]
    num_neg, num_pos = int(neg_hi.sum()), int(pos_hi.sum())
    if num_pos == 0 or num_neg == 0:
        raise ValueError(
            f"{len(ids)} embeddings with known ids give {num_pos} positive and {num_neg} "
            "negative pairs; TPR@FAR needs at least one of each (an id seen twice, and two "
            "different ids)"
        )

    # The ROC point reached at FAR f is the threshold v = the k-th largest negative
    # similarity, k = ceil(f * num_neg); find v's high bits from pass 1.
    neg_hi_suffix, pos_hi_suffix = _suffix(neg_hi), _suffix(pos_hi)
    targets = []
    for f in levels:
        k = min(max(math.ceil(f * num_neg), 1), num_neg)
        high = int(np.nonzero(neg_hi_suffix[:_RADIX] >= k)[0][-1])
        targets.append((f, k, high))
    bins = np.unique([high for _, _, high in targets])

    # Pass 2: the low 16 bits of the pairs that fall in those high-bit bins.
    low = np.zeros((len(bins), 2, _RADIX), np.int64)
    for keys, pos in _pairs(x, ids, block_size, drop_zero_similarity):
        high = (keys >> 16).astype(np.int64)
        sel = np.isin(high, bins)
        slot = np.searchsorted(bins, high[sel])
        index = (slot * 2 + pos[sel]) * _RADIX + (keys[sel] & 0xFFFF)
        low += np.bincount(index, minlength=low.size).reshape(low.shape)
    if not np.array_equal(low.sum(axis=2), np.stack([neg_hi[bins], pos_hi[bins]], axis=1)):
        raise RuntimeError("similarities differed between the two passes (non-deterministic BLAS?)")

    out = {}
    for f, k, high in targets:
        slot = int(np.searchsorted(bins, high))
        neg_above, pos_above = neg_hi_suffix[high + 1], pos_hi_suffix[high + 1]
        neg_low, pos_low = _suffix(low[slot, 0]), _suffix(low[slot, 1])
        v = int(np.nonzero(neg_above + neg_low[:_RADIX] >= k)[0][-1])
        # The polyline segment from (#neg > v, #pos > v) to (#neg >= v, #pos >= v).
        fp_gt, fp_ge = neg_above + neg_low[v + 1], neg_above + neg_low[v]
        tp_gt, tp_ge = pos_above + pos_low[v + 1], pos_above + pos_low[v]
        frac = (f * num_neg - fp_gt) / (fp_ge - fp_gt)
        out[f] = float((tp_gt + (tp_ge - tp_gt) * frac) / num_pos)
    return out
