"""Training batches for the segmenters: images, masks and their low-resolution inputs.

A segmenter reads a low-resolution input `low` [h, w, C] per image (ViT patch features,
C = 384, for `linear`/`pac`; a 1-channel pooled mask for `joint`) plus the image itself
(the PAC guide) and predicts a mask at the image's resolution (`pac`, `joint`) or at the
patch grid (`linear`, trained against coarse masks: the patch max-pool).

`SegBatches.batch(step)` is a pure function of (seed, step), as the training loop needs:
it draws `batch_size` images and, when `crop` is set, one random crop per image aligned
to the patch grid, so the features crop with the image.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxmot.seg.data import patch_pool


@dataclasses.dataclass(frozen=True)
class SegArrays:
    """Equal-size samples stacked: images uint8 [N, H, W, 3], masks bool [N, H, W],
    low float32 [N, H/P, W/P, C], names [N]."""

    images: np.ndarray
    masks: np.ndarray
    low: np.ndarray
    names: tuple[str, ...]
    patch: int

    def __post_init__(self):
        n, h, w = self.masks.shape
        p = self.patch
        if self.images.shape != (n, h, w, 3):
            raise ValueError(f"images {self.images.shape} do not match masks {self.masks.shape}")
        if self.low.shape[:3] != (n, h // p, w // p):
            raise ValueError(
                f"low-resolution inputs {self.low.shape} do not match images {self.images.shape}"
                f" at patch size {p}"
            )

    def __len__(self) -> int:
        return len(self.masks)


def stack_arrays(images, masks, lows, names, patch: int) -> SegArrays:
    """Stack per-image arrays (all of one size) into `SegArrays`, naming the odd one out."""
    shapes = {np.shape(m) for m in masks}
    if len(shapes) > 1:
        first = np.shape(masks[0])
        odd = next(i for i, m in enumerate(masks) if np.shape(m) != first)
        raise ValueError(
            f"images of different sizes cannot be batched whole: {names[0]} is {first}, "
            f"{names[odd]} is {np.shape(masks[odd])}; set data.crop to train on crops"
        )
    return SegArrays(
        images=np.stack(images).astype(np.uint8),
        masks=np.stack(masks).astype(bool),
        low=np.stack(lows).astype(np.float32),
        names=tuple(names),
        patch=patch,
    )


class SegBatches:
    """Deterministic random-access batches {images, masks, coarse, low} from SegArrays."""

    def __init__(self, arrays: SegArrays, batch_size: int, *, crop: int = 0, seed: int = 0):
        _, h, w = arrays.masks.shape
        p = arrays.patch
        if crop and (crop % p or crop > min(h, w)):
            raise ValueError(
                f"crop {crop} must be a multiple of the patch size {p} and fit the {h}x{w} images"
            )
        if len(arrays) == 0:
            raise ValueError("no training images")
        self.arrays = arrays
        self.batch_size = batch_size
        self.crop = crop
        self.seed = seed

    def batch(self, step: int) -> dict[str, np.ndarray]:
        a, p = self.arrays, self.arrays.patch
        rng = np.random.default_rng([self.seed, step])
        index = rng.integers(0, len(a), self.batch_size)
        images, masks, low = a.images[index], a.masks[index], a.low[index]
        if self.crop:
            _, h, w = a.masks.shape
            c, cp = self.crop, self.crop // p
            top = rng.integers(0, (h - c) // p + 1, self.batch_size)
            left = rng.integers(0, (w - c) // p + 1, self.batch_size)
            images = np.stack(
                [
                    im[t * p : t * p + c, s * p : s * p + c]
                    for im, t, s in zip(images, top, left, strict=True)
                ]
            )
            masks = np.stack(
                [
                    m[t * p : t * p + c, s * p : s * p + c]
                    for m, t, s in zip(masks, top, left, strict=True)
                ]
            )
            low = np.stack(
                [x[t : t + cp, s : s + cp] for x, t, s in zip(low, top, left, strict=True)]
            )
        coarse = np.stack([patch_pool(m, p, "max") for m in masks])
        return {"images": images, "masks": masks, "coarse": coarse, "low": low}


__all__ = ["SegArrays", "SegBatches", "stack_arrays"]
