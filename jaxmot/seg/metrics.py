"""Binary segmentation metrics: foreground IoU and the mean IoU over foreground and background.

    scores = SegmentationScores()
    for prob, mask in zip(probs, masks):           # [H, W] each, or [B, H, W] batches
        scores.add(prob, mask)
    scores.result()   # {"fg_iou", "bg_iou", "mean_iou_fg_bg", "..._per_image_mean", ...}

Conventions:
  * Predictions: a bool array is used as is; numbers (probabilities, 0/1 or 0/255 masks)
    are foreground where strictly greater than `threshold` (default 0.5). Targets:
    bool as is, numbers foreground where > 0.5.
  * "mean IoU" is the mean of the foreground IoU and the background
    IoU (the IoU of the complements). Name which one a number is when reporting it.
  * Empty classes: when a class is absent from both the target and the prediction (union
    0), its IoU is 1 (a perfect answer), as is common practice; so an all-background image
    predicted all background scores foreground IoU 1 and mean IoU 1.
  * Dataset level vs per image: `foreground_iou`/`mean_iou` on a [B, H, W] batch and the
    `fg_iou`/`bg_iou`/`mean_iou_fg_bg` entries of `SegmentationScores` pool all pixels
    (sum of intersections / sum of unions over every image), so large objects weigh more;
    `per_image=True` and the `*_per_image_mean` entries give each image equal weight.
  * Resolution: coarse (patch-grid) predictions are compared against full-resolution
    masks after `upsample_probabilities` (bilinear, cv2) or `resize_mask_nearest`.
"""

from __future__ import annotations

import cv2
import numpy as np


def _binary(x, threshold: float) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype == bool else x > threshold


def _pair(pred, target, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    pred, target = _binary(pred, threshold), _binary(target, 0.5)
    if pred.shape != target.shape:
        raise ValueError(
            f"prediction shape {pred.shape} does not match target shape {target.shape}; "
            "upsample coarse predictions first (upsample_probabilities / resize_mask_nearest)"
        )
    if pred.ndim not in (2, 3):
        raise ValueError(f"expected [H, W] or [B, H, W] arrays, got shape {pred.shape}")
    return pred, target


def _counts(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """[..., H, W] bool pair -> int64 [..., 4]: fg intersection, fg union, bg int., bg union."""
    axes = (-2, -1)
    inter = np.sum(pred & target, axis=axes, dtype=np.int64)
    union = np.sum(pred | target, axis=axes, dtype=np.int64)
    n = pred.shape[-2] * pred.shape[-1]
    # background: intersection of complements = n - union; union of complements = n - inter
    return np.stack([inter, union, n - union, n - inter], axis=-1)


def _iou(inter, union):
    inter, union = np.asarray(inter, np.float64), np.asarray(union, np.float64)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def foreground_iou(prob_or_mask, target, threshold: float = 0.5, *, per_image: bool = False):
    """IoU of the foreground. [H, W] -> float; [B, H, W] -> float pooled over all pixels,
    or float64 [B] with per_image=True. Union 0 counts as IoU 1."""
    pred, target = _pair(prob_or_mask, target, threshold)
    c = _counts(pred, target)
    if pred.ndim == 3 and not per_image:
        c = c.sum(axis=0)
    iou = _iou(c[..., 0], c[..., 1])
    return float(iou) if iou.ndim == 0 else iou


def mean_iou(prob_or_mask, target, threshold: float = 0.5, *, per_image: bool = False):
    """Mean IoU over the two classes: (foreground IoU + background IoU) / 2. Shapes and pooling as
    in `foreground_iou`."""
    pred, target = _pair(prob_or_mask, target, threshold)
    c = _counts(pred, target)
    if pred.ndim == 3 and not per_image:
        c = c.sum(axis=0)
    iou = 0.5 * (_iou(c[..., 0], c[..., 1]) + _iou(c[..., 2], c[..., 3]))
    return float(iou) if iou.ndim == 0 else iou


class SegmentationScores:
    """Accumulates images one by one (or in [B, H, W] batches; images may differ in size).

    `result()` returns:
      fg_iou, bg_iou, mean_iou_fg_bg: dataset level, pooled over all pixels of all images
        (sum of intersections / sum of unions);
      fg_iou_per_image_mean, mean_iou_fg_bg_per_image_mean: the mean over images of each
        image's figure;
      images: how many images were added.
    """

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold
        self._totals = np.zeros(4, np.int64)
        self._fg: list[float] = []
        self._mean: list[float] = []

    def add(self, prob_or_mask, target) -> None:
        pred, target = _pair(prob_or_mask, target, self.threshold)
        c = _counts(pred, target).reshape(-1, 4)
        self._totals += c.sum(axis=0)
        fg, bg = _iou(c[:, 0], c[:, 1]), _iou(c[:, 2], c[:, 3])
        self._fg.extend(fg.tolist())
        self._mean.extend((0.5 * (fg + bg)).tolist())

    def __len__(self) -> int:
        return len(self._fg)

    def result(self) -> dict[str, float]:
        if not self._fg:
            raise ValueError("SegmentationScores.result: no images were added")
        t = self._totals
        fg, bg = float(_iou(t[0], t[1])), float(_iou(t[2], t[3]))
        return {
            "fg_iou": fg,
            "bg_iou": bg,
            "mean_iou_fg_bg": 0.5 * (fg + bg),
            "fg_iou_per_image_mean": float(np.mean(self._fg)),
            "mean_iou_fg_bg_per_image_mean": float(np.mean(self._mean)),
            "images": len(self._fg),
        }


def _resize_each(array: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    h, w = int(size[0]), int(size[1])
    if array.ndim == 2:
        return cv2.resize(array, (w, h), interpolation=interpolation)
    if array.ndim == 3:
        return np.stack([cv2.resize(a, (w, h), interpolation=interpolation) for a in array])
    raise ValueError(f"expected [h, w] or [B, h, w], got shape {array.shape}")


def upsample_probabilities(prob: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float [h, w] or [B, h, w] -> float32 [H, W] / [B, H, W], size = (H, W): bilinear
    (cv2.INTER_LINEAR, half-pixel centres like torch's align_corners=False; values past
    the outer pixel centres are clamped to the edge). Threshold the result afterwards:
    interpolating probabilities, not masks, gives smooth boundaries."""
    prob = np.asarray(prob, np.float32)
    return _resize_each(prob, size, cv2.INTER_LINEAR)


def resize_mask_nearest(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """mask [h, w] or [B, h, w] (bool, or numbers > 0.5) -> bool [H, W] / [B, H, W],
    size = (H, W): nearest neighbour with half-pixel centres (cv2.INTER_NEAREST_EXACT);
    for integer factors (a coarse mask to its image) each cell becomes a block."""
    mask = _binary(mask, 0.5).astype(np.uint8)
    return _resize_each(mask, size, cv2.INTER_NEAREST_EXACT) > 0
