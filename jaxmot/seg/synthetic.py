"""Synthetic object-segmentation images (numpy + cv2 only, about 1 ms at 128x128).

`draw_synthetic(rng, size)` paints, back to front:

  1. a cluttered background: a low-saturation colour field (bicubic upsampling of a coarse
     random grid) with a faint texture (stripes, checkerboard or noise);
  2. 2-6 distractor shapes, which are background (mask False);
  3. 1-3 foreground objects (mask True);
  4. 0-2 small distractors on top, occluding parts of the objects.

What tells foreground from background is colour together with texture, so the task is
learnable from local appearance but not from colour alone:
  * foreground: warm (red-orange-yellow), saturated, smooth fills: flat colour with mild
    noise, a linear gradient between two warm colours, or wide stripes (period >= 10 px)
    of two warm colours;
  * distractors: either cool (green-cyan-blue-violet) saturated fills of the same kinds,
    or warm colours with a fine pattern (checkerboard or stripes of period 2-4 px)
    alternating with a dark or grey colour.
Shapes (ellipses, random polygons and smooth star-shaped blobs) are drawn without
anti-aliasing, so object edges are sharp, one pixel wide, and the mask matches the image
exactly: upsampling coarse predictions has real edges to recover.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

WARM_HUES = (-0.05, 0.15)  # hue in [0, 1), wrapping through red
COOL_HUES = (0.35, 0.8)


def _hsv(rng: np.random.Generator, hue, sat, val) -> np.ndarray:
    h = rng.uniform(*hue) % 1.0
    return np.array(colorsys.hsv_to_rgb(h, rng.uniform(*sat), rng.uniform(*val)), np.float32)


def _coords(size):
    h, w = size
    return np.mgrid[0:h, 0:w].astype(np.float32)  # [2, H, W]: y, x


def _phase(rng, yx, period) -> np.ndarray:
    """Coordinate along a random direction divided by `period`: yx [2, ...] -> [...]."""
    theta = rng.uniform(0, np.pi)
    return (yx[0] * np.sin(theta) + yx[1] * np.cos(theta)) / period


# Fills take the coordinates of the pixels they paint, yx [2, K], and return [K, 3]:
# painting only the shape's pixels keeps an image near 1 ms.


def _smooth_fill(rng, yx, hue, extent) -> np.ndarray:
    """A saturated fill with smooth texture: flat + noise, gradient or wide stripes."""
    c1 = _hsv(rng, hue, (0.6, 1.0), (0.55, 1.0))
    kind = rng.integers(3)
    if kind == 0:
        noise = 0.03 * rng.standard_normal(yx.shape[1:] + (1,), dtype=np.float32)
        return c1 + noise
    c2 = _hsv(rng, hue, (0.6, 1.0), (0.55, 1.0))
    if kind == 1:
        span = extent * rng.uniform(0.3, 1.0)
        t = np.clip(_phase(rng, yx, span) - rng.uniform(0, 1), 0, 1)[..., None]
        return c1 + (c2 - c1) * t
    stripes = (np.floor(_phase(rng, yx, rng.uniform(10, 20))) % 2)[..., None]
    return c1 + (c2 - c1) * stripes


def _fine_pattern_fill(rng, yx) -> np.ndarray:
    """A warm colour alternating with a dark or grey one at a 2-4 px period."""
    c1 = _hsv(rng, WARM_HUES, (0.6, 1.0), (0.55, 1.0))
    c2 = _hsv(rng, (0, 1), (0.0, 0.3), (0.05, 0.5))
    period = float(rng.integers(2, 5))
    if rng.integers(2):
        y, x = yx
        pattern = (np.floor(y / period) + np.floor(x / period)) % 2
    else:
        pattern = np.floor(_phase(rng, yx, period)) % 2
    return c1 + (c2 - c1) * pattern[..., None]


def _shape_mask(rng, size, radius_range) -> np.ndarray:
    """uint8 [H, W] 0/1: an ellipse, a random polygon or a smooth blob, no anti-aliasing."""
    h, w = size
    r = rng.uniform(*radius_range) * min(h, w)
    cy, cx = rng.uniform(0.1, 0.9) * h, rng.uniform(0.1, 0.9) * w
    out = np.zeros(size, np.uint8)
    kind = rng.integers(3)
    if kind == 0:
        axes = (max(1, int(r)), max(1, int(r * rng.uniform(0.4, 1.0))))
        angle = rng.uniform(0, 180)
        cv2.ellipse(out, (int(cx), int(cy)), axes, angle, 0, 360, 1, -1, cv2.LINE_8)
        return out
    if kind == 1:
        n = int(rng.integers(3, 8))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = r * rng.uniform(0.5, 1.0, n)
    else:  # smooth star-shaped blob: radius = low-order Fourier series of the angle
        n = 32
        angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
        k = np.arange(1, 4)[:, None]
        coef = rng.normal(0, 0.15, (2, 3, 1))
        wobble = (coef[0] * np.cos(k * angles) + coef[1] * np.sin(k * angles)).sum(0)
        radii = r * np.clip(1 + wobble, 0.4, 1.6)
    pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)
    cv2.fillPoly(out, [np.round(pts).astype(np.int32)], 1, cv2.LINE_8)
    return out


def _background(rng, size, yx) -> np.ndarray:
    h, w = size
    grid = rng.integers(2, 5)
    hsv = np.stack(
        [
            rng.uniform(0, 1, (grid, grid)),
            rng.uniform(0.0, 0.3, (grid, grid)),
            rng.uniform(0.25, 0.85, (grid, grid)),
        ],
        axis=-1,
    ).astype(np.float32)
    hsv[..., 0] *= 360.0  # cv2's float HSV uses degrees
    field = cv2.cvtColor(cv2.resize(hsv, (w, h), interpolation=cv2.INTER_CUBIC), cv2.COLOR_HSV2RGB)
    kind = rng.integers(3)
    amplitude = rng.uniform(0.02, 0.08)
    if kind == 0:
        texture = np.sin(2 * np.pi * _phase(rng, yx, rng.uniform(3, 12)))
    elif kind == 1:
        period = rng.uniform(3, 10)
        texture = 2.0 * ((np.floor(yx[0] / period) + np.floor(yx[1] / period)) % 2) - 1.0
    else:
        texture = rng.standard_normal(size, dtype=np.float32)
    return field + amplitude * texture[..., None]


def _distractor_fill(rng, yx, extent) -> np.ndarray:
    if rng.integers(2):
        return _smooth_fill(rng, yx, COOL_HUES, extent)
    return _fine_pattern_fill(rng, yx)


def draw_synthetic(
    rng: np.random.Generator, size: tuple[int, int] = (128, 128)
) -> tuple[np.ndarray, np.ndarray]:
    """One image: (uint8 [H, W, 3] RGB, bool [H, W] foreground mask). Deterministic in rng."""
    size = (int(size[0]), int(size[1]))
    if min(size) < 8:
        raise ValueError(f"synthetic images need H, W >= 8, got {size}")
    yx = _coords(size)
    image = _background(rng, size, yx)
    mask = np.zeros(size, bool)
    layers = [("distractor", (0.05, 0.25))] * int(rng.integers(2, 7))
    layers += [("object", (0.12, 0.3))] * int(rng.integers(1, 4))
    layers += [("distractor", (0.04, 0.1))] * int(rng.integers(0, 3))
    for kind, radius in layers:
        shape = _shape_mask(rng, size, radius)
        x, y, w, h = cv2.boundingRect(shape)  # work inside the shape's box: fast
        box = np.s_[y : y + h, x : x + w]
        region = shape[box].view(bool)
        pixels = yx[:, y : y + h, x : x + w][:, region]
        if kind == "object":
            image[box][region] = _smooth_fill(rng, pixels, WARM_HUES, max(size))
        else:
            image[box][region] = _distractor_fill(rng, pixels, max(size))
        mask[box][region] = kind == "object"
    image = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return image, mask
