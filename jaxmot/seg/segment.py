"""Segment image files with an exported segmenter; write masks, probabilities, overlays.

    model, manifest = load_segmenter(checkpoint)
    segment_images(model, manifest, paths, "out/", low_res="lowres/")

For every image (cropped top-left to a multiple of the patch size, as in training) it
writes OUT/<stem>_mask.png (0/255), OUT/<stem>_prob.png (the probability as 0-255 grey)
and OUT/<stem>_overlay.jpg (the mask tinted over the image, outlined), each atomically.
A joint upsampler (`kind` "joint" or "pacnet") upsamples a low-resolution map: one image
per input with the same stem in `low_res` (any size: a full-size mask is pooled to the
patch grid by area, anything else is resized to it). Linear-probe and PAC models compute frozen
ViT features instead, with the ViT their manifest names unless `vit_checkpoint` is given.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

import cv2
import numpy as np
from tqdm.auto import tqdm

from jaxmot.core.atomic import atomic_open
from jaxmot.core.images import read_grey, read_rgb, write_rgb
from jaxmot.seg.data import crop_to_multiple, patch_pool
from jaxmot.seg.evaluate import predict
from jaxmot.seg.metrics import upsample_probabilities
from jaxmot.seg.model import JOINT_KINDS

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
OVERLAY_COLOR = np.array([255, 64, 32], np.float32)  # RGB


def image_files(folder: str | os.PathLike) -> list[pathlib.Path]:
    """The images (IMAGE_SUFFIXES) in `folder`, sorted by name."""
    folder = pathlib.Path(folder)
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_low_res(path: pathlib.Path, height: int, width: int, patch: int) -> np.ndarray:
    """A grey PNG -> [height/patch, width/patch, 1] float32 in [0, 1].

    A map at least as large as the (cropped) image is a full-resolution mask: it is
    cropped like the image and pooled to the patch grid by area. Anything smaller is
    resized to the grid (area interpolation)."""
    grey = read_grey(path)
    x = grey.astype(np.float32) / 255.0
    if x.shape[0] >= height and x.shape[1] >= width:
        return patch_pool(x[:height, :width] > 0.5, patch, "area")[..., None]
    grid = (width // patch, height // patch)
    return cv2.resize(x, grid, interpolation=cv2.INTER_AREA)[..., None]


def overlay(image: np.ndarray, mask: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """RGB uint8 image [H, W, 3] with the bool mask [H, W] tinted and outlined."""
    out = image.astype(np.float32)
    out[mask] = (1 - alpha) * out[mask] + alpha * OVERLAY_COLOR
    out = out.astype(np.uint8)
    outline = mask.astype(np.uint8)
    contours, _ = cv2.findContours(outline, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (255, 255, 255), 1)
    return out


def write_grey(path: pathlib.Path, grey: np.ndarray) -> None:
    """[H, W] uint8 -> an image file (format from the suffix), atomically."""
    ok, data = cv2.imencode(path.suffix, grey)
    if not ok:
        raise ValueError(f"{path}: cannot encode")
    with atomic_open(path, "wb") as f:
        f.write(data.tobytes())


def patch_size(model, manifest: dict) -> int:
    """The patch grid of the model's low-resolution input."""
    if model.config.kind in JOINT_KINDS:
        return model.config.patch_size
    return int(manifest.get("experiment", {}).get("data", {}).get("vit_patch", 16))


def segment_images(
    model,
    manifest: dict,
    paths: Sequence[pathlib.Path],
    output: str | os.PathLike,
    *,
    low_res: str | os.PathLike | None = None,
    vit_checkpoint: str | os.PathLike | None = None,
    threshold: float = 0.5,
    progress: bool = True,
) -> None:
    """Segment `paths` into `output` (module docstring). `low_res`: the folder of
    low-resolution maps a joint upsampler needs (ValueError without it)."""
    kind = model.config.kind
    if kind in JOINT_KINDS and low_res is None:
        raise ValueError("a joint upsampler needs the folder of low-resolution maps")
    patch = patch_size(model, manifest)
    vit = None
    if kind not in JOINT_KINDS:
        from jaxmot.seg.vit_features import FrozenViTFeatures

        data = manifest.get("experiment", {}).get("data", {})
        checkpoint = vit_checkpoint or data.get("vit_checkpoint")
        vit = FrozenViTFeatures(patch, checkpoint, seed=int(data.get("seed", 0)), batch_size=1)
        print(f"features: {vit.description}")
    output = pathlib.Path(output)
    output.mkdir(parents=True, exist_ok=True)
    for path in tqdm(paths, unit="image", disable=not progress):
        image = crop_to_multiple(read_rgb(path), patch)
        h, w = image.shape[:2]
        if kind in JOINT_KINDS:
            matches = list(pathlib.Path(low_res).glob(path.stem + ".*"))
            if not matches:
                raise FileNotFoundError(f"no low-resolution map for {path.name} in {low_res}")
            low = read_low_res(matches[0], h, w, patch)
        else:
            low = vit(image[None])[0]
        prob = predict(model, low[None], image[None], batch_size=1)[0]
        if prob.shape != (h, w):  # the linear probe predicts on the patch grid
            prob = upsample_probabilities(prob, (h, w))
        mask = prob >= threshold
        write_grey(output / f"{path.stem}_mask.png", mask.astype(np.uint8) * 255)
        write_grey(output / f"{path.stem}_prob.png", np.round(prob * 255).astype(np.uint8))
        write_rgb(output / f"{path.stem}_overlay.jpg", overlay(image, mask))


__all__ = ["IMAGE_SUFFIXES", "image_files", "overlay", "read_low_res", "segment_images"]
