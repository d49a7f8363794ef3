"""JDE detection AP and embedding TPR@FAR: hand-computed cases and plain loop references."""

import numpy as np
import pytest
from scipy.interpolate import interp1d

from jaxmot.jde.detection_eval import (
    JDE_FAR_LEVELS,
    average_precision,
    embedding_tpr_at_far,
    match_detections,
)

GT2 = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], np.float64)


# ---------------------------------------------------------------------------------------
# References written as plainly as JDE's test.py / utils.py read
# ---------------------------------------------------------------------------------------


def _iou(a, b):
    iw = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _compute_ap(recall, precision):
    mrec = [0.0, *recall, 1.0]
    mpre = [0.0, *precision, 0.0]
    for i in range(len(mpre) - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    return sum((mrec[i + 1] - mrec[i]) * mpre[i + 1] for i in range(len(mrec) - 1))


def _ap_of(correct, num_gt):
    tps = fps = 0
    recall, precision = [], []
    for c in correct:
        tps, fps = tps + c, fps + (1 - c)
        recall.append(tps / num_gt)
        precision.append(tps / (tps + fps))
    return _compute_ap(recall, precision), recall[-1], precision[-1]


def _reference(predictions, gts, thr=0.5):
    """JDE's test(): per-image loop; plus the pooled AP over all images."""
    sums, count = np.zeros(3), 0
    pooled, num_gt = [], 0
    for (boxes, scores), gt in zip(predictions, gts, strict=True):
        num_gt += len(gt)
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        correct, detected = [], []
        for i in order:
            if not len(gt):
                correct.append(0)
                continue
            ious = [_iou(boxes[i], g) for g in gt]
            best = int(np.argmax(ious))
            ok = ious[best] > thr and best not in detected
            correct.append(int(ok))
            detected += [best] if ok else []
        pooled += [(scores[i], c) for i, c in zip(order, correct, strict=True)]
        if len(gt) and len(scores):
            sums += _ap_of(correct, len(gt))
            count += 1
    pooled = [c for _, c in sorted(pooled, key=lambda sc: -sc[0])]
    ap = _ap_of(pooled, num_gt) if pooled and num_gt else (0.0, 0.0, 0.0)
    return ap, tuple(sums / max(count, 1))


def _brute_force_tpr(embeddings, ids, levels, drop_zero=False):
    """JDE's test_emb: all pairs, a threshold sweep for the ROC, scipy's interp1d."""
    x = np.asarray(embeddings, np.float64)
    keep = np.asarray(ids) >= 0
    x, ids = x[keep], np.asarray(ids)[keep]
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    sim = x @ x.T
    iu = np.triu_indices(len(x), k=1)
    scores, positive = sim[iu], (ids[:, None] == ids[None, :])[iu]
    if drop_zero:
        scores, positive = scores[scores != 0], positive[scores != 0]
    far, tpr = [0.0], [0.0]
    for t in np.unique(scores)[::-1]:
        far.append(np.sum(~positive & (scores >= t)) / np.sum(~positive))
        tpr.append(np.sum(positive & (scores >= t)) / np.sum(positive))
    interp = interp1d(far, tpr)
    return {f: float(interp(f)) for f in levels}


def _random_images(rng, num_images=12):
    predictions, gts = [], []
    for _ in range(num_images):
        g = int(rng.integers(0, 5))
        xy = rng.uniform(0, 100, (g, 2))
        gt = np.concatenate([xy, xy + rng.uniform(5, 30, (g, 2))], axis=1)
        # Jittered copies of some gts (some duplicated), plus clutter.
        src = gt[rng.integers(0, g, int(rng.integers(0, 2 * g + 1)))] if g else np.zeros((0, 4))
        jitter = src + rng.normal(0, 3, src.shape)
        jitter[:, 2:] = np.maximum(jitter[:, 2:], jitter[:, :2] + 1)
        cxy = rng.uniform(0, 100, (int(rng.integers(0, 3)), 2))
        clutter = np.concatenate([cxy, cxy + 10], axis=1)
        boxes = np.concatenate([jitter, clutter])
        scores = np.round(rng.uniform(0, 1, len(boxes)), 1)  # rounding makes score ties
        predictions.append((boxes, scores))
        gts.append(gt)
    return predictions, gts


# ---------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------


def test_hand_made_pr_curve_with_a_duplicate():
    # 0.9 hits gt0, 0.8 duplicates gt0 (false positive), 0.7 hits gt1.
    # recall .5 .5 1, precision 1 .5 2/3; envelope 1 at recall .5, 2/3 at recall 1:
    # AP = .5 * 1 + .5 * 2/3 = 5/6.
    boxes = np.array([[0, 0, 10, 10], [0.5, 0, 10.5, 10], [20, 0, 30, 10]], np.float64)
    scores = np.array([0.9, 0.8, 0.7])
    assert match_detections(boxes, scores, GT2).tolist() == [True, False, True]
    result = average_precision([(boxes, scores)], [GT2])
    assert result["ap"] == pytest.approx(5 / 6)
    assert result["jde_ap"] == pytest.approx(5 / 6)
    assert result["recall"] == pytest.approx(1.0)
    assert result["precision"] == pytest.approx(2 / 3)
    assert (result["num_gt"], result["num_pred"], result["num_images"]) == (2, 3, 1)


def test_perfect_and_empty_detections():
    perfect = average_precision([(GT2, [0.5, 0.6]), (GT2[:1], [0.1])], [GT2, GT2[:1]])
    assert perfect["ap"] == perfect["jde_ap"] == perfect["recall"] == perfect["precision"] == 1
    empty = average_precision([(np.zeros((0, 4)), np.zeros(0))], [GT2])
    assert empty["ap"] == empty["jde_ap"] == empty["recall"] == 0
    assert (empty["num_pred"], empty["jde_num_images"]) == (0, 0)
    assert average_precision([], [])["ap"] == 0


def test_best_gt_already_taken_makes_a_false_positive():
    # Both predictions overlap both gts above 0.5, and both prefer gt0. JDE (as the VOC
    # devkit) does not fall back to the free gt1: the second prediction is a false positive.
    gt = np.array([[0, 0, 10, 10], [1, 0, 11, 10]], np.float64)
    boxes = np.array([[0, 0, 10, 10], [0.4, 0, 10.4, 10]], np.float64)
    assert match_detections(boxes, [0.9, 0.8], gt).tolist() == [True, False]


def test_iou_threshold_is_strict():
    gt = np.array([[0, 0, 10, 10]], np.float64)
    half = np.array([[0, 0, 10, 5]], np.float64)  # IoU exactly 0.5
    assert match_detections(half, [1.0], gt).tolist() == [False]
    assert match_detections(half + [0, 0, 0, 0.01], [1.0], gt).tolist() == [True]
    assert match_detections(half, [1.0], gt, iou_threshold=0.49).tolist() == [True]


def test_tp_is_in_input_order_and_follows_the_scores():
    boxes = np.array([[0, 0, 10, 10], [0.5, 0, 10.5, 10], [20, 0, 30, 10]], np.float64)
    perm = [2, 0, 1]
    assert match_detections(boxes[perm], np.array([0.7, 0.9, 0.8]), GT2).tolist() == [
        True,
        True,
        False,
    ]
    # Swapping the scores of the two gt0 candidates swaps which one matches.
    assert match_detections(boxes, [0.8, 0.9, 0.7], GT2).tolist() == [False, True, True]


def test_jde_ap_ignores_images_without_predictions_or_gt():
    one = np.array([[0, 0, 10, 10]], np.float64)
    result = average_precision(
        [(one, [0.9]), (np.zeros((0, 4)), []), (one + 50, [0.95])],
        [one, one, np.zeros((0, 4))],
    )
    # Pooled: FP (0.95, image 3), TP (0.9), 2 gts: recall 0 .5, precision 0 .5 -> AP .25.
    assert result["ap"] == pytest.approx(0.25)
    assert (result["recall"], result["precision"]) == (0.5, 0.5)
    # JDE: only image 1 has both gts and predictions.
    assert (result["jde_ap"], result["jde_num_images"]) == (1.0, 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_average_precision_matches_the_loop_reference(seed):
    predictions, gts = _random_images(np.random.default_rng(seed))
    result = average_precision(predictions, gts)
    pooled, jde = _reference(predictions, gts)
    got = [result[k] for k in ("ap", "recall", "precision")]
    np.testing.assert_allclose(got, pooled, atol=1e-12)
    got = [result[k] for k in ("jde_ap", "jde_recall", "jde_precision")]
    np.testing.assert_allclose(got, jde, atol=1e-12)
    assert 0 < result["ap"] < 1


@pytest.mark.parametrize(
    "predictions, gts, message",
    [
        ([(GT2, [1.0, 1.0])], [], "cover 1 images but gt_boxes 0"),
        ([(GT2, [1.0])], [GT2], r"predictions\[0\] scores: expected \[2\]"),
        ([(GT2, [1.0, np.nan])], [GT2], "score 1 is not finite"),
        ([(GT2 * [1, np.nan, 1, 1], [1.0, 1.0])], [GT2], "boxes: row 0 is not finite"),
        ([(GT2, [1.0, 1.0])], [GT2[:, ::-1]], r"gt_boxes\[0\]: row 0 has x2 < x1"),
        ([(GT2[:, :3], [1.0, 1.0])], [GT2], r"expected \[N, 4\]"),
    ],
)
def test_detection_errors(predictions, gts, message):
    with pytest.raises(ValueError, match=message):
        average_precision(predictions, gts)


def test_iou_threshold_range():
    with pytest.raises(ValueError, match="iou_threshold"):
        match_detections(GT2, [1.0, 1.0], GT2, iou_threshold=1.5)


# ---------------------------------------------------------------------------------------
# Embedding TPR at FAR
# ---------------------------------------------------------------------------------------


def _random_embeddings(seed, n=60, e=8, num_ids=9):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, num_ids, n)
    centres = rng.normal(size=(num_ids, e))
    return centres[ids] + rng.normal(scale=1.2, size=(n, e)) * rng.uniform(0.5, 2, (n, 1)), ids


@pytest.mark.parametrize("seed", [0, 1])
def test_tpr_at_far_matches_the_brute_force_sweep(seed):
    x, ids = _random_embeddings(seed)
    num_neg = int(np.sum(ids[:, None] != ids[None, :]) // 2)
    # JDE's levels, levels that land exactly on ROC points (k / num_neg), and in between.
    levels = [*JDE_FAR_LEVELS, 1 / num_neg, 7 / num_neg, 0.25, 0.5, 0.77, 1.0]
    want = _brute_force_tpr(x, ids, levels)
    for block_size in (7, 2048):
        got = embedding_tpr_at_far(x, ids, levels, block_size=block_size)
        np.testing.assert_allclose([got[f] for f in levels], [want[f] for f in levels], atol=1e-9)
    assert 0 < want[0.1] < 1


def test_tpr_at_far_with_tied_similarities():
    # Entries +-0.5 on 4 of 8 dimensions: unit norm, similarities exact multiples of 1/4,
    # so scores tie across positive and negative pairs (diagonal ROC segments).
    rng = np.random.default_rng(3)
    n = 40
    x = np.zeros((n, 8))
    for row in x:
        row[rng.choice(8, 4, replace=False)] = rng.choice([-0.5, 0.5], 4)
    ids = rng.integers(0, 4, n)
    levels = [1e-3, 0.02, 0.1, 0.3, 0.6, 0.95]
    want = _brute_force_tpr(x, ids, levels)
    got = embedding_tpr_at_far(x, ids, levels, block_size=5)
    np.testing.assert_allclose([got[f] for f in levels], [want[f] for f in levels], atol=1e-12)


def test_separable_embeddings_reach_tpr_one_at_every_far():
    rng = np.random.default_rng(4)
    ids = np.repeat(np.arange(6), 5)
    x = np.eye(8)[ids] + rng.normal(scale=0.01, size=(len(ids), 8))
    got = embedding_tpr_at_far(x, ids)
    assert list(got) == list(JDE_FAR_LEVELS)
    assert all(v == pytest.approx(1.0) for v in got.values())
    assert set(embedding_tpr_at_far(x, ids, 0.1)) == {0.1}


def test_unknown_ids_and_scale_do_not_matter():
    x, ids = _random_embeddings(5, n=30)
    base = embedding_tpr_at_far(x, ids, [0.01, 0.1])
    noisy = np.concatenate([x * 3.0, np.random.default_rng(0).normal(size=(4, x.shape[1]))])
    got = embedding_tpr_at_far(noisy, np.concatenate([ids, [-1] * 4]), [0.01, 0.1])
    assert got == pytest.approx(base, abs=1e-6)


def test_drop_zero_similarity_reproduces_jdes_pair_selection():
    # One-hot embeddings: similarities exactly 0 or 1. JDE's triu != 0 selection keeps
    # only the similarity-1 pairs.
    dims = np.array([0, 0, 0, 1, 1, 2, 2, 3])
    ids = np.array([0, 0, 1, 1, 1, 2, 3, 3])
    x = np.eye(4)[dims]
    levels = [0.1, 0.5]
    for drop in (False, True):
        want = _brute_force_tpr(x, ids, levels, drop_zero=drop)
        got = embedding_tpr_at_far(x, ids, levels, drop_zero_similarity=drop)
        assert got == pytest.approx(want, abs=1e-12)
    # Similarity 1 (same dimension): positives (0,1), (3,4); negatives (0,2), (1,2), (5,6).
    # Similarity 0: positives (2,3), (2,4), (6,7) and the other 20 negatives.
    # Kept pairs only: all tied at 1, the ROC is the diagonal -> TPR@0.5 = 0.5.
    assert embedding_tpr_at_far(x, ids, 0.5, drop_zero_similarity=True)[0.5] == 0.5
    # All pairs: the first ROC segment runs from (0, 0) to (3/23, 2/5).
    assert embedding_tpr_at_far(x, ids, 0.05)[0.05] == pytest.approx(0.4 * 0.05 * 23 / 3)


@pytest.mark.parametrize(
    "x, ids, far, message",
    [
        (np.eye(3), [0, 1, 2], 0.1, "0 positive and 3 negative pairs"),
        (np.eye(3), [0, 0, 0], 0.1, "3 positive and 0 negative pairs"),
        (np.eye(3), [0, 0, -1], 0.1, "1 positive and 0 negative"),
        (np.eye(3), [0, 0], 0.1, r"ids: expected \[3\]"),
        (np.eye(3), [0.0, 0.0, 1.0], 0.1, "integers"),
        (np.eye(3) * [1, np.nan, 1], [0, 0, 1], 0.1, "row 0 is not finite"),
        (np.eye(3), [0, 0, 1], 0.0, r"far_levels must lie in \(0, 1\]"),
        (np.eye(3)[0], [0], 0.1, r"expected \[N, E\]"),
    ],
)
def test_embedding_errors(x, ids, far, message):
    with pytest.raises(ValueError, match=message):
        embedding_tpr_at_far(x, ids, far)
