"""Which ground-truth boxes of a sequence become re-identification crops, and cutting them.

Shared by the MOTChallenge and the synthetic crop sources, so both follow one rule:

1. Persons only: flag 1 and class 1 (MOT16/17 pedestrian) or class -1 (MOT15, no class).
2. Visibility >= `min_visibility`; rows without visibility (-1, MOT15) are kept.
3. The box is clipped to the image the way `jaxmot.core.extractor.crop_boxes` cuts it
   (floor/ceil to whole pixels), so training crops match the tracker's crops; the clipped
   height must be >= `min_height` px (smaller crops, upsampled, are mostly blur).
4. At most `max_per_id` rows per identity, spread evenly over its remaining rows in
   time (the rounded points of a linspace over them, first and last included).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from jaxmot.core.extractor import crop_boxes
from jaxmot.core.images import resize
from jaxmot.core.mot_io import GroundTruth

PERSON_CLASS, NO_CLASS = 1, -1


# eq=False: a generated __eq__ would compare arrays with `==`, which is ambiguous.
@dataclass(frozen=True, eq=False)
class CropPlan:
    """The crops to cut from one sequence, ordered by (id, frame).

    frames: [M] int32 1-based; ids: [M] int32 (the sequence's own gt ids);
    boxes: [M, 4] float32 xywh, whole pixels, inside the image.
    """

    frames: np.ndarray
    ids: np.ndarray
    boxes: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)


def spread_indices(n: int, k: int | None) -> np.ndarray:
    """min(n, k) sorted distinct indices into range(n), evenly spread, ends included."""
    if k is None or n <= k:
        return np.arange(n)
    if k == 1:
        return np.zeros(1, np.int64)
    # floor(x + 0.5), not np.round: round-half-even could merge two neighbours.
    return np.floor(np.linspace(0, n - 1, k) + 0.5).astype(np.int64)


def plan_crops(
    gt: GroundTruth,
    image_size: tuple[int, int],
    *,
    min_visibility: float = 0.3,
    min_height: int = 50,
    max_per_id: int | None = 20,
) -> CropPlan:
    """Apply the module's rules to a sequence's gt; image_size = (width, height) in px."""
    width, height = image_size
    if max_per_id is not None and max_per_id < 1:
        raise ValueError(f"max_per_id must be >= 1 or None, got {max_per_id}")
    b = gt.boxes.astype(np.float64)
    x0, y0 = np.maximum(np.floor(b[:, 0]), 0), np.maximum(np.floor(b[:, 1]), 0)
    x1 = np.minimum(np.ceil(b[:, 0] + b[:, 2]), width)
    y1 = np.minimum(np.ceil(b[:, 1] + b[:, 3]), height)
    keep = (gt.flags == 1) & ((gt.classes == PERSON_CLASS) | (gt.classes == NO_CLASS))
    keep &= (gt.visibility >= min_visibility) | (gt.visibility < 0)
    keep &= (y1 - y0 >= max(min_height, 1)) & (x1 > x0)
    rows = np.flatnonzero(keep)
    rows = rows[np.lexsort((gt.frames[rows], gt.ids[rows]))]

    ids = gt.ids[rows]
    starts = np.r_[0, np.flatnonzero(ids[1:] != ids[:-1]) + 1]
    stops = np.r_[starts[1:], len(rows)]
    picked = [
        rows[s + spread_indices(e - s, max_per_id)] for s, e in zip(starts, stops, strict=True)
    ]
    rows = np.concatenate(picked) if picked else np.zeros(0, np.int64)
    boxes = np.stack([x0[rows], y0[rows], x1[rows] - x0[rows], y1[rows] - y0[rows]], 1)
    return CropPlan(
        frames=gt.frames[rows].astype(np.int32),
        ids=gt.ids[rows].astype(np.int32),
        boxes=boxes.astype(np.float32).reshape(-1, 4),
    )


def cut_crops(
    plan: CropPlan,
    frames: Iterable[tuple[int, np.ndarray]],
    size: tuple[int, int] | None,
) -> np.ndarray | list[np.ndarray]:
    """Cut the planned crops from `frames`, (frame number, [H, W, 3] uint8 RGB) pairs.

    Frames the plan does not use are skipped, so a renderer's full frame stream can be
    passed as is. Returns [M, h, w, 3] uint8 resized to size = (h, w), or with size None
    a list of M crops at their own size, in plan order.
    """
    needed = set(plan.frames.tolist())
    by_frame = {int(f): np.flatnonzero(plan.frames == f) for f in needed}
    crops: list[np.ndarray | None] = [None] * len(plan)
    for number, image in frames:
        rows = by_frame.get(int(number))
        if rows is None:
            continue
        for r, crop in zip(rows, crop_boxes(image, plan.boxes[rows]), strict=True):
            # .copy() of native crops: a view would keep the whole frame alive.
            crops[r] = crop.copy() if size is None else resize(crop, size)
        needed.discard(int(number))
    if needed:
        raise ValueError(f"cut_crops: no image for planned frame(s) {sorted(needed)[:5]}")
    if size is None:
        return crops
    return np.stack(crops) if crops else np.zeros((0, *size, 3), np.uint8)


__all__ = ["CropPlan", "cut_crops", "plan_crops", "spread_indices"]
