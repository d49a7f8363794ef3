"""Training pairs for Siamese single-object trackers (E.T.Track, LightTrack recipe).

    sampler = PairSampler([(SyntheticSource(64), 1.0), (load_got10k(root), 1.0)],
                          PairConfig(), seed=0)
    batch = sampler.batch(step, batch_size)   # a pure function of (seed, step)

A pair, sampled as LightTrack (researchmm/LightTrack, `lib/dataset/dataset_base.py`) and
E.T.Track (Blatter et al., WACV 2023; `lib/dataset/dataset_prepped.py`) do: pick a source
by weight, a sequence uniformly, a template frame uniformly among the valid ones and a
search frame among the valid frames at most `frame_gap(kind)` frames away (0: the same
frame, for still images). Each frame is cropped around its own target box (x, y, w, h),
centre c = (x + w/2, y + h/2):

    p = context (w + h),  s_z = sqrt((w + p)(h + p))     (context 0.5)
    template: side s_z    -> 127 px       search: side s_x = s_z 256/127 -> 256 px

then jittered as the official `_augmentation`: the crop's side is multiplied by (1 + a_x,
1 + a_y) (independent x and y factors, a ~ U(-scale, scale)) and its centre moved by
(t_x, t_y) ~ U(-shift, shift) crop pixels (at the unjittered scale), so the target's
centre lands at out/2 - t / (1 + a). Then, per crop: Gaussian blur (sigma 1) with
`blur_prob`, colour jitter with `color_prob`; per pair: horizontal flip of both crops
(boxes flipped too) with `flip_prob`, grey with `gray_prob`. With `negative_prob` the
search crop comes from another sequence, cropped around that sequence's target (valid
False: the template's target is absent; off by default, as in the official sampler).

The official pipeline crops each frame once to 511 px (`crop511`) and then cuts the
127/256 crops from that; here one affine warp per crop goes straight from the frame
(same geometry, one resampling instead of two). The official clamps of the jitter to the
511 px image never bind at the default values and are not reproduced.

Coordinates (the convention of `jaxmot.sot.geometry`, the online tracker and the
loss): continuous pixel coordinates, pixel (i, j) covers [j, j + 1) x [i, i + 1) and has
its centre at (j + 0.5, i + 0.5); a dataset box (x, y, w, h) covers [x, x + w) x
[y, y + h), centre (x + w/2, y + h/2); a mask's box covers its pixels as unit squares.
A crop of side s (or sides (s_x, s_y)) centred on c maps image point x to crop point
u = (x - c) out/s + out/2: crop pixel k samples the image at c + (k + 0.5 - out/2) s/out,
so the out pixel centres tile the square evenly, one crop pixel = s/out image pixels, and
c lands on crop position out/2 (128 for 256), i.e. on the centre of pixel index
(out - 1)/2 = 127.5. This is `sot_geometry.crop_affine_cv2` (same sampling positions),
"a box centred at `center` maps to the centre of the crop at scale out_size/crop_side",
and the tracker's offsets are measured from out/2 too. (The official crop_hwc maps the
square's edges to pixel indices 0 and out - 1, scale (out - 1)/s: 0.4 % at 256, and its
box labels put a centred target at 128, as here.) Outside the image the crop is the
frame's mean colour (bilinear interpolation, constant border).

Batch: template uint8 [B, 127, 127, 3], search uint8 [B, 256, 256, 3] (RGB), box float32
[B, 4] the search frame's target as x1, y1, x2, y2 in search-crop coordinates (with no
jitter its centre is (128, 128) and its width w 256/s_x), template_box float32
[B, 4] likewise in the template crop, valid bool [B] (False for negative pairs: box is 0),
source int32 [B] (index of the source the pair came from).
"""

from __future__ import annotations

import collections
import dataclasses
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from jaxmot.sot import datasets
from jaxmot.sot.datasets import SOTSequence, SOTSource
from jaxmot.sot.geometry import crop_scale
from jaxmot.sot.sequences import read_rgb
from jaxmot.sot.synthetic import SyntheticSOTConfig, SyntheticSOTVideo, make_synthetic_video

__all__ = [
    "PairConfig",
    "PairSampler",
    "SyntheticSource",
    "box_to_crop",
    "color_jitter",
    "crop_affine",
    "crop_matrix",
    "sources_from_config",
]


@dataclasses.dataclass(frozen=True)
class PairConfig:
    """Pair geometry and augmentation. Defaults: E.T.Track's `lib/core/config.py`
    (config.ET.DATASET: SHIFT 4, SCALE 0.05 for the template, SHIFTs 64, SCALEs 0.18 for
    the search crop, COLOR 1, FLIP 0, BLUR 0, GRAY 0, ROTATION 0, MIXUP 0, CUTOUT 0; the
    colour transform is torchvision ColorJitter(0.05, 0.05, 0.05, 0.05), built in
    `dataset_prepped.py`); frame gaps from the LightTrack training recipe (100 frames for
    LaSOT and TrackingNet, 30 for GOT-10k; E.T.Track's config file ships
    GOT10K.RANGE = 100). No negative pairs in the official sampler."""

    template_size: int = 127
    search_size: int = 256
    context: float = 0.5
    gap_got10k: int = 30
    gap_lasot: int = 100
    gap_trackingnet: int = 100
    gap_davis: int = 30  # ours: DAVIS is not in the official mix
    gap_synthetic: int = 100  # ours: as the long LaSOT videos
    gap_video: int = 100  # any other video kind
    gap_image: int = 0  # still images: template and search from the same image
    template_shift: float = 4.0  # crop pixels, U(-shift, shift) in x and y
    template_scale: float = 0.05  # side x (1 + U(-scale, scale)), x and y independent
    search_shift: float = 64.0
    search_scale: float = 0.18
    color_prob: float = 1.0  # per crop
    color_strength: float = 0.05  # brightness, contrast, saturation and hue jitter
    blur_prob: float = 0.0  # per crop; Gaussian sigma 1 px
    flip_prob: float = 0.0  # per pair
    gray_prob: float = 0.0  # per pair
    negative_prob: float = 0.0

    def __post_init__(self):
        for name in ("color_prob", "blur_prob", "flip_prob", "gray_prob", "negative_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"PairConfig.{name} must be in [0, 1], got {getattr(self, name)}")
        if not (0 <= self.template_scale < 1 and 0 <= self.search_scale < 1):
            raise ValueError("PairConfig: scale jitters must be in [0, 1)")
        if min(self.template_size, self.search_size) < 8 or self.context < 0:
            raise ValueError("PairConfig: crop sizes must be >= 8 and context >= 0")

    def frame_gap(self, kind: str) -> int:
        """Largest template-search frame distance for a source kind."""
        return int(getattr(self, f"gap_{kind}", self.gap_video))

    def off(self) -> PairConfig:
        """The same geometry with every augmentation off."""
        return dataclasses.replace(
            self,
            template_shift=0.0,
            template_scale=0.0,
            search_shift=0.0,
            search_scale=0.0,
            color_prob=0.0,
            blur_prob=0.0,
            flip_prob=0.0,
            gray_prob=0.0,
            negative_prob=0.0,
        )


# --------------------------------------------------------------------------- geometry


def crop_matrix(center, side, out_size: int) -> np.ndarray:
    """[2, 3] float64 affine from image to crop coordinates, both continuous (module
    docstring): u = (x - c) out/s + out/2. side: a float or (side_x, side_y)."""
    sx, sy = np.broadcast_to(np.asarray(side, np.float64), (2,))
    ax, ay = out_size / sx, out_size / sy
    c = out_size / 2.0
    return np.array([[ax, 0.0, c - ax * center[0]], [0.0, ay, c - ay * center[1]]])


def crop_affine(image: np.ndarray, center, side, out_size: int, pad_color=None) -> np.ndarray:
    """Square crop [out, out, C] of `image` [H, W, C] (module docstring): one bilinear
    cv2.warpAffine in the image's dtype; outside the image `pad_color` (default: the
    image's mean colour)."""
    if pad_color is None:
        pad_color = cv2.mean(image)[: image.shape[2] if image.ndim == 3 else 1]
    # cv2 works in pixel-index coordinates (continuous - 0.5) on both sides.
    matrix = crop_matrix(center, side, out_size)
    matrix[0, 2] += 0.5 * matrix[0, 0] - 0.5
    matrix[1, 2] += 0.5 * matrix[1, 1] - 0.5
    border = tuple(float(v) for v in np.atleast_1d(pad_color))
    return cv2.warpAffine(
        image,
        matrix,
        (out_size, out_size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border,
    )


def box_to_crop(box_xywh, center, side, out_size: int) -> np.ndarray:
    """An image box (x, y, w, h) -> (x1, y1, x2, y2) float32 in crop coordinates."""
    m = crop_matrix(center, side, out_size)
    x, y, w, h = (float(v) for v in box_xywh)
    return np.array(
        [
            m[0, 0] * x + m[0, 2],
            m[1, 1] * y + m[1, 2],
            m[0, 0] * (x + w) + m[0, 2],
            m[1, 1] * (y + h) + m[1, 2],
        ],
        np.float32,
    )


# --------------------------------------------------------------------------- photometric


def _gray(image: np.ndarray) -> np.ndarray:
    """float [..., 3] RGB -> [..., 1] ITU-R 601 luma (what PIL and torchvision use)."""
    return (image @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]


def color_jitter(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """torchvision ColorJitter(strength x 4) on uint8 RGB: brightness, contrast and
    saturation factors ~ U(1 - s, 1 + s), hue shift ~ U(-s, s) turns, in random order."""
    x = image.astype(np.float32)
    for op in rng.permutation(4):
        if op == 3:
            hue = rng.uniform(-strength, strength)
            hsv = cv2.cvtColor(x / 255.0, cv2.COLOR_RGB2HSV)
            hsv[..., 0] = np.mod(hsv[..., 0] + 360.0 * hue, 360.0)
            x = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255.0
        else:
            f = rng.uniform(1 - strength, 1 + strength)
            if op == 0:  # brightness: blend with black
                ref = 0.0
            elif op == 1:  # contrast: blend with the mean grey level
                ref = float(_gray(x).mean())
            else:  # saturation: blend with the pixel's grey level
                ref = _gray(x)
            x = f * x + (1 - f) * ref
        x = np.clip(x, 0, 255)
    return (x + 0.5).astype(np.uint8)


# --------------------------------------------------------------------------- sources


@dataclasses.dataclass(frozen=True, eq=False)
class _RenderedFrames:
    """A planned synthetic video as a FrameProvider (frames rendered on access)."""

    video: SyntheticSOTVideo

    def __len__(self) -> int:
        return len(self.video)

    def __getitem__(self, t: int) -> np.ndarray:
        return self.video.render(int(t))


class SyntheticSource:
    """`num_videos` generated videos (`sot_synthetic`), video i = make_synthetic_video(
    (seed, i), ...). Videos are planned on first use and kept (a plan is ~0.5 MB: the
    background and the sprites); frames are rendered when read (~1.5 ms at 240x320)."""

    kind = "synthetic"

    def __init__(
        self,
        num_videos: int = 64,
        num_frames: int = 60,
        size: tuple[int, int] = (240, 320),
        seed: int = 0,
        config: SyntheticSOTConfig | None = None,
    ):
        if num_videos < 1 or num_frames < 1:
            raise ValueError(f"need num_videos, num_frames >= 1, got {num_videos}, {num_frames}")
        self.num_videos, self.num_frames = int(num_videos), int(num_frames)
        self.size, self.seed, self.config = (int(size[0]), int(size[1])), int(seed), config
        self.name = f"synthetic/seed{seed}"
        self._sequences: dict[int, SOTSequence] = {}

    def __len__(self) -> int:
        return self.num_videos

    def video(self, index: int) -> SyntheticSOTVideo:
        return self.sequence(index).frames.video  # type: ignore[union-attr]

    def sequence(self, index: int) -> SOTSequence:
        index = int(index)
        if not 0 <= index < self.num_videos:
            raise IndexError(f"video {index} outside 0..{self.num_videos - 1}")
        if index not in self._sequences:
            video = make_synthetic_video(
                (self.seed, index), self.num_frames, self.size, self.config
            )
            self._sequences[index] = SOTSequence(
                f"{self.name}/{index:04d}",
                self.kind,
                video.boxes,
                video.valid,
                _RenderedFrames(video),
            )
        return self._sequences[index]


def sources_from_config(data: Any) -> list[tuple[SOTSource, float]]:
    """(source, weight) pairs from a `jaxmot.sot.configs.SOTDataConfig` (duck-typed):
    every source whose path is set (synthetic: `synthetic_videos` > 0)."""
    out: list[tuple[SOTSource, float]] = []
    if data.synthetic_videos > 0:
        source = SyntheticSource(
            data.synthetic_videos, data.synthetic_frames, data.synthetic_size, data.seed
        )
        out.append((source, data.synthetic_weight))
    if data.got10k:
        out.append((datasets.load_got10k(data.got10k), data.got10k_weight))
    if data.lasot:
        out.append((datasets.load_lasot(data.lasot), data.lasot_weight))
    if data.trackingnet:
        out.append((datasets.load_trackingnet(data.trackingnet), data.trackingnet_weight))
    if data.davis:
        sequences = list(data.davis_sequences) or None
        out.append((datasets.load_davis_boxes(data.davis, sequences), data.davis_weight))
    if data.coco_annotations:
        if not data.coco_images:
            raise ValueError("data.coco_annotations is set but data.coco_images is not")
        out.append(
            (datasets.load_coco_images(data.coco_annotations, data.coco_images), data.coco_weight)
        )
    if data.mot_sequences:
        out.append((datasets.load_mot_images(data.mot_sequences), data.mot_weight))
    if not out:
        raise ValueError("no training source: set data.synthetic_videos > 0 or a dataset path")
    return out


# --------------------------------------------------------------------------- sampler


class _FrameCache:
    """LRU of decoded frames (RGB uint8) with their mean colours."""

    def __init__(self, capacity: int):
        self.capacity = max(int(capacity), 0)
        self._items: collections.OrderedDict[Any, tuple[np.ndarray, tuple]] = (
            collections.OrderedDict()
        )

    def get(self, key, load) -> tuple[np.ndarray, tuple]:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        image = load()
        item = (image, cv2.mean(image)[:3])
        if self.capacity:
            self._items[key] = item
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return item


class PairSampler:
    """Template/search pairs from weighted sources; `batch(step, batch_size)` is a pure
    function of (seed, step): sample b draws from `default_rng(SeedSequence([seed,
    step]).spawn(batch_size)[b])` (independent streams, one per sample), so the same step
    always gives the same batch, on any machine and after a restart; the frame cache
    and the synthetic plans never change what is drawn.

    sources: [(source, weight)], weights > 0 (normalised); cache_frames: decoded frames
    kept in an LRU (a 1920x1080 frame is 6 MB).
    """

    def __init__(
        self,
        sources: Sequence[tuple[SOTSource, float]],
        config: PairConfig | None = None,
        seed: int = 0,
        cache_frames: int = 32,
    ):
        self.config = config or PairConfig()
        self.seed = int(seed)
        pairs = [(s, float(w)) for s, w in sources if float(w) > 0]
        if not pairs:
            raise ValueError("PairSampler needs at least one source with a weight > 0")
        for s, _ in pairs:
            if len(s) == 0:
                raise ValueError(f"source {getattr(s, 'name', s)!r} ({s.kind}) has no samples")
        self.sources = [s for s, _ in pairs]
        weights = np.array([w for _, w in pairs])
        self.weights = weights / weights.sum()
        self._cache = _FrameCache(cache_frames)

    def batch(self, step: int, batch_size: int, rows: slice | None = None) -> dict[str, np.ndarray]:
        """The batch for `step` (module docstring for the fields); with `rows`, only those
        rows of it (each pair has its own random stream, so a host of a multi-host run
        builds its share alone)."""
        children = np.random.SeedSequence([self.seed, int(step)]).spawn(int(batch_size))
        if rows is not None:
            children = children[rows]
        samples = [self.sample(np.random.default_rng(c)) for c in children]
        return {k: np.stack([s[k] for s in samples]) for k in samples[0]}

    # ----------------------------------------------------------------- one pair

    def _pick(self, rng: np.random.Generator) -> tuple[int, int, SOTSequence]:
        for _ in range(100):
            src = int(rng.choice(len(self.sources), p=self.weights))
            index = int(rng.integers(len(self.sources[src])))
            seq = self.sources[src].sequence(index)
            if seq.valid.any():
                return src, index, seq
        raise ValueError("no sequence with a valid frame found in 100 draws")

    def sample(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """One pair drawn with `rng`."""
        cfg = self.config
        src, index, seq = self._pick(rng)
        frames = np.flatnonzero(seq.valid)
        t_z = int(frames[rng.integers(len(frames))])
        near = frames[np.abs(frames - t_z) <= cfg.frame_gap(seq.kind)]
        t_x = int(near[rng.integers(len(near))])
        search_src, search_index, search_seq = src, index, seq
        negative = rng.uniform() < cfg.negative_prob
        if negative:  # another sequence (when there is one): the target is absent
            for _ in range(10):
                search_src, search_index, search_seq = self._pick(rng)
                if (search_src, search_index) != (src, index):
                    break
            valid = np.flatnonzero(search_seq.valid)
            t_x = int(valid[rng.integers(len(valid))])

        z_box = seq.boxes[t_z]
        x_box = search_seq.boxes[t_x]
        s_z = float(crop_scale(z_box[2:], cfg.context)[0])
        s_x = float(crop_scale(x_box[2:], cfg.context, cfg.template_size, cfg.search_size)[1])
        z_img, z_pad = self._frame(src, index, seq, t_z)
        x_img, x_pad = self._frame(search_src, search_index, search_seq, t_x)
        template, template_box = self._crop(
            rng,
            z_img,
            z_pad,
            z_box,
            s_z,
            cfg.template_size,
            cfg.template_shift,
            cfg.template_scale,
        )
        search, box = self._crop(
            rng, x_img, x_pad, x_box, s_x, cfg.search_size, cfg.search_shift, cfg.search_scale
        )
        if rng.uniform() < cfg.flip_prob:
            template, template_box = _flip(template, template_box)
            search, box = _flip(search, box)
        if rng.uniform() < cfg.gray_prob:
            template, search = _to_gray(template), _to_gray(search)
        if negative:
            box = np.zeros(4, np.float32)
        return {
            "template": template,
            "search": search,
            "box": box,
            "template_box": template_box,
            "valid": np.bool_(not negative),
            "source": np.int32(src),
        }

    def _frame(self, src: int, index: int, seq: SOTSequence, t: int):
        item = seq.frames[t]
        if isinstance(item, (str, os.PathLike, pathlib.Path)):
            return self._cache.get(str(item), lambda: read_rgb(item))
        return self._cache.get((src, index, t), lambda: _as_rgb(item, seq.name, t))

    def _crop(self, rng, image, pad, box_xywh, side, out, shift, scale):
        x, y, w, h = (float(v) for v in box_xywh)
        scales = 1.0 + rng.uniform(-scale, scale, 2) if scale > 0 else np.ones(2)
        shifts = rng.uniform(-shift, shift, 2) if shift > 0 else np.zeros(2)
        # The shift is in crop pixels at the unjittered scale (side / out image pixels).
        center = (x + w / 2 + shifts[0] * side / out, y + h / 2 + shifts[1] * side / out)
        sides = side * scales
        crop = crop_affine(image, center, sides, out, pad)
        box = box_to_crop((x, y, w, h), center, sides, out)
        if rng.uniform() < self.config.blur_prob:
            crop = cv2.GaussianBlur(crop, (9, 9), 1.0)  # scipy's sigma 1, truncate 4
        if rng.uniform() < self.config.color_prob:
            crop = color_jitter(crop, rng, self.config.color_strength)
        return crop, box


def _as_rgb(image, name: str, t: int) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"{name} frame {t}: expected uint8 [H, W, 3], got {image.dtype} {image.shape}"
        )
    return image


def _flip(crop: np.ndarray, box: np.ndarray):
    out = crop.shape[1]  # continuous coordinates: u -> out - u
    flipped = np.array([out - box[2], box[1], out - box[0], box[3]], np.float32)
    return np.ascontiguousarray(crop[:, ::-1]), flipped


def _to_gray(crop: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
