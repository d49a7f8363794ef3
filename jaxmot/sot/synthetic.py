"""Synthetic single-object tracking videos (numpy + cv2; about 1 ms a frame at 240x320).

The embedded default training data for E.T.Track and the demo's data: no download, and
the same seed gives the same pixels everywhere.

    frames, boxes = synthetic_sot_video(seed=0, num_frames=60, size=(240, 320))
    video = make_synthetic_video(seed, num_frames, size)   # the plan only: cheap
    frame = video.render(t)                                # any frame, in any order

A video, back to front:

  1. a textured background larger than the frame (low-saturation colour field, faint
     stripes/checks/noise, static clutter blobs), seen through a slowly panning camera;
  2. distractors behind the target: objects that look like it (same family of shape,
     the target's palette shifted in hue or re-arranged in another pattern), each on
     its own trajectory;
  3. the target: a superellipse (diamond, ellipse, squircle or rounded rectangle) filled
     with a distinctive pattern (stripes, rings or checks) of 2-3 saturated colours,
     shading and a fine texture; it moves smoothly (heading and speed drift as sums of
     slow sinusoids, reflected at the borders) while its scale and aspect change smoothly;
  4. distractors in front of the target (they can occlude it);
  5. optionally a textured bar (the occluder) that sweeps across the target's path;
  6. a global illumination change (a per-frame gain, smooth in time).

Geometry: continuous pixel coordinates, as `jaxmot.sot.geometry` and `sot_pairs`:
pixel (i, j) covers [j, j + 1) x [i, i + 1), its centre is (j + 0.5, i + 0.5). A box
(x, y, w, h) means the object fills the rectangle [x, x + w] x [y, y + h]; the painted
pixels are those whose centres fall inside the shape, so the box is tight to within
about a pixel. The box is the whole object even
where it is occluded (as GOT-10k and LaSOT annotate); `visible` [T] is the visible
fraction of the target's area (front distractors and the occluder removed), measured on
a grid of points inside the shape, and `valid` is visible >= config.min_visible.
"""

from __future__ import annotations

import colorsys
import dataclasses
from collections.abc import Sequence

import cv2
import numpy as np

__all__ = [
    "SyntheticSOTConfig",
    "SyntheticSOTVideo",
    "make_synthetic_video",
    "synthetic_sot_video",
]

SHAPE_EXPONENTS = (1.0, 2.0, 4.0, 12.0)  # diamond, ellipse, squircle, rounded rectangle
PATTERNS = ("stripes", "rings", "checks")


@dataclasses.dataclass(frozen=True)
class SyntheticSOTConfig:
    """How synthetic videos look and move (fractions refer to min(H, W) unless noted)."""

    target_size: tuple[float, float] = (0.12, 0.32)  # sqrt(w h) at the start
    size_change: float = 0.35  # largest |log scale| excursion over a video
    aspect_range: tuple[float, float] = (0.5, 2.0)  # w / h at the start
    aspect_change: float = 0.25  # largest |log aspect| excursion
    speed: tuple[float, float] = (0.004, 0.025)  # centre speed per frame
    num_distractors: tuple[int, int] = (1, 3)  # inclusive range
    front_distractor_prob: float = 0.3  # a distractor passes in front of the target
    occlusion_prob: float = 0.5  # a video has a sweeping occluder
    pan: float = 0.06  # camera pan amplitude (background only)
    illumination: float = 0.08  # largest relative change of the global gain
    min_visible: float = 0.3  # frames with less of the target visible are invalid

    def __post_init__(self):
        lo, hi = self.target_size
        if not 0 < lo <= hi < 0.8:
            raise ValueError(f"target_size must satisfy 0 < low <= high < 0.8, got {lo, hi}")
        if not 0 < self.aspect_range[0] <= self.aspect_range[1]:
            raise ValueError(f"aspect_range must be 0 < low <= high, got {self.aspect_range}")
        if not 0 <= self.num_distractors[0] <= self.num_distractors[1]:
            raise ValueError(f"num_distractors must be 0 <= low <= high: {self.num_distractors}")
        for name in ("front_distractor_prob", "occlusion_prob", "min_visible"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


# --------------------------------------------------------------------------- motion


def _smooth(rng: np.random.Generator, t: np.ndarray, periods=(25.0, 160.0), terms=3):
    """A smooth random signal in [-1, 1] over frames t: a normalised sum of sinusoids."""
    period = rng.uniform(*periods, terms)
    amp = rng.uniform(0.3, 1.0, terms)
    phase = rng.uniform(0, 2 * np.pi, terms)
    s = (amp[:, None] * np.sin(2 * np.pi * t[None] / period[:, None] + phase[:, None])).sum(0)
    return s / amp.sum()


def _reflect(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fold a free path into [lo, hi] by mirror reflection (a bounce at the borders)."""
    span = max(hi - lo, 1e-6)
    y = np.mod(x - lo, 2 * span)
    return lo + span - np.abs(y - span)


def _trajectory(rng, num_frames, size, config: SyntheticSOTConfig, side0: float, aspect0: float):
    """[T, 4] boxes as (cx, cy, w, h), kept inside the image."""
    h_img, w_img = size
    short = min(size)
    t = np.arange(num_frames, dtype=np.float64)
    side = side0 * np.exp(config.size_change * _smooth(rng, t))
    aspect = aspect0 * np.exp(config.aspect_change * _smooth(rng, t))
    w, h = side * np.sqrt(aspect), side / np.sqrt(aspect)
    # Never larger than 80 % of the image, never smaller than 6 px.
    shrink = min(1.0, 0.8 * w_img / w.max(), 0.8 * h_img / h.max())
    w, h = np.maximum(w * shrink, 6.0), np.maximum(h * shrink, 6.0)
    speed = rng.uniform(*config.speed) * short * (1 + 0.5 * _smooth(rng, t))
    heading = rng.uniform(0, 2 * np.pi) + rng.uniform(0.5, 2.5) * _smooth(rng, t, (40.0, 200.0))
    step_x, step_y = speed * np.cos(heading), speed * np.sin(heading)
    x0 = rng.uniform(0, w_img)
    y0 = rng.uniform(0, h_img)
    free_x = x0 + np.concatenate([[0.0], np.cumsum(step_x[:-1])])
    free_y = y0 + np.concatenate([[0.0], np.cumsum(step_y[:-1])])
    # Fixed bounds from the largest size: time-varying bounds would make the fold jump.
    cx = _reflect(free_x, w.max() / 2, w_img - w.max() / 2)
    cy = _reflect(free_y, h.max() / 2, h_img - h.max() / 2)
    return np.stack([cx, cy, w, h], axis=1)


# --------------------------------------------------------------------------- looks


def _hsv_rgb(h, s, v) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), np.float32)


@dataclasses.dataclass(frozen=True, eq=False)
class _Look:
    """An object's appearance, defined on its normalised coordinates (u, v) in [-1, 1]."""

    exponent: float
    palette: np.ndarray  # [n, 3] float32 RGB in [0, 1]
    pattern: str
    angle: float
    frequency: float
    shade: np.ndarray  # [2] linear shading gradient along u, v
    texture: np.ndarray  # [16, 16] float32 fine texture, sampled nearest
    texture_amp: float

    def paint(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """u [1, Wr], v [Hr, 1] -> colours [Hr, Wr, 3] float32 in [0, 1] (unclipped)."""
        n = len(self.palette)
        if self.pattern == "stripes":
            phase = (u * np.cos(self.angle) + v * np.sin(self.angle) + 2.0) * self.frequency
            index = np.floor(phase).astype(np.int64) % n
        elif self.pattern == "rings":
            index = np.floor(np.sqrt(u * u + v * v) * self.frequency).astype(np.int64) % n
        else:  # checks
            iu = np.floor((u + 1.0) * self.frequency).astype(np.int64)
            iv = np.floor((v + 1.0) * self.frequency).astype(np.int64)
            index = (iu + iv) % n
        colour = self.palette[index]
        gain = 1.0 + self.shade[0] * u + self.shade[1] * v
        tu = np.clip(((u + 1.0) * 8.0).astype(np.int64), 0, 15)
        tv = np.clip(((v + 1.0) * 8.0).astype(np.int64), 0, 15)
        detail = self.texture_amp * self.texture[tv, tu]
        return colour * gain[..., None] + detail[..., None]


def _target_look(rng: np.random.Generator) -> _Look:
    n = int(rng.integers(2, 4))
    hue0 = rng.uniform()
    hues = hue0 + np.sort(rng.uniform(0.15, 0.85, n - 1))
    palette = [_hsv_rgb(hue0, rng.uniform(0.7, 1.0), rng.uniform(0.75, 1.0))]
    for h in hues:
        if rng.uniform() < 0.3:  # a dark or light band makes the pattern stand out
            palette.append(_hsv_rgb(h, rng.uniform(0.0, 0.3), rng.choice([0.15, 0.95])))
        else:
            palette.append(_hsv_rgb(h, rng.uniform(0.6, 1.0), rng.uniform(0.5, 1.0)))
    return _Look(
        exponent=float(rng.choice(SHAPE_EXPONENTS)),
        palette=np.stack(palette),
        pattern=str(rng.choice(PATTERNS)),
        angle=float(rng.uniform(0, np.pi)),
        frequency=float(rng.uniform(1.0, 2.5)),
        shade=rng.uniform(-0.2, 0.2, 2).astype(np.float32),
        texture=rng.uniform(-1, 1, (16, 16)).astype(np.float32),
        texture_amp=float(rng.uniform(0.03, 0.08)),
    )


def _shift_hue(rgb: np.ndarray, shift: float) -> np.ndarray:
    out = []
    for r, g, b in rgb:
        h, s, v = colorsys.rgb_to_hsv(float(r), float(g), float(b))
        out.append(_hsv_rgb(h + shift, s, v))
    return np.stack(out)


def _distractor_look(rng: np.random.Generator, target: _Look) -> _Look:
    """Similar to the target: its palette shifted in hue, or re-arranged."""
    if rng.uniform() < 0.5:
        shift = rng.choice([-1, 1]) * rng.uniform(0.05, 0.18)
        palette = _shift_hue(target.palette, shift)
        pattern = target.pattern
    else:
        palette = target.palette[rng.permutation(len(target.palette))]
        pattern = str(rng.choice(PATTERNS))
    exponent = target.exponent if rng.uniform() < 0.5 else float(rng.choice(SHAPE_EXPONENTS))
    return _Look(
        exponent=exponent,
        palette=palette,
        pattern=pattern,
        angle=float(rng.uniform(0, np.pi)),
        frequency=float(target.frequency * rng.uniform(0.7, 1.4)),
        shade=rng.uniform(-0.2, 0.2, 2).astype(np.float32),
        texture=rng.uniform(-1, 1, (16, 16)).astype(np.float32),
        texture_amp=target.texture_amp,
    )


def _background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """uint8 [H, W, 3]: colour field + faint texture + static clutter blobs."""
    h, w = size
    grid = int(rng.integers(2, 6))
    hsv = np.stack(
        [
            rng.uniform(0, 360, (grid, grid)),
            rng.uniform(0.0, 0.35, (grid, grid)),
            rng.uniform(0.25, 0.85, (grid, grid)),
        ],
        axis=-1,
    ).astype(np.float32)
    field = cv2.cvtColor(cv2.resize(hsv, (w, h), interpolation=cv2.INTER_CUBIC), cv2.COLOR_HSV2RGB)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    kind = rng.integers(3)
    if kind == 0:
        theta = rng.uniform(0, np.pi)
        texture = np.sin(2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta)) / rng.uniform(4, 14))
    elif kind == 1:
        period = rng.uniform(4, 12)
        texture = 2.0 * ((np.floor(xx / period) + np.floor(yy / period)) % 2) - 1.0
    else:
        texture = cv2.GaussianBlur(rng.standard_normal((h, w), dtype=np.float32), (0, 0), 1.0)
    image = field + rng.uniform(0.02, 0.07) * texture[..., None]
    image = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    short = min(h, w)
    for _ in range(int(rng.integers(4, 12))):  # clutter: soft-coloured blobs
        colour = _hsv_rgb(rng.uniform(), rng.uniform(0.1, 0.6), rng.uniform(0.2, 0.9)) * 255
        centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        axes = (int(rng.uniform(0.03, 0.15) * short) + 1, int(rng.uniform(0.03, 0.15) * short) + 1)
        cv2.ellipse(image, centre, axes, rng.uniform(0, 180), 0, 360, colour.tolist(), -1)
    return image


def _occluder_patch(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """uint8 [h, w, 3]: a bar with low-saturation stripes across its long side."""
    h, w = size
    c1 = _hsv_rgb(rng.uniform(), rng.uniform(0, 0.3), rng.uniform(0.2, 0.8))
    c2 = _hsv_rgb(rng.uniform(), rng.uniform(0, 0.3), rng.uniform(0.2, 0.8))
    along = np.arange(max(h, w), dtype=np.float32)
    stripes = (np.floor(along / rng.uniform(3, 9)) % 2)[:, None]
    line = c1 + (c2 - c1) * stripes  # [L, 3]
    patch = np.broadcast_to(line[:h, None] if h >= w else line[None, :w], (h, w, 3))
    return np.clip(patch * 255 + 0.5, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- video


SPRITE = 128  # side of the pre-rendered appearance, resampled to the object's box


@dataclasses.dataclass(frozen=True, eq=False)
class _Object:
    look: _Look
    boxes: np.ndarray  # [T, 4] (cx, cy, w, h)
    sprite: np.ndarray  # uint8 [SPRITE, SPRITE, 3]: look.paint over [-1, 1]^2


def _object(look: _Look, boxes: np.ndarray) -> _Object:
    g = ((np.arange(SPRITE, dtype=np.float32) + 0.5) / SPRITE * 2 - 1).astype(np.float32)
    sprite = np.clip(look.paint(g[None, :], g[:, None]) * 255.0 + 0.5, 0, 255)
    return _Object(look, boxes, sprite.astype(np.uint8))


def _inside(look: _Look, box: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Points (px, py) [..., P] (continuous coordinates) inside the object's shape at box
    [..., 4] (cx, cy, w, h)."""
    u = (px - box[..., 0:1]) / (box[..., 2:3] / 2)
    v = (py - box[..., 1:2]) / (box[..., 3:4] / 2)
    return np.abs(u) ** look.exponent + np.abs(v) ** look.exponent <= 1.0


@dataclasses.dataclass(frozen=True, eq=False)
class SyntheticSOTVideo:
    """A planned video: everything but the pixels, which `render(t)` paints on demand.

    boxes: [T, 4] float32 xywh of the target (see the module docstring for the pixel
    convention); visible: [T] float32 visible fraction; valid: [T] bool.
    """

    size: tuple[int, int]
    boxes: np.ndarray
    visible: np.ndarray
    valid: np.ndarray
    _background: np.ndarray
    _pan: np.ndarray  # [T, 2] int (x, y) offsets into the background
    _back: tuple[_Object, ...]
    _target: _Object
    _front: tuple[_Object, ...]
    _occluder: np.ndarray | None  # uint8 patch
    _occluder_xy: np.ndarray | None  # [T, 2] int top-left corner
    _gain: np.ndarray  # [T] float

    def __len__(self) -> int:
        return len(self.boxes)

    def render(self, t: int, with_mask: bool = False):
        """Frame t as uint8 [H, W, 3] RGB; with_mask: also the bool [H, W] mask of the
        target's visible pixels."""
        if not 0 <= t < len(self):
            raise IndexError(f"frame {t} outside 0..{len(self) - 1}")
        h, w = self.size
        ox, oy = self._pan[t]
        frame = self._background[oy : oy + h, ox : ox + w].copy()
        mask = np.zeros((h, w), bool) if with_mask else None
        for obj in self._back:
            _paint(frame, obj, t, None, False)
        _paint(frame, self._target, t, mask, True)
        for obj in self._front:
            _paint(frame, obj, t, mask, False)
        if self._occluder is not None:
            x, y = self._occluder_xy[t]
            ph, pw = self._occluder.shape[:2]
            x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + pw, w), min(y + ph, h)
            if x1 > x0 and y1 > y0:
                frame[y0:y1, x0:x1] = self._occluder[y0 - y : y1 - y, x0 - x : x1 - x]
                if mask is not None:
                    mask[y0:y1, x0:x1] = False
        gain = self._gain[t]
        lut = np.clip(np.arange(256, dtype=np.float32) * gain + 0.5, 0, 255).astype(np.uint8)
        frame = cv2.LUT(frame, lut)
        return (frame, mask) if with_mask else frame

    def frames(self) -> np.ndarray:
        """All frames, uint8 [T, H, W, 3]."""
        return np.stack([self.render(t) for t in range(len(self))])


def _paint(frame: np.ndarray, obj: _Object, t: int, mask: np.ndarray | None, is_target: bool):
    """Paint the pixels whose centres fall inside the object's shape (no anti-aliasing:
    the mask is exact); colours resample the sprite with one affine warp (bilinear)."""
    h, w = frame.shape[:2]
    cx, cy, bw, bh = (float(a) for a in obj.boxes[t])
    # Columns whose centres j + 0.5 lie in [cx - bw/2, cx + bw/2] (rows likewise).
    x0 = max(int(np.ceil(cx - bw / 2 - 0.5)), 0)
    x1 = min(int(np.floor(cx + bw / 2 - 0.5)), w - 1)
    y0 = max(int(np.ceil(cy - bh / 2 - 0.5)), 0)
    y1 = min(int(np.floor(cy + bh / 2 - 0.5)), h - 1)
    if x1 < x0 or y1 < y0:
        return
    u = ((np.arange(x0, x1 + 1, dtype=np.float32) + 0.5 - cx) / (bw / 2))[None, :]
    v = ((np.arange(y0, y1 + 1, dtype=np.float32) + 0.5 - cy) / (bh / 2))[:, None]
    p = obj.look.exponent
    inside = np.abs(u) ** p + np.abs(v) ** p <= 1.0
    # ROI pixel (c, r) has u = (x0 + c + 0.5 - cx) / (bw / 2); sprite pixel k has its
    # centre at u = (k + 0.5) / S * 2 - 1, so k = a c + b (and likewise for rows).
    ax, ay = SPRITE / bw, SPRITE / bh
    bx = ((x0 + 0.5 - cx) / (bw / 2) + 1) * SPRITE / 2 - 0.5
    by = ((y0 + 0.5 - cy) / (bh / 2) + 1) * SPRITE / 2 - 0.5
    inverse = np.array([[ax, 0.0, bx], [0.0, ay, by]])
    colour = cv2.warpAffine(
        obj.sprite,
        inverse,
        (x1 - x0 + 1, y1 - y0 + 1),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    np.copyto(frame[y0 : y1 + 1, x0 : x1 + 1], colour, where=inside[..., None])
    if mask is not None:
        mask[y0 : y1 + 1, x0 : x1 + 1][inside] = is_target


def make_synthetic_video(
    seed: int | Sequence[int],
    num_frames: int,
    size: tuple[int, int] = (240, 320),
    config: SyntheticSOTConfig | None = None,
) -> SyntheticSOTVideo:
    """Plan video `seed` (an int or a sequence of ints, e.g. (pool seed, index)):
    trajectories, looks and background; a pure function of its arguments. Rendering is
    separate (`render(t)`), so a sampler that needs two frames of a video pays for two."""
    config = config or SyntheticSOTConfig()
    h, w = int(size[0]), int(size[1])
    if min(h, w) < 32:
        raise ValueError(f"synthetic SOT videos need H, W >= 32, got {(h, w)}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    seeds = [int(k) for k in np.atleast_1d(seed)]
    if min(seeds) < 0:
        raise ValueError(f"seeds must be >= 0, got {seed}")
    rng = np.random.default_rng(np.random.SeedSequence([*seeds, 0x50754]))
    short = min(h, w)

    pad = int(np.ceil(config.pan * short))
    background = _background(rng, (h + 2 * pad, w + 2 * pad))
    t = np.arange(num_frames, dtype=np.float64)
    pan = np.stack([_smooth(rng, t, (60.0, 300.0)), _smooth(rng, t, (60.0, 300.0))], axis=1)
    pan = np.round(pad + pad * pan).astype(np.int64).clip(0, 2 * pad)

    def trajectory(scale=1.0):
        side = np.exp(rng.uniform(*np.log(config.target_size))) * short * scale
        aspect = np.exp(rng.uniform(*np.log(config.aspect_range)))
        return _trajectory(rng, num_frames, (h, w), config, side, aspect)

    look = _target_look(rng)
    target = _object(look, trajectory())
    back, front = [], []
    for _ in range(int(rng.integers(config.num_distractors[0], config.num_distractors[1] + 1))):
        obj = _object(_distractor_look(rng, look), trajectory(rng.uniform(0.7, 1.3)))
        (front if rng.uniform() < config.front_distractor_prob else back).append(obj)

    occluder = occluder_xy = None
    if rng.uniform() < config.occlusion_prob:
        t0 = int(rng.integers(num_frames))
        cx, cy, bw, bh = target.boxes[t0]
        vertical = rng.uniform() < 0.5
        thick = max(int(rng.uniform(0.4, 1.0) * (bw if vertical else bh)), 3)
        length = int(rng.uniform(0.5, 1.0) * (h if vertical else w))
        ph, pw = (length, thick) if vertical else (thick, length)
        occluder = _occluder_patch(rng, (ph, pw))
        speed = rng.uniform(0.5, 1.5) * rng.uniform(*config.speed) * short + 0.5
        direction = rng.choice([-1.0, 1.0])
        along = cy + rng.uniform(-0.3, 0.3) * ph if vertical else cx + rng.uniform(-0.3, 0.3) * pw
        moving = (cx if vertical else cy) + direction * speed * (t - t0)
        if vertical:
            xy = np.stack([moving - pw / 2, np.full_like(t, along - ph / 2)], axis=1)
        else:
            xy = np.stack([np.full_like(t, along - pw / 2), moving - ph / 2], axis=1)
        occluder_xy = np.round(xy).astype(np.int64)

    visible = _visible_fraction(target, front, occluder, occluder_xy)
    gain = 1.0 + config.illumination * _smooth(rng, t, (50.0, 250.0))
    cx, cy, bw, bh = target.boxes.T
    boxes = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], axis=1).astype(np.float32)
    return SyntheticSOTVideo(
        size=(h, w),
        boxes=boxes,
        visible=visible.astype(np.float32),
        valid=visible >= config.min_visible,
        _background=background,
        _pan=pan,
        _back=tuple(back),
        _target=target,
        _front=tuple(front),
        _occluder=occluder,
        _occluder_xy=occluder_xy,
        _gain=gain,
    )


def _visible_fraction(target: _Object, front, occluder, occluder_xy, grid: int = 16):
    """[T]: share of a grid of points inside the target's shape that nothing covers."""
    g = (np.arange(grid) + 0.5) / grid * 2 - 1
    gu, gv = (a.ravel() for a in np.meshgrid(g, g))
    keep = np.abs(gu) ** target.look.exponent + np.abs(gv) ** target.look.exponent <= 1.0
    gu, gv = gu[keep], gv[keep]
    box = target.boxes
    px = box[:, 0:1] + gu[None] * box[:, 2:3] / 2  # [T, P]
    py = box[:, 1:2] + gv[None] * box[:, 3:4] / 2
    covered = np.zeros(px.shape, bool)
    for obj in front:
        covered |= _inside(obj.look, obj.boxes, px, py)
    if occluder is not None:
        ph, pw = occluder.shape[:2]
        x, y = occluder_xy[:, 0:1], occluder_xy[:, 1:2]  # the bar covers [x, x + pw)
        covered |= (px >= x) & (px < x + pw) & (py >= y) & (py < y + ph)
    return 1.0 - covered.mean(axis=1)


def synthetic_sot_video(
    seed: int | Sequence[int],
    num_frames: int,
    size: tuple[int, int] = (240, 320),
    config: SyntheticSOTConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(frames uint8 [T, H, W, 3] RGB, boxes float32 [T, 4] xywh of the target).

    Deterministic in (seed, num_frames, size, config). See the module docstring.
    """
    video = make_synthetic_video(seed, num_frames, size, config)
    return video.frames(), video.boxes.copy()
