"""Online single-object tracking with E.T.Track (Blatter et al., WACV 2023), batched.

One `SOTTracker` follows N independent targets, in one video or in N videos: each frame
every target's search region is cut from its own frame on the host (one affine warp per
crop, `jaxmot.sot.geometry.crop_affine_cv2`, mean-colour padding), and all crops of
one search size go through ONE jitted call that runs the network and the official
post-processing (`select_target`: Hanning window influence, scale/ratio penalty, size
learning rate), vmapped over targets. Targets are padded to bucket sizes (`buckets`),
so a run compiles once per (bucket, search size) pair, not per target count.

The template's features are computed once, at `init`.

Geometry (as the official tracker, pblatter/ettrack `et_tracker.py`): s_z = sqrt((w +
p)(h + p)) with p = context (w + h), rounded (Python's round) for the template crop at
init, scale_z = template_size / s_z, the search crop covers s_x = s_z * search_size /
template_size image pixels, rounded half away from zero (the official `python2round`);
targets whose area is below 0.4 % of the image at init use the 288 search crop for the
whole sequence. Crops are placed as the official `get_subwindow_tracking` places them
(`official_crop_rounding`: window corner rounded to whole pixels, half a pixel up-left of
the centre). After each frame the centre is clamped to the image and the size to
[min_size, image size]. The reported box is the official `cxy_wh_2_rect`: x, y clamped
at >= 0 with w, h unchanged (`clamp_box_origin`); the state keeps the unclamped centre.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxmot.core.jit import jit_bound, merge_flat, split_flat
from jaxmot.core.padding import bucket_size
from jaxmot.sot import geometry as geo


@dataclasses.dataclass(frozen=True)
class SOTTrackerConfig:
    """The online loop's settings; defaults from the official et_tracker (Config and
    parameters(): penalty_k 0.007, window_influence 0.225, lr 0.616, context 0.5,
    small_sz 256, big_sz 288 below 0.4 % of the image area, sizes clamped to >= 10).

    official_crop_rounding: crop windows placed and sized as `get_subwindow_tracking`
      (see `jaxmot.sot.geometry.crop_affine`), padded with the image's mean colour
      truncated to whole levels as its uint8 padding does; False centres each crop
      exactly on the target with its side rounded half to even and the unrounded mean
      colour (jaxmot's behaviour before; the crop moves by up to a pixel).
    clamp_box_origin: report x, y clamped at 0 as the official `cxy_wh_2_rect`; False
      reports center - size / 2 as it is (x, y < 0 at the left/top edge).
    """

    template_size: int = 127
    search_size: int = 256
    tiny_search_size: int = 288
    tiny_area_fraction: float = 0.004
    stride: int = 16
    context: float = 0.5
    window_influence: float = 0.225
    penalty_k: float = 0.007
    size_lr: float = 0.616
    min_size: float = 10.0
    buckets: tuple[int, ...] = (1, 8, 64, 256)
    official_crop_rounding: bool = True
    clamp_box_origin: bool = True

    def __post_init__(self):
        if not 0.0 <= self.window_influence <= 1.0:
            raise ValueError(f"window_influence must be in [0, 1], got {self.window_influence}")
        for size in (self.search_size, self.tiny_search_size):
            if size % self.stride:
                raise ValueError(f"search sizes must divide by the stride {self.stride}: {size}")


class SOTTracker:
    """Track N targets with a trained `ETTrack` model.

        tracker = SOTTracker(model)
        tracker.init([frame0] * 2, np.array([[x, y, w, h], [x2, y2, w2, h2]]))
        boxes = tracker.update([frame1] * 2)         # [2, 4] xywh

    Frames are RGB uint8 [H, W, 3]; pass the same array N times for N targets in one
    video, or one frame of each video. Boxes are x, y, w, h in image pixels.
    """

    def __init__(self, model, config: SOTTrackerConfig = SOTTrackerConfig()):
        model.eval()
        self.config = config
        # The graph and config bound once and the state passed as a flat list of arrays
        # (`jaxmot.core.jit`): hashing the graph and flattening the state on every call
        # cost 9 ms a frame. Trackers on models of one architecture share compiled code.
        structure, self._leaves = split_flat(model)
        self._embed = jit_bound(_embed, structure)
        self._step = jit_bound(_step, structure, config, static_argnames=("search_size",))
        # With several devices (GPUs, or CPU cores split by `use_cpu_devices`), a batch
        # of targets that divides evenly is sharded over them, each device searching its
        # own targets; one target (bucket 1) stays on one device.
        # The model (here) and the template features (at `init`) are copied to every
        # device once, not per frame.
        self._mesh = None
        if jax.device_count() > 1:
            self._mesh = Mesh(np.array(jax.devices()), ("targets",))
            self._replicated = NamedSharding(self._mesh, PartitionSpec())
            self._mesh_leaves = jax.device_put(self._leaves, self._replicated)
            self._sharded_step = jit_bound(_sharded_step, structure, config, self._mesh,
                                           static_argnames=("search_size",))  # fmt: skip

    # ------------------------------------------------------------------ state

    def init(self, frames: Sequence[np.ndarray], boxes: np.ndarray) -> None:
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        if len(frames) != len(boxes):
            raise ValueError(f"{len(frames)} frames for {len(boxes)} init boxes")
        bad = ~np.isfinite(boxes).all(1) | (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"init box {i} must be finite with w, h > 0, got {boxes[i].tolist()}")
        cfg = self.config
        self.center = boxes[:, :2] + boxes[:, 2:] / 2
        self.size = boxes[:, 2:].copy()
        self.image_wh = np.array([[f.shape[1], f.shape[0]] for f in frames], np.float64)
        self.pad_color = np.stack([f.reshape(-1, 3).mean(0) for f in frames])
        if cfg.official_crop_rounding:
            # The official code pads inside a uint8 image: the mean colour is truncated.
            self.pad_color = np.floor(self.pad_color)
        area = self.size.prod(1) / self.image_wh.prod(1)
        self.search_size = np.where(area < cfg.tiny_area_fraction, cfg.tiny_search_size,
                                    cfg.search_size)  # fmt: skip
        # The official init rounds s_z with Python 3's round (half to even), as np.round.
        s_z = np.round(geo.crop_scale(self.size, cfg.context)[0])
        crops = np.stack([
            geo.crop_affine_cv2(f, c, s, cfg.template_size, p,
                                official_rounding=cfg.official_crop_rounding)
            for f, c, s, p in zip(frames, self.center, s_z, self.pad_color, strict=True)
        ])  # fmt: skip
        self.template_features = self._embed_templates(crops)
        if self._mesh is not None:
            self._mesh_templates = jax.device_put(self.template_features, self._replicated)

    @property
    def boxes(self) -> np.ndarray:
        """[N, 4] current x, y, w, h; x, y >= 0 with `clamp_box_origin` (as official)."""
        corner = self.center - self.size / 2
        if self.config.clamp_box_origin:
            corner = np.maximum(corner, 0.0)
        return np.concatenate([corner, self.size], 1)

    # ------------------------------------------------------------------ tracking

    def update(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """Advance every target by one frame; returns [N, 4] xywh."""
        cfg = self.config
        if len(frames) != len(self.center):
            raise ValueError(f"{len(frames)} frames for {len(self.center)} targets")
        s_z = geo.crop_scale(self.size, cfg.context)[0]
        scale_z = cfg.template_size / s_z
        for search_size in np.unique(self.search_size):
            rows = np.flatnonzero(self.search_size == search_size)
            s_x = s_z[rows] * search_size / cfg.template_size
            # Official: python2round (half away from zero); before: half to even.
            s_x = np.floor(s_x + 0.5) if cfg.official_crop_rounding else np.round(s_x)
            crops = np.stack([
                geo.crop_affine_cv2(
                    frames[i], self.center[i], s, int(search_size), self.pad_color[i],
                    official_rounding=cfg.official_crop_rounding,
                )
                for i, s in zip(rows, s_x, strict=True)
            ])  # fmt: skip
            size_in_crop = self.size[rows] * scale_z[rows, None]
            offset, new_size = self._search(rows, crops, size_in_crop, int(search_size))
            self.center[rows] += offset / scale_z[rows, None]
            self.size[rows] = new_size / scale_z[rows, None]
        self.center = np.clip(self.center, 0.0, self.image_wh)
        self.size = np.clip(self.size, cfg.min_size, self.image_wh)
        return self.boxes

    def track_sequence(self, frames: Iterable[np.ndarray], init_box) -> np.ndarray:
        """One target through a sequence: [T, 4] xywh, row 0 the init box as given (as
        pytracking reports frame 0)."""
        frames = iter(frames)
        init_box = np.asarray(init_box, np.float64)
        self.init([next(frames)], init_box[None])
        out = [init_box]
        for frame in frames:
            out.append(self.update([frame])[0])
        return np.stack(out)

    # ------------------------------------------------------------------ device calls

    def _search(self, rows, crops, size_in_crop, search_size):
        n = len(rows)
        size = bucket_size(n, self.config.buckets)
        offset, new_size, _ = self.run(
            _pad(crops, size), _pad(size_in_crop.astype(np.float32), size, 1.0),
            _pad_index(rows, size), search_size,
        )  # fmt: skip
        # Slice on the host: a device slice per target count would compile each count.
        return np.asarray(offset, np.float64)[:n], np.asarray(new_size, np.float64)[:n]

    def run(self, crops, size_in_crop, rows, search_size: int):
        """The jitted network + post-processing on ready search crops (on the device).

        Args:
          crops: [B, S, S, 3] search crops, RGB 0..255, S = search_size.
          size_in_crop: [B, 2] current target (w, h) in crop pixels.
          rows: [B] which target's template features each crop is searched for.
          search_size: S.

        Returns:
          (offset [B, 2] from the crop centre, new size [B, 2], best score [B]), crop px.
        """
        if self._shards(len(crops)):
            return self._sharded_step(self._mesh_leaves, self._mesh_templates, rows, crops,
                                      size_in_crop, search_size=search_size)  # fmt: skip
        return self._step(self._leaves, self.template_features, rows, crops, size_in_crop,
                          search_size=search_size)  # fmt: skip

    def _shards(self, batch: int) -> bool:
        return self._mesh is not None and batch % self._mesh.size == 0

    def _embed_templates(self, crops):
        """Template features of every target, padded to the bucket ([N_bucket, h, w, C])."""
        return self._embed(self._leaves, _pad(crops, bucket_size(len(crops), self.config.buckets)))


def _pad(x: np.ndarray, size: int, fill: float = 0.0) -> np.ndarray:
    if len(x) == size:
        return x
    padding = np.full((size - len(x), *x.shape[1:]), fill, x.dtype)
    return np.concatenate([x, padding])


def _pad_index(rows: np.ndarray, size: int) -> np.ndarray:
    """Indices of `rows` padded with row 0 (padded targets reuse a real template)."""
    return np.concatenate([rows, np.zeros(size - len(rows), rows.dtype)])


def _embed(structure, leaves, crops):
    return merge_flat(structure, leaves).embed_template(crops)


def _step(structure, cfg: SOTTrackerConfig, leaves, templates, rows, crops, size_in_crop, *,
          search_size):  # fmt: skip
    """Network + post-processing for B targets (template features `templates[rows]`):
    (offset [B, 2] from the crop centre, new size [B, 2], best score [B]), all in
    search-crop pixels."""
    out = merge_flat(structure, leaves).track(templates[rows], crops)
    score_size = search_size // cfg.stride
    grid = geo.score_grid(score_size, cfg.stride, search_size)
    window = geo.hanning_window(score_size)
    boxes = geo.decode_ltrb(out["reg"], grid)
    select = functools.partial(
        geo.select_target, window=window, window_influence=cfg.window_influence,
        penalty_k=cfg.penalty_k, lr=cfg.size_lr, search_size=search_size,
    )  # fmt: skip
    return jax.vmap(select)(out["cls"][..., 0], boxes, size_in_crop)


def _sharded_step(structure, cfg, mesh, leaves, templates, rows, crops, size_in_crop, *,
                  search_size):  # fmt: skip
    """`_step` with the targets sharded over `mesh` (model and templates replicated)."""
    step = functools.partial(_step, structure, cfg, search_size=search_size)
    targets, replicated = PartitionSpec("targets"), PartitionSpec()
    return jax.shard_map(
        step, mesh=mesh, out_specs=targets,
        in_specs=(replicated, replicated, targets, targets, targets),
    )(leaves, templates, rows, crops, size_in_crop)  # fmt: skip
