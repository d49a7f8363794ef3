"""Object-segmentation samples: `obj_seg` folders, DAVIS, and synthetic images.

`obj_seg` is the data layout of an object-segmentation teaching exercise ("the exercise"
below means its reference code; see docs/seg.md): a DAVIS-2016 subset with precomputed
DINO embeddings.

    samples = load_obj_seg("data/obj_seg", "train")        # list[SegSample]
    samples = load_davis(data_path("davis2016"), every=5)  # $JAXMOT_DATA/davis2016
    sample = synthetic_segmentation(step, seed=0)           # pure function of (seed, index)

Conventions:
  * Images are RGB uint8 [H, W, 3]; masks bool [H, W] (foreground True).
  * Crop: images and masks are cut to a multiple of the ViT patch size (16) by keeping the
    top-left corner and dropping the last H % 16 rows and W % 16 columns, as the exercise's
    preprocessing does (DAVIS 854x480 -> 848x480). Features for patch (i, j) then cover
    pixels [16i, 16i + 16) x [16j, 16j + 16) of the cropped image.
  * Coarse masks are the patch max-pool: a patch is foreground if any of its pixels is.
  * Mask files: obj_seg masks must be binary PNGs (values {0, 255} or {0, 1}; anything
    else raises); foreground is > 127 for 0/255 masks and 1 for 0/1 masks. DAVIS-2016
    masks are 0/255; DAVIS-2017 masks are palette PNGs holding object indices, so for
    DAVIS any non-zero value (any non-zero colour channel) counts as foreground: all
    objects merge into one foreground, which is what single-object segmentation wants.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Sequence

import numpy as np

from jaxmot.core.davis import davis_frames, subdirs
from jaxmot.core.images import read_binary_mask, read_label_mask, read_rgb
from jaxmot.seg.synthetic import draw_synthetic

PATCH = 16
EMBED_DIM = 384  # DINO ViT-S/16


@dataclasses.dataclass(eq=False)
class SegSample:
    """One image with its masks.

    image: uint8 [H, W, 3] RGB; mask: bool [H, W]; coarse: bool [H/16, W/16] or None;
    embedding: float32 [H/16, W/16, 384] or None; name: source path or synthetic id.
    """

    image: np.ndarray
    mask: np.ndarray
    coarse: np.ndarray | None = None
    embedding: np.ndarray | None = None
    name: str = ""


def crop_to_multiple(array: np.ndarray, multiple: int = PATCH) -> np.ndarray:
    """[H, W, ...] -> [H - H % multiple, W - W % multiple, ...], keeping the top-left corner
    (the exercise's crop; see the module docstring). A view, not a copy."""
    if array.ndim < 2:
        raise ValueError(f"crop_to_multiple needs an [H, W, ...] array, got shape {array.shape}")
    h, w = array.shape[:2]
    return array[: h - h % multiple, : w - w % multiple]


def patch_pool(mask: np.ndarray, patch: int = PATCH, mode: str = "max") -> np.ndarray:
    """[H, W] mask -> [H/patch, W/patch] float32: "max" (1 where any pixel of the patch
    is foreground: the exercise's coarse masks) or "area" (the foreground fraction)."""
    h, w = mask.shape
    if h % patch or w % patch:
        raise ValueError(
            f"mask of shape {mask.shape} is not a multiple of the patch size {patch}; "
            "crop it first with crop_to_multiple"
        )
    blocks = np.asarray(mask, bool).reshape(h // patch, patch, w // patch, patch)
    if mode == "max":
        return blocks.any(axis=(1, 3)).astype(np.float32)
    if mode == "area":
        return blocks.mean(axis=(1, 3), dtype=np.float32)
    raise ValueError(f"patch_pool mode must be 'max' or 'area', got {mode!r}")


def coarse_mask(mask: np.ndarray, patch: int = PATCH) -> np.ndarray:
    """bool [H, W] -> bool [H/patch, W/patch]: the patch max-pool (any foreground pixel).
    H and W must be multiples of `patch` (crop first with `crop_to_multiple`)."""
    return patch_pool(mask, patch, "max") > 0


# ---------------------------------------------------------------------------------------
# Synthetic images (the embedded default: no download)
# ---------------------------------------------------------------------------------------


def synthetic_segmentation(
    index: int, *, seed: int = 0, size: tuple[int, int] = (128, 128)
) -> SegSample:
    """Sample `index` of the synthetic set `seed`: a pure function of (seed, index), so a
    training loop can ask for any batch(step). size = (H, W); the coarse mask is set when
    both are multiples of 16 and None otherwise; no embedding. See `seg_synthetic`."""
    if index < 0 or seed < 0:
        raise ValueError(
            f"synthetic_segmentation: index and seed must be >= 0, got {index}, {seed}"
        )
    image, mask = draw_synthetic(np.random.default_rng([seed, index]), size)
    h, w = mask.shape
    coarse = coarse_mask(mask) if h % PATCH == 0 and w % PATCH == 0 else None
    return SegSample(image, mask, coarse, None, f"synthetic/seed{seed}/{index:06d}")


def synthetic_split(n: int, seed: int = 0, size: tuple[int, int] = (128, 128)) -> list[SegSample]:
    """Samples 0..n-1 of `synthetic_segmentation` with this seed (use different seeds for
    train and validation splits)."""
    return [synthetic_segmentation(i, seed=seed, size=size) for i in range(n)]


# ---------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------


def _read_embedding(path: pathlib.Path) -> np.ndarray:
    from jaxmot.core.torch_io import torch_load

    value = torch_load(path, " (or pass embeddings=False)")
    import torch  # torch_load succeeded, so torch is there

    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{path}: expected a tensor, got {type(value).__name__}")
    return value.detach().float().numpy()  # float16 on disk


def _check_same_size(image, mask, image_path, mask_path) -> None:
    if image.shape[:2] != mask.shape[:2]:
        raise ValueError(
            f"{mask_path}: mask size {mask.shape[1]}x{mask.shape[0]} (WxH) does not match "
            f"image {image_path} of size {image.shape[1]}x{image.shape[0]}"
        )


def load_obj_seg(
    root: str | os.PathLike,
    split: str = "train",
    categories: Sequence[str] | None = None,
    embeddings: bool = True,
) -> list[SegSample]:
    """The exercise's `obj_seg` folders -> samples, sorted by category then file stem.

    Layout: root/{train,test}/<category>/{images/*.jpg, annotations/*.png,
    annotations_coarse/*.png, embeddings/*.pt}, matched by stem. categories=None reads
    every category folder. Coarse masks come from annotations_coarse when the file exists
    (at the patch grid, or at full size, then max-pooled) and are computed otherwise.
    Embeddings (float16 (H/16, W/16, 384) tensors from torch.save) are read as float32
    when `embeddings` is set; that needs torch. Images and masks are cropped to a
    multiple of 16 (module docstring). Raises ValueError naming the file for a missing
    annotation or embedding, an unreadable image, a size mismatch, a non-binary mask or
    an embedding of the wrong shape.
    """
    base = pathlib.Path(root) / split
    names = list(categories) if categories is not None else subdirs(base)
    samples = []
    for category in names:
        folder = base / category
        image_dir = folder / "images"
        if not image_dir.is_dir():
            raise FileNotFoundError(f"folder not found: {image_dir}")
        for image_path in sorted(image_dir.glob("*.jpg")):
            samples.append(_load_obj_seg_image(folder, image_path, embeddings))
    return samples


def _load_obj_seg_image(folder: pathlib.Path, image_path: pathlib.Path, embeddings: bool):
    stem = image_path.stem
    mask_path = folder / "annotations" / f"{stem}.png"
    if not mask_path.is_file():
        raise ValueError(f"{image_path}: no annotation; expected {mask_path}")
    image = read_rgb(image_path)
    mask = read_binary_mask(mask_path)
    _check_same_size(image, mask, image_path, mask_path)
    image, mask = crop_to_multiple(image), crop_to_multiple(mask)
    h, w = mask.shape[0] // PATCH, mask.shape[1] // PATCH

    coarse_path = folder / "annotations_coarse" / f"{stem}.png"
    if coarse_path.is_file():
        coarse = read_binary_mask(coarse_path)
        if coarse.shape == image.shape[:2]:
            coarse = coarse_mask(coarse)
        elif coarse.shape != (h, w):
            raise ValueError(
                f"{coarse_path}: coarse mask of shape {coarse.shape}, expected {(h, w)} "
                f"(the 16x16 patch grid of {image_path} cropped to {image.shape[:2]})"
            )
    else:
        coarse = coarse_mask(mask)

    embedding = None
    if embeddings:
        emb_path = folder / "embeddings" / f"{stem}.pt"
        if not emb_path.is_file():
            raise ValueError(
                f"{image_path}: no embedding; expected {emb_path} (or pass embeddings=False)"
            )
        embedding = _read_embedding(emb_path)
        if embedding.shape != (h, w, EMBED_DIM):
            raise ValueError(
                f"{emb_path}: embedding of shape {tuple(embedding.shape)}, expected "
                f"{(h, w, EMBED_DIM)} for {image_path} cropped to {image.shape[:2]} (H/16, W/16, "
                f"{EMBED_DIM})"
            )
    return SegSample(
        np.ascontiguousarray(image), np.ascontiguousarray(mask), coarse, embedding, str(image_path)
    )


def load_davis(
    root: str | os.PathLike,
    sequences: Sequence[str] | None = None,
    resolution: str = "480p",
    every: int = 1,
) -> list[SegSample]:
    """DAVIS frames with masks -> samples, sorted by sequence then frame.

    Layout: root/JPEGImages/<resolution>/<seq>/*.jpg with root/Annotations/<resolution>/
    <seq>/*.png (same stem). sequences=None reads every sequence; every=n keeps frames
    0, n, 2n, ... of each sequence. Any non-zero annotation is foreground (DAVIS-2017
    object indices merge; module docstring). Images are cropped to a multiple of 16
    (854x480 -> 848x480) and coarse masks computed. No embeddings.
    """
    if every < 1:
        raise ValueError(f"load_davis: every must be >= 1, got {every}")
    samples = []
    for _, frames in davis_frames(root, sequences, resolution, every):
        for image_path, mask_path in frames:
            image = read_rgb(image_path)
            mask = read_label_mask(mask_path)
            _check_same_size(image, mask, image_path, mask_path)
            image = np.ascontiguousarray(crop_to_multiple(image))
            mask = np.ascontiguousarray(crop_to_multiple(mask))
            samples.append(SegSample(image, mask, coarse_mask(mask), None, str(image_path)))
    return samples
