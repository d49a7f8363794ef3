"""The DAVIS folder layout (Pont-Tuset et al. 2017), read by the segmentation and the
single-object-tracking data loaders:

    root/JPEGImages/<resolution>/<sequence>/<frame>.jpg
    root/Annotations/<resolution>/<sequence>/<frame>.png    (same stem as the image)

This module only pairs the files; decoding is `jaxmot.core.images`.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence


def subdirs(path: pathlib.Path) -> list[str]:
    """Sorted names of the folders inside `path` (FileNotFoundError if it is not one)."""
    if not path.is_dir():
        raise FileNotFoundError(f"folder not found: {path}")
    return sorted(p.name for p in path.iterdir() if p.is_dir())


def davis_frames(
    root: str | os.PathLike,
    sequences: Sequence[str] | None = None,
    resolution: str = "480p",
    every: int = 1,
) -> list[tuple[str, list[tuple[pathlib.Path, pathlib.Path]]]]:
    """[(sequence, [(image path, mask path), ...])] with frames in name order.

    sequences=None takes every sequence folder (sorted); every=n keeps frames 0, n, 2n,
    ... of each. Raises FileNotFoundError for a sequence without frames (*.jpg) and
    ValueError for a kept frame without its annotation.
    """
    root = pathlib.Path(root)
    image_root = root / "JPEGImages" / resolution
    mask_root = root / "Annotations" / resolution
    names = list(sequences) if sequences is not None else subdirs(image_root)
    out = []
    for seq in names:
        images = sorted((image_root / seq).glob("*.jpg"))
        if not images:
            raise FileNotFoundError(f"no frames (*.jpg) in {image_root / seq}")
        pairs = []
        for image_path in images[::every]:
            mask_path = mask_root / seq / f"{image_path.stem}.png"
            if not mask_path.is_file():
                raise ValueError(f"{image_path}: no annotation; expected {mask_path}")
            pairs.append((image_path, mask_path))
        out.append((seq, pairs))
    return out


__all__ = ["davis_frames", "subdirs"]
