"""Evaluate a segmenter (and the upsampling baselines) on held-out images.

Every prediction is brought to the image's full resolution before it is scored against
the full-resolution mask: `pac` and `joint` predict there already; the linear probe's
patch-grid probabilities are upsampled bilinearly (to compare a probe with full
masks). The linear probe is also scored at the patch grid against the coarse masks (the
"coarse" figure). The joint upsamplers (`joint`, `pacnet`) get two baselines on the
same inputs: nearest and bilinear upsampling of their low-resolution input.
"""

from __future__ import annotations

import numpy as np
from flax import nnx

from jaxmot.seg.batches import SegArrays
from jaxmot.seg.data import patch_pool
from jaxmot.seg.metrics import (
    SegmentationScores,
    resize_mask_nearest,
    upsample_probabilities,
)
from jaxmot.seg.model import JOINT_KINDS, probabilities


@nnx.jit
def _probabilities(model, low, images):
    return probabilities(model.config.kind, model(low, images)[..., 0])


def predict(model, low: np.ndarray, images: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """Mask probabilities [N, h', w'] of `model` (at its output resolution; sigmoid of
    the logits, the `pacnet` head's values clipped to [0, 1]) for
    low [N, h, w, C] and images [N, H, W, 3]; the last batch is padded, so one image
    size compiles once."""
    out = []
    for i in range(0, len(low), batch_size):
        lo, im = low[i : i + batch_size], images[i : i + batch_size]
        n = len(lo)
        if n < batch_size:
            lo = np.concatenate([lo, np.zeros((batch_size - n, *lo.shape[1:]), lo.dtype)])
            im = np.concatenate([im, np.zeros((batch_size - n, *im.shape[1:]), im.dtype)])
        out.append(np.asarray(_probabilities(model, lo, im))[:n])
    return np.concatenate(out)


def evaluate_segmenter(model, kind: str, arrays: SegArrays, batch_size: int = 8) -> dict:
    """{method: scores} for `model` (and, for the joint upsamplers, the baselines) on `arrays`.

    Scores are `SegmentationScores.result()` dicts (foreground IoU and the mean
    IoU over foreground and background, over the dataset and per image); methods are
    "model" (full resolution), "model_coarse" (linear only: at the patch grid against
    the coarse masks), "nearest" and "bilinear" (joint and pacnet only).
    """
    _, h, w = arrays.masks.shape
    probs = predict(model, arrays.low, arrays.images, batch_size)
    results = {}
    full = SegmentationScores()
    coarse = SegmentationScores()
    for prob, mask in zip(probs, arrays.masks, strict=True):
        if kind == "linear":
            coarse.add(prob, patch_pool(mask, arrays.patch, "max") > 0)
            prob = upsample_probabilities(prob, (h, w))
        full.add(prob, mask)
    results["model"] = full.result()
    if kind == "linear":
        results["model_coarse"] = coarse.result()
    if kind in JOINT_KINDS:
        nearest, bilinear = SegmentationScores(), SegmentationScores()
        for low, mask in zip(arrays.low, arrays.masks, strict=True):
            nearest.add(resize_mask_nearest(low[..., 0], (h, w)), mask)
            bilinear.add(upsample_probabilities(low[..., 0], (h, w)), mask)
        results["nearest"], results["bilinear"] = nearest.result(), bilinear.result()
    return results


def format_scores(results: dict[str, dict], title: str) -> str:
    """A table: one row per method, foreground IoU and mean IoU (fg/bg), dataset-level."""
    lines = [f"{title}", f"{'method':14s} {'fg IoU':>8s} {'mean IoU (fg/bg)':>17s}"]
    for method, s in results.items():
        lines.append(f"{method:14s} {s['fg_iou']:8.3f} {s['mean_iou_fg_bg']:17.3f}")
    return "\n".join(lines)


__all__ = ["evaluate_segmenter", "format_scores", "predict"]
