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

from jaxmot.seg.checkpoint import JOINT_CHECKPOINT, load_segmenter
from jaxmot.seg.model import JOINT_KINDS
from jaxmot.seg.segment import IMAGE_SUFFIXES, image_files, segment_images
from jaxmot.seg.vit_checkpoint import vit_weights


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=pathlib.Path, required=True)
    parser.add_argument("--output", type=pathlib.Path, required=True)
    parser.add_argument("--checkpoint", type=pathlib.Path, default=JOINT_CHECKPOINT)
    parser.add_argument(
        "--vit-checkpoint",
        type=pathlib.Path,
        help="DINO .pth, or its `pipelines.convert dino` export (linear/pac)",
    )
    parser.add_argument("--low-res", type=pathlib.Path, help="low-resolution maps (joint, pacnet)")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    if not args.images.is_dir():
        parser.error(f"--images {args.images} is not a folder")
    paths = image_files(args.images)
    if not paths:
        parser.error(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {args.images}")
    model, manifest = load_segmenter(args.checkpoint)
    if model.config.kind in JOINT_KINDS and args.low_res is None:
        parser.error(f"{args.checkpoint} is a joint upsampler: give --low-res DIR")
    segment_images(
        model,
        manifest,
        paths,
        args.output,
        low_res=args.low_res,
        vit_checkpoint=vit_weights(args.vit_checkpoint),
        threshold=args.threshold,
        progress=not args.no_progress,
    )
    print(f"wrote masks and overlays of {len(paths)} images to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
