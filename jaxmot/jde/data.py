"""JDE training batches: augmented, letterboxed images with padded boxes and ids.

    sources = [JDEListSource(root, {"mot17": "data/mot17.train", "prw": "data/prw.train"}),
               MOTSource(["MOT17/train/MOT17-02-SDP"]),
               SyntheticSource.from_seeds(range(8), SceneConfig(width=640, height=360))]
    data = JDEBatches(sources, width=576, height=320, batch_size=8, seed=0)
    batch = data.batch(step)          # a pure function of (seed, step)
    model_config = JDEConfig.small(num_ids=data.num_ids)

Sources and label files: jaxmot.jde.sources.

Batch (`JDEBatches.batch(step)`), per sample in the official order: HSV augmentation on
the original image, letterbox to width x height, random affine, horizontal flip with
probability 0.5 (augmentations only with augment=True); then boxes are clipped to the
input frame and dropped when thinner than 2 px (this also removes boxes left fully
outside):

    images float32 [B, H, W, 3] RGB in [0, 1]
    boxes  float32 [B, G, 4] cxcywh pixels of the network input (G = max_boxes; 0 padding)
    ids    int32   [B, G] identities unique over all sources, -1 unknown or padding
    valid  bool    [B, G]

Deviation: `num_ids` is the number of identities; the official `nID` is one more (its
last class never has a sample).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import warnings
from collections.abc import Sequence

import numpy as np

from jaxmot.jde.augment import augment_hsv, hflip, letterbox, random_affine
from jaxmot.jde.sources import JDESource, Sample, offset_ids

__all__ = ["JDEBatches"]

MIN_BOX_SIDE = 2.0  # px of the network input: thinner boxes are dropped from a batch

# --------------------------------------------------------------------------- batches


class JDEBatches:
    """Augmented, letterboxed, padded training batches from JDE sources (module docstring).

    `batch(step)` is a pure function of (seed, step): the sample indices (uniform over all
    samples of all sources, with replacement) and one independent random stream per
    sample come from `np.random.default_rng((seed, step))`, so a step gives the same
    arrays on any machine, in any order and after a restart. workers > 1 prepares the
    samples of a batch in threads (OpenCV releases the GIL); the arrays do not change.
    """

    def __init__(
        self,
        sources: Sequence[JDESource],
        width: int,
        height: int,
        batch_size: int,
        max_boxes: int = 100,
        augment: bool = True,
        seed: int = 0,
        workers: int = 1,
    ):
        self.sources = list(sources)
        if not self.sources:
            raise ValueError(
                "JDEBatches needs at least one source (JDEListSource, MOTSource or "
                "SyntheticSource); got none"
            )
        for s in self.sources:
            if len(s) == 0:
                raise ValueError(f"JDE source {getattr(s, 'name', s)!r} has no samples")
        for name, value in (("width", width), ("height", height), ("batch_size", batch_size),
                            ("max_boxes", max_boxes), ("workers", workers)):  # fmt: skip
            if int(value) < 1:
                raise ValueError(f"JDEBatches: {name} must be >= 1, got {value}")
        if int(seed) < 0:
            raise ValueError(f"JDEBatches: seed must be >= 0, got {seed}")
        self.width, self.height = int(width), int(height)
        self.batch_size, self.max_boxes = int(batch_size), int(max_boxes)
        self.augment, self.seed, self.workers = bool(augment), int(seed), int(workers)
        self._starts = np.cumsum([0] + [len(s) for s in self.sources])
        self._id_offsets = np.cumsum([0] + [int(s.num_ids) for s in self.sources])
        self._warned = False
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def __len__(self) -> int:
        """Samples over all sources."""
        return int(self._starts[-1])

    @property
    def num_ids(self) -> int:
        """Identities over all sources (ids in batches lie in 0..num_ids-1)."""
        return int(self._id_offsets[-1])

    def summary(self) -> list[dict]:
        """Per source: name, samples, identities and the first global id."""
        return [
            {"name": s.name, "samples": len(s), "num_ids": int(s.num_ids),
             "id_offset": int(self._id_offsets[k])}
            for k, s in enumerate(self.sources)
        ]  # fmt: skip

    def sample(self, index: int) -> Sample:
        """Sample `index` of the concatenated sources, ids made global."""
        if not 0 <= index < len(self):
            raise IndexError(f"JDEBatches: sample {index} outside 0..{len(self) - 1}")
        k = int(np.searchsorted(self._starts, index, side="right")) - 1
        s = self.sources[k].sample(int(index - self._starts[k]))
        return dataclasses.replace(s, ids=offset_ids(s.ids, int(self._id_offsets[k])))

    def prepare(
        self, sample: Sample, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One sample -> (image uint8 [H, W, 3], boxes [K, 4] float32 cxcywh px of the
        input, ids [K] int32), augmented when `self.augment` (rng is then required)."""
        if self.augment and rng is None:
            raise ValueError("JDEBatches.prepare: augment=True needs a random generator")
        image = sample.image
        boxes = np.asarray(sample.boxes, np.float64).reshape(-1, 4)
        ids = np.asarray(sample.ids, np.int32).reshape(-1)
        if self.augment:
            image = augment_hsv(image, rng)
        image, ratio, (pad_x, pad_y) = letterbox(image, self.width, self.height)
        boxes = boxes * ratio + np.array([pad_x, pad_y, pad_x, pad_y])
        if self.augment:
            image, boxes, kept = random_affine(image, boxes, rng)
            ids = ids[kept]
            if rng.uniform() > 0.5:  # official: random.random() > 0.5
                image, boxes = hflip(image, boxes)
        boxes = np.clip(boxes, 0, [self.width, self.height, self.width, self.height])
        wh = boxes[:, 2:] - boxes[:, :2]
        keep = (wh >= MIN_BOX_SIDE).all(axis=1)
        boxes, wh, ids = boxes[keep], wh[keep], ids[keep]
        cxcywh = np.concatenate([boxes[:, :2] + wh / 2, wh], axis=1).astype(np.float32)
        return image, cxcywh, ids

    def batch(self, step: int, rows: slice | None = None) -> dict[str, np.ndarray]:
        """The batch of `step` (>= 0), a pure function of (seed, step); with `rows`, only
        those rows of it (each image has its own random stream, so a host of a multi-host
        run builds its share alone)."""
        if int(step) < 0:
            raise ValueError(f"JDEBatches.batch: step must be >= 0, got {step}")
        rng = np.random.default_rng((self.seed, int(step)))
        indices = rng.integers(len(self), size=self.batch_size)
        streams = rng.spawn(self.batch_size)
        if rows is not None:
            indices, streams = indices[rows], streams[rows]
        b, g = len(indices), self.max_boxes
        out = {
            "images": np.empty((b, self.height, self.width, 3), np.float32),
            "boxes": np.zeros((b, g, 4), np.float32),
            "ids": np.full((b, g), -1, np.int32),
            "valid": np.zeros((b, g), bool),
        }

        def fill(i: int) -> None:
            image, boxes, ids = self.prepare(self.sample(int(indices[i])), streams[i])
            np.divide(image, np.float32(255), out=out["images"][i], dtype=np.float32)
            if len(boxes) > g:
                self._warn_truncated(len(boxes))
                boxes, ids = boxes[:g], ids[:g]
            k = len(boxes)
            out["boxes"][i, :k], out["ids"][i, :k], out["valid"][i, :k] = boxes, ids, True

        if self.workers > 1:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(self.workers)
            list(self._pool.map(fill, range(b)))
        else:
            for i in range(b):
                fill(i)
        return out

    def _warn_truncated(self, count: int) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"JDEBatches: a sample has {count} boxes, more than max_boxes="
                f"{self.max_boxes}; the boxes past the first {self.max_boxes} are dropped "
                "(warned once; raise max_boxes to keep them)",
                stacklevel=3,
            )
