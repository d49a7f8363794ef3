"""Segment a folder of images with a trained segmenter; write masks and overlays.

  python -m pipelines.segment --images DIR --output DIR [--checkpoint DIR] \
      [--vit-checkpoint dino_deitsmall16_pretrain.pth] [--low-res DIR] [--threshold 0.5]

For every image (jpg/png, cropped top-left to a multiple of the patch size as in
training) it writes OUTPUT/<stem>_mask.png (0/255), OUTPUT/<stem>_prob.png (the
probability as 0-255 grey) and OUTPUT/<stem>_overlay.jpg (the mask tinted over the
image, outlined). The default checkpoint is the shipped PAC joint upsampler, which
upsamples a low-resolution map: give it `--low-res DIR` with one PNG per image (same
stem; any size: a full-size mask is pooled to the patch grid by area, anything else is
resized to it). Linear-probe and PAC checkpoints compute ViT features instead, with the
ViT their manifest names unless `--vit-checkpoint` is given.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import cv2
import numpy as np
from tqdm.auto import tqdm

from jaxmot.core.atomic import atomic_open
from jaxmot.core.images import read_grey, read_rgb
from jaxmot.seg.checkpoint import JOINT_CHECKPOINT, load_segmenter
from jaxmot.seg.data import crop_to_multiple, patch_pool
from jaxmot.seg.evaluate import predict
from jaxmot.seg.metrics import upsample_probabilities

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
OVERLAY_COLOR = np.array([255, 64, 32], np.float32)  # RGB


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
    """RGB uint8 image with the mask tinted and outlined."""
    out = image.astype(np.float32)
    out[mask] = (1 - alpha) * out[mask] + alpha * OVERLAY_COLOR
    out = out.astype(np.uint8)
    outline = mask.astype(np.uint8)
    contours, _ = cv2.findContours(outline, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (255, 255, 255), 1)
    return out


def write_image(path: pathlib.Path, rgb_or_grey: np.ndarray) -> None:
    """Encode and write atomically (a crash never leaves a truncated file)."""
    img = rgb_or_grey
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(path.suffix, img)
    if not ok:
        raise ValueError(f"{path}: cannot encode")
    with atomic_open(path, "wb") as f:
        f.write(data.tobytes())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=pathlib.Path, required=True)
    parser.add_argument("--output", type=pathlib.Path, required=True)
    parser.add_argument("--checkpoint", type=pathlib.Path, default=JOINT_CHECKPOINT)
    parser.add_argument("--vit-checkpoint", type=pathlib.Path, help="DINO .pth (linear/pac)")
    parser.add_argument("--low-res", type=pathlib.Path, help="low-resolution maps (joint)")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    if not args.images.is_dir():
        parser.error(f"--images {args.images} is not a folder")
    paths = sorted(p for p in args.images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        parser.error(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {args.images}")
    model, manifest = load_segmenter(args.checkpoint)
    kind = model.config.kind
    if kind == "joint" and args.low_res is None:
        parser.error(f"{args.checkpoint} is a joint upsampler: give --low-res DIR")
    data = manifest.get("experiment", {}).get("data", {})
    patch = model.config.patch_size if kind == "joint" else int(data.get("vit_patch", 16))
    vit = None
    if kind != "joint":
        from jaxmot.seg.vit_features import FrozenViTFeatures

        checkpoint = args.vit_checkpoint or data.get("vit_checkpoint")
        vit = FrozenViTFeatures(patch, checkpoint, seed=int(data.get("seed", 0)), batch_size=1)
        print(f"features: {vit.description}")

    args.output.mkdir(parents=True, exist_ok=True)
    for path in tqdm(paths, unit="image", disable=args.no_progress):
        image = crop_to_multiple(read_rgb(path), patch)
        h, w = image.shape[:2]
        if kind == "joint":
            matches = [p for p in args.low_res.glob(path.stem + ".*")]
            if not matches:
                raise FileNotFoundError(f"no low-resolution map for {path.name} in {args.low_res}")
            low = read_low_res(matches[0], h, w, patch)
        else:
            low = vit(image[None])[0]
        prob = predict(model, low[None], image[None], batch_size=1)[0]
        if prob.shape != (h, w):  # the linear probe predicts on the patch grid
            prob = upsample_probabilities(prob, (h, w))
        mask = prob >= args.threshold
        write_image(args.output / f"{path.stem}_mask.png", mask.astype(np.uint8) * 255)
        write_image(args.output / f"{path.stem}_prob.png", np.round(prob * 255).astype(np.uint8))
        write_image(args.output / f"{path.stem}_overlay.jpg", overlay(image, mask))
    print(f"wrote masks and overlays of {len(paths)} images to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
