"""Image normalisation and the standard re-identification training augmentations.

`normalize` / `denormalize` use the ImageNet statistics (RGB, in [0, 1] units) that
ImageNet-pretrained backbones expect; feature extractors reuse them. They are plain
arithmetic, so they work on NumPy and JAX arrays alike (and under `jit`).

`augment` is the "bag of tricks" recipe (Luo et al., "Bag of Tricks and A Strong Baseline
for Deep Person Re-identification", CVPRW 2019; reid-strong-baseline's transforms):
horizontal flip (p 0.5), zero padding by 10 px then a random crop back to the input
size, normalisation, random erasing (Zhong et al., AAAI 2020: p 0.5, area 2-40% of the
image, aspect ratio in [0.3, 1/0.3], up to 100 tries to fit). Erased pixels are set to 0
after normalisation, i.e. to the ImageNet mean colour. All randomness comes from the
`np.random.Generator` passed in, drawn in a fixed order (flips, crop offsets, erasing),
so a batch is a function of that generator's seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jaxmot.core.images import IMAGENET_MEAN, IMAGENET_STD


def normalize(images):
    """[..., 3] RGB -> float32 (x - mean) / std with ImageNet statistics.

    uint8 input is scaled by 1/255 first; float input must already be in [0, 1].
    """
    x = images.astype(np.float32)
    if images.dtype == np.uint8:
        x = x * np.float32(1.0 / 255.0)
    return (x - IMAGENET_MEAN) / IMAGENET_STD


def denormalize(x):
    """Inverse of `normalize`: float32 [..., 3] in [0, 1] units (not clipped)."""
    return x.astype(np.float32) * IMAGENET_STD + IMAGENET_MEAN


@dataclass(frozen=True)
class AugmentConfig:
    """The augmentation recipe; defaults are the bag-of-tricks values (module docstring)."""

    flip_p: float = 0.5
    pad: int = 10  # px of zero padding before the random crop
    erasing_p: float = 0.5  # 0 turns random erasing off
    erasing_area: tuple[float, float] = (0.02, 0.4)  # erased fraction of the image area
    erasing_min_aspect: float = 0.3  # aspect ratio drawn in [r, 1 / r]
    erasing_tries: int = 100


def _random_erase(x: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> None:
    """Erase one rectangle (value 0) in a random half of the images of x [B, H, W, 3]."""
    b, h, w = x.shape[:3]
    n = config.erasing_tries
    apply = rng.random(b) < config.erasing_p
    area = h * w * rng.uniform(*config.erasing_area, (b, n))
    r = config.erasing_min_aspect
    aspect = rng.uniform(r, 1.0 / r, (b, n))
    eh = np.rint(np.sqrt(area * aspect)).astype(np.int64)
    ew = np.rint(np.sqrt(area / aspect)).astype(np.int64)
    fits = (eh < h) & (ew < w)
    u = rng.random((b, 2))  # the rectangle's corner, as fractions of the free range
    for i in np.flatnonzero(apply & fits.any(axis=1)):
        t = int(np.argmax(fits[i]))  # the first try that fits, as in the reference loop
        y0 = int(u[i, 0] * (h - eh[i, t] + 1))
        x0 = int(u[i, 1] * (w - ew[i, t] + 1))
        x[i, y0 : y0 + eh[i, t], x0 : x0 + ew[i, t]] = 0.0


def augment(
    images: np.ndarray, rng: np.random.Generator, config: AugmentConfig | None = None
) -> np.ndarray:
    """images [B, H, W, 3] uint8 RGB -> augmented, normalised float32 [B, H, W, 3]."""
    config = AugmentConfig() if config is None else config
    b, h, w = images.shape[:3]
    flip = rng.random(b) < config.flip_p
    pad = config.pad
    offsets = rng.integers(0, 2 * pad + 1, (b, 2))
    out = images.copy()
    out[flip] = images[flip, :, ::-1]
    if pad > 0:
        padded = np.pad(out, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        for i, (dy, dx) in enumerate(offsets):
            out[i] = padded[i, dy : dy + h, dx : dx + w]
    x = normalize(out)
    if config.erasing_p > 0:
        _random_erase(x, rng, config)
    return x


__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "AugmentConfig", "augment", "denormalize", "normalize"]
