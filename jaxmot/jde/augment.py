"""Image geometry and augmentation of JDE training (Towards-Realtime-MOT `utils/datasets.py`).

    img, ratio, pad = letterbox(rgb, 1088, 608)          # network input, boxes: b * ratio + pad
    img, boxes, kept = random_affine(img, boxes, rng)    # rotation, scale, translation, shear
    img = augment_hsv(img, rng)                          # saturation and value x U(0.5, 1.5)
    img, boxes = hflip(img, boxes)

The official order of one training sample is HSV (on the original image), letterbox,
random affine, horizontal flip with probability 0.5 (`jde_data.JDEBatches` does this).

Coordinates are continuous pixels: pixel (i, j) covers [j, j + 1) x [i, i + 1), so a box
(x1, y1, x2, y2) covers exactly the pixels it names and a flip maps x to W - x. Every
function takes an explicit `np.random.Generator`; none touches global random state.

Differences from the official code, all sub-pixel:
- letterbox returns the integer padding it really applied (the official returns the
  float dw, dh = half the padding, 0.5 px off when the padding is odd);
- random_affine warps the image with the same matrix expressed in cv2's pixel-index
  coordinates, so the pixels move exactly with the boxes (the official applies the
  continuous-coordinate matrix to the pixel indices: up to ~0.3 px apart).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = [
    "BORDER_VALUE",
    "augment_hsv",
    "boxes_to_original",
    "hflip",
    "letterbox",
    "random_affine",
]

BORDER_VALUE = 127.5  # official grey of letterbox padding and of the affine border


def letterbox(
    img: np.ndarray, width: int, height: int, color: float = BORDER_VALUE
) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Resize keeping the aspect ratio (cv2.INTER_AREA) and pad centred to width x height.

    Args:
      img: [H, W, C] uint8.
      width, height: the output size.

    Returns:
      (out [height, width, C] uint8, ratio, (pad_x, pad_y)): a point p of `img` lands at
      p * ratio + pad in `out` (the official mapping; the resized side that does not fill
      its axis is rounded to whole pixels, so that axis is off by < 0.5 px at its far edge).
    """
    h, w = img.shape[:2]
    if h < 1 or w < 1:
        raise ValueError(f"letterbox: empty image of shape {img.shape}")
    ratio = min(float(height) / h, float(width) / w)
    new_w, new_h = round(w * ratio), round(h * ratio)
    dw, dh = (width - new_w) / 2, (height - new_h) / 2
    # Official split of an odd padding: the extra pixel goes to the right / bottom.
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    resized = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_AREA)
    border = (color,) * (img.shape[2] if img.ndim == 3 else 1)
    out = cv2.copyMakeBorder(resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=border)
    return out, ratio, (left, top)


def boxes_to_original(
    boxes_xyxy: np.ndarray, ratio: float, pad: tuple[float, float], original_hw: tuple[int, int]
) -> np.ndarray:
    """Undo `letterbox` on boxes: [..., 4] xyxy of the letterboxed image -> [..., 4] xyxy
    of the original image (float32), clipped to it (original_hw = (H, W))."""
    boxes = np.asarray(boxes_xyxy, np.float64)
    offset = np.array([pad[0], pad[1], pad[0], pad[1]], np.float64)
    out = (boxes - offset) / ratio
    h, w = original_hw
    out = np.clip(out, 0.0, np.array([w, h, w, h], np.float64))
    return out.astype(np.float32)


# --------------------------------------------------------------------------- affine


def _affine_matrix(
    rng: np.random.Generator, width: int, height: int, degrees, translate, scale, shear
) -> tuple[np.ndarray, float]:
    """The official S @ T @ R (3x3, continuous coordinates) and its rotation angle (deg).
    Draw order as the official: angle, scale, x and y translation, x and y shear."""
    angle = rng.uniform(degrees[0], degrees[1])
    s = rng.uniform(scale[0], scale[1])
    rotation = np.eye(3)
    rotation[:2] = cv2.getRotationMatrix2D(center=(width / 2, height / 2), angle=angle, scale=s)
    translation = np.eye(3)
    # Official quirk kept: the x translation is a fraction of the image *height* and the
    # y translation a fraction of its *width* (`translate[0] * img.shape[0]`).
    translation[0, 2] = rng.uniform(-1.0, 1.0) * translate[0] * height
    translation[1, 2] = rng.uniform(-1.0, 1.0) * translate[1] * width
    shearing = np.eye(3)
    shearing[0, 1] = math.tan(math.radians(rng.uniform(shear[0], shear[1])))
    shearing[1, 0] = math.tan(math.radians(rng.uniform(shear[0], shear[1])))
    return shearing @ translation @ rotation, angle


def random_affine(
    img: np.ndarray,
    boxes_xyxy: np.ndarray,
    rng: np.random.Generator,
    degrees: tuple[float, float] = (-5.0, 5.0),
    translate: tuple[float, float] = (0.10, 0.10),
    scale: tuple[float, float] = (0.50, 1.20),
    shear: tuple[float, float] = (-2.0, 2.0),
    border_value: float = BORDER_VALUE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random rotation + scale about the centre, translation and shear, as JDE trains
    (defaults: the ranges JDE's `LoadImagesAndLabels` passes; shear the function default).

    Boxes follow the official rule: the 4 warped corners' bounding box, shrunk about its
    centre by sqrt(max(|sin a|, |cos a|)) (rotation inflates corner boxes), clipped to the
    image; kept when w > 4 and h > 4 px, the clipped area is > 10 % of the input box's area
    and the aspect max(w/h, h/w) < 10.

    Args:
      img: [H, W, C] uint8; boxes_xyxy: [N, 4] pixels of `img`.

    Returns:
      (warped [H, W, C] uint8, boxes [K, 4] float32 xyxy, kept [K] int64 indices into the
      input boxes).
    """
    height, width = img.shape[:2]
    m, angle = _affine_matrix(rng, width, height, degrees, translate, scale, shear)
    # cv2 samples at pixel indices (centres at integers, continuous coordinate - 0.5).
    to_cont, to_index = np.eye(3), np.eye(3)
    to_cont[:2, 2], to_index[:2, 2] = 0.5, -0.5
    border = (border_value,) * (img.shape[2] if img.ndim == 3 else 1)
    warped = cv2.warpPerspective(
        img, to_index @ m @ to_cont, dsize=(width, height), flags=cv2.INTER_LINEAR,
        borderValue=border,
    )  # fmt: skip

    boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    n = len(boxes)
    if n == 0:
        return warped, np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
    area0 = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    corners = np.ones((n * 4, 3))
    corners[:, :2] = boxes[:, [0, 1, 2, 3, 0, 3, 2, 1]].reshape(n * 4, 2)
    xy = (corners @ m.T)[:, :2].reshape(n, 4, 2)
    # The last row of the matrix is (0, 0, 1): no perspective division.
    lo, hi = xy.min(axis=1), xy.max(axis=1)
    radians = math.radians(angle)
    reduction = max(abs(math.sin(radians)), abs(math.cos(radians))) ** 0.5
    centre, half = (lo + hi) / 2, (hi - lo) * reduction / 2
    out = np.concatenate([centre - half, centre + half], axis=1)
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height)
    w, h = out[:, 2] - out[:, 0], out[:, 3] - out[:, 1]
    area = w * h
    aspect = np.maximum(w / (h + 1e-16), h / (w + 1e-16))
    keep = (w > 4) & (h > 4) & (area / (area0 + 1e-16) > 0.1) & (aspect < 10)
    kept = np.flatnonzero(keep)
    return warped, out[kept].astype(np.float32), kept


# --------------------------------------------------------------------------- photometric


def augment_hsv(img: np.ndarray, rng: np.random.Generator, fraction: float = 0.5) -> np.ndarray:
    """Official SV augmentation: saturation and value each multiplied by an independent
    factor ~ U(1 - fraction, 1 + fraction), clipped to 255, truncated to uint8; hue kept.

    img: [H, W, 3] uint8 RGB (S and V do not depend on the channel order) -> same.
    """
    # A uint8 -> uint8 table per channel gives the official float32 product, clip and
    # truncation of every value without float copies of the image.
    levels = np.arange(256, dtype=np.float32)
    table = np.empty((1, 256, 3), np.uint8)
    table[0, :, 0] = levels.astype(np.uint8)  # hue unchanged
    for channel in (1, 2):  # S, then V: the official draw order
        a = np.float32(1.0 + fraction * rng.uniform(-1.0, 1.0))
        table[0, :, channel] = np.clip(levels * a, 0, 255).astype(np.uint8)
    hsv = cv2.LUT(cv2.cvtColor(img, cv2.COLOR_RGB2HSV), table)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def hflip(img: np.ndarray, boxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror left-right: [H, W, C] image and [N, 4] xyxy boxes (x -> W - x)."""
    width = img.shape[1]
    boxes = np.asarray(boxes_xyxy, np.float32).reshape(-1, 4)
    flipped = np.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], 1)
    return np.ascontiguousarray(img[:, ::-1]), flipped.astype(np.float32)
