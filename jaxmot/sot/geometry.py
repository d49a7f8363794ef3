"""Single-object-tracking geometry of E.T.Track / LightTrack: crops, score grid, decoding.

Coordinates. Image and crop positions are continuous pixel coordinates: pixel (i, j)
covers [j, j + 1) x [i, i + 1), so its centre is (j + 0.5, i + 0.5) and a box
x1,y1,x2,y2 = 0,0,W,H covers the whole image. A square crop of side `crop_side` (image
px) centred on `center` is resampled to `out_size` x `out_size`; crop coordinate u maps
to image coordinate `center + (u - out_size / 2) * crop_side / out_size`, so `center`
lands on crop position out_size / 2 (128 for a 256 crop), which is where the official
tracker puts the previous target (`instance_size // 2` in `update()`).

Score map. Cell (row i, column j) of the S x S score map sits at crop position
`((j - S // 2) * stride + search_size // 2, (i - S // 2) * stride + search_size // 2)`,
the official `grids()` (pblatter/ettrack `pytracking/tracker/et_tracker/et_tracker.py`,
researchmm/LightTrack `lib/tracker/lighttrack.py`). With S = search_size / stride this
grid runs from 0 to search_size - stride (0..240 for 256 / 16 cells, 0..272 for
288 / 18 cells): cell S // 2 sits exactly at the crop centre, and the grid is not
symmetric about it (one more cell on the left/top).

Reference: the official `update()` post-processing (sigmoid, scale/ratio penalty, cosine
window, argmax, size learning rate) is `select_target`; the crop follows
`get_subwindow_tracking` (lib/utils/utils.py), see `crop_affine` for where it differs.
Everything except `crop_affine_cv2` is pure and works under jit and vmap.
"""

from __future__ import annotations

import cv2
import jax
import jax.numpy as jnp
import numpy as np

from jaxmot.core.boxes import array_namespace


def score_grid(score_size: int, stride: int = 16, search_size: int = 256) -> jax.Array:
    """Crop-pixel position of every score-map cell, as the official `grids()`.

    Args:
      score_size: S, cells per side (round(search_size / stride): 16 for 256, 18 for 288).
      stride: backbone stride in crop pixels.
      search_size: side of the search crop in pixels.

    Returns:
      [S, S, 2] float32, (x, y) of cell (row, column); x varies along columns.
    """
    offsets = (np.arange(score_size) - score_size // 2) * stride + search_size // 2
    x, y = np.meshgrid(offsets, offsets)  # 'xy' indexing: x along columns, as official
    return jnp.asarray(np.stack([x, y], axis=-1), dtype=jnp.float32)


def decode_ltrb(reg: jax.Array, grid: jax.Array) -> jax.Array:
    """Left/top/right/bottom distances -> boxes, as the official `update()`.

    Args:
      reg: [..., S, S, 4] distances (l, t, r, b) in crop pixels from each cell's position.
      grid: [S, S, 2] (x, y) cell positions from `score_grid`.

    Returns:
      [..., S, S, 4] boxes x1, y1, x2, y2 in crop pixels: x1 = gx - l, y1 = gy - t,
      x2 = gx + r, y2 = gy + b.
    """
    xp = array_namespace(reg, grid)
    return xp.concatenate([grid - reg[..., :2], grid + reg[..., 2:]], axis=-1)


def hanning_window(score_size: int) -> jax.Array:
    """[S, S] float32 cosine window, np.outer(np.hanning(S), np.hanning(S)) as official."""
    h = np.hanning(score_size)
    return jnp.asarray(np.outer(h, h), dtype=jnp.float32)


def _change(r):
    return jnp.maximum(r, 1.0 / r)


def _padded_side(w, h):
    """sqrt((w + p)(h + p)), p = (w + h) / 2: the official `sz` / `sz_wh`."""
    pad = (w + h) * 0.5
    return jnp.sqrt((w + pad) * (h + pad))


def select_target(
    cls_logits: jax.Array,
    boxes: jax.Array,
    target_size_in_crop: jax.Array,
    window: jax.Array,
    *,
    window_influence: float = 0.225,
    penalty_k: float = 0.007,
    lr: float = 0.616,
    search_size: int = 256,
    double_size_update: bool = True,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Pick the target in one score map: the official `update()` after the network.

    score = sigmoid(logit); penalty = exp(-(r_c * s_c - 1) * penalty_k) with the scale
    change s_c = change(sz(pred w, h) / sz(target w, h)), sz(w, h) = sqrt((w + p)(h + p)),
    p = (w + h) / 2, and the ratio change r_c = change((tw / th) / (pw / ph)),
    change(r) = max(r, 1 / r); pscore = penalty * score * (1 - wi) + window * wi; the
    first argmax of pscore (row-major, as np.argmax) picks the cell; its box gives the
    new centre, and the size moves towards the box size at rate
    lr_t = penalty * score * lr at that cell.

    The defaults are the shipped E.T.Track `Config` (et_tracker.py: penalty_k 0.007,
    window_influence 0.225, lr 0.616; its parameter file's `window_influence = 0` is never
    read). LightTrack's own defaults are 0.062 / 0.38 / 0.765, overridden per benchmark.

    Args:
      cls_logits: [S, S] classification logits (before the sigmoid).
      boxes: [S, S, 4] x1, y1, x2, y2 in crop pixels (`decode_ltrb`).
      target_size_in_crop: [2] (w, h) of the current target in crop pixels (its image
        size times out_size / crop_side).
      window: [S, S] `hanning_window`.
      search_size: crop side; offsets are measured from search_size // 2 as official.
      double_size_update: reproduce the official update, which blends the size twice:
        res = lr_t * pred + (1 - lr_t) * old, then new = (1 - lr_t) * old + lr_t * res,
        i.e. an effective rate of lr_t ** 2. False gives the single blend
        new = (1 - lr_t) * old + lr_t * pred the paper's description implies.

    Returns:
      center_offset_in_crop: [2] (dx, dy) of the chosen box centre from the crop centre,
        crop pixels; divide by out_size / crop_side for image pixels.
      new_size_in_crop: [2] (w, h) after the learning-rate blend, crop pixels.
      best_score: [] sigmoid score of the chosen cell (not the penalised score).

    A predicted box with zero (or negative) width or height gets penalty 0, which is what
    the official arithmetic gives (the ratio change is infinite) for zero width or
    height, without its NaN when both are zero.
    """
    score = jax.nn.sigmoid(cls_logits)
    pred_w = boxes[..., 2] - boxes[..., 0]
    pred_h = boxes[..., 3] - boxes[..., 1]
    ok = (pred_w > 0) & (pred_h > 0)
    # Inner where: keeps the divisions finite (and NaN-free) on degenerate boxes.
    safe_w = jnp.where(ok, pred_w, 1.0)
    safe_h = jnp.where(ok, pred_h, 1.0)
    tw, th = target_size_in_crop[0], target_size_in_crop[1]
    s_c = _change(_padded_side(safe_w, safe_h) / _padded_side(tw, th))
    r_c = _change((tw / th) / (safe_w / safe_h))
    penalty = jnp.where(ok, jnp.exp(-(r_c * s_c - 1.0) * penalty_k), 0.0)
    pscore = penalty * score * (1.0 - window_influence) + window * window_influence

    flat = jnp.argmax(pscore.reshape(-1))
    best_box = boxes.reshape(-1, 4)[flat]
    lr_t = penalty.reshape(-1)[flat] * score.reshape(-1)[flat] * lr

    center = (best_box[:2] + best_box[2:]) / 2
    offset = center - search_size // 2
    pred_wh = best_box[2:] - best_box[:2]
    blended = pred_wh * lr_t + (1.0 - lr_t) * target_size_in_crop
    if double_size_update:
        blended = target_size_in_crop * (1.0 - lr_t) + lr_t * blended
    return offset, blended, score.reshape(-1)[flat]


def crop_scale(box_wh, context: float = 0.5, template_size: int = 127, search_size: int = 256):
    """Sides of the template and search squares around a target (image pixels).

    s_z = sqrt((w + c(w + h)) (h + c(w + h))) with context c (official wc_z, hc_z), and
    s_x = s_z * search_size / template_size, which is the official
    s_z + 2 * ((search - template) / 2) / (template / s_z) written out. E.T.Track's
    tracker runs with `even = 0`, so template_size is 127 (not the network's 128) and
    search_size 256, or 288 for targets under 0.4 % of the image area. The official code
    rounds s_z (template) and s_x (search) to whole pixels before cropping;
    `crop_affine(..., official_rounding=True)` does that rounding.

    Args:
      box_wh: [..., 2] (w, h), NumPy or JAX.

    Returns:
      (s_z [...], s_x [...]), same array kind as box_wh.
    """
    xp = array_namespace(box_wh)
    w, h = box_wh[..., 0], box_wh[..., 1]
    pad = context * (w + h)
    s_z = xp.sqrt((w + pad) * (h + pad))
    return s_z, s_z * (search_size / template_size)


def _crop_origin(center, crop_side, official_rounding, xp):
    """(side, left/top edge x0 [2]) of the crop square in continuous image coordinates.

    Official `get_subwindow_tracking` takes an integer side (the caller's python2round:
    half away from zero, so floor(x + 0.5) for positive sides) and the pixel range
    [round(c - (side + 1) / 2), ... + side - 1]: a MATLAB-era 1-based formula that puts
    the window half a pixel up-left of `center` before rounding.
    """
    if official_rounding:
        side = xp.floor(crop_side + 0.5)
        # Python 3's round (half to even) on numpy floats, same as np/jnp.round.
        return side, xp.round(center - (side + 1) / 2)
    return crop_side, center - crop_side / 2


def crop_affine(
    image: jax.Array,
    center: jax.Array,
    crop_side: jax.Array | float,
    out_size: int,
    pad_color: jax.Array,
    *,
    official_rounding: bool = False,
) -> jax.Array:
    """Resample a square window of an image: one scale + translate warp, bilinear.

    Crop pixel (row i, column j) samples the image at continuous position
    x = x0 + (j + 0.5) * crop_side / out_size (y likewise), x0 = center_x - crop_side / 2,
    i.e. at pixel-index coordinate x - 0.5 (the cv2 / half-pixel-centre convention): the
    square of side `crop_side` centred on `center` fills the crop exactly, and a box of
    size (w, h) centred on `center` appears centred on the crop with size
    (w, h) * out_size / crop_side. Bilinear taps that fall outside the image read
    `pad_color` (the official code pads with the image's mean colour), so the image edge
    is blended with the pad colour over one pixel, as cv2.BORDER_CONSTANT does.

    Compared with the official pad-slice-`cv2.resize`, which clamps (replicates) at the
    edge of the sliced patch, the outermost half crop pixel can differ when the crop is
    upsampled (crop_side < out_size); elsewhere `official_rounding=True` reproduces its
    sampling positions (integer side, window rounded to whole pixels, half a pixel
    up-left of `center`).

    Jittable with `out_size` static; vmap over images / centres / sides for a batch.

    Args:
      image: [H, W, C] any real dtype (uint8 is fine).
      center: [2] (x, y) in continuous image pixels.
      crop_side: [] side of the square in image pixels.
      out_size: side of the output in pixels (static).
      pad_color: [C] colour of pixels outside the image.
      official_rounding: round side and window as the official code does.

    Returns:
      [out_size, out_size, C] float32.
    """
    h_img, w_img = image.shape[0], image.shape[1]
    center = jnp.asarray(center, jnp.float32)
    side, origin = _crop_origin(center, jnp.asarray(crop_side, jnp.float32), official_rounding, jnp)
    steps = (jnp.arange(out_size, dtype=jnp.float32) + 0.5) * (side / out_size) - 0.5
    xs = origin[0] + steps  # pixel-index coordinates: pixel k has its centre at k
    ys = origin[1] + steps
    pad = jnp.asarray(pad_color, jnp.float32)

    x0 = jnp.floor(xs)
    y0 = jnp.floor(ys)
    wx = xs - x0
    wy = ys - y0
    x0 = x0.astype(jnp.int32)
    y0 = y0.astype(jnp.int32)

    def tap(yi, xi):
        inside = ((yi >= 0) & (yi < h_img))[:, None] & ((xi >= 0) & (xi < w_img))[None, :]
        rows = jnp.clip(yi, 0, h_img - 1)
        cols = jnp.clip(xi, 0, w_img - 1)
        values = image[rows[:, None], cols[None, :]].astype(jnp.float32)
        return jnp.where(inside[..., None], values, pad)

    wx = wx[None, :, None]
    wy = wy[:, None, None]
    top = tap(y0, x0) * (1 - wx) + tap(y0, x0 + 1) * wx
    bottom = tap(y0 + 1, x0) * (1 - wx) + tap(y0 + 1, x0 + 1) * wx
    return top * (1 - wy) + bottom * wy


def crop_affine_cv2(
    image: np.ndarray,
    center,
    crop_side: float,
    out_size: int,
    pad_color,
    *,
    official_rounding: bool = False,
) -> np.ndarray:
    """Host (OpenCV) version of `crop_affine` with the same geometry, for data loading.

    One `cv2.warpAffine` (bilinear, BORDER_CONSTANT with `pad_color`) in the image's own
    dtype (uint8 stays uint8, which is fast), returned as float32. OpenCV quantises
    sub-pixel positions to 1/32 px and, for uint8, rounds the output and the pad colour
    to integers; on a smooth image the two versions agree to about one grey level.

    Args:
      image: [H, W, C] NumPy, C <= 4.
      center: (x, y) in continuous image pixels.
      crop_side: side of the square in image pixels.
      out_size: side of the output in pixels.
      pad_color: [C] colour of pixels outside the image.

    Returns:
      [out_size, out_size, C] float32.
    """
    center = np.asarray(center, np.float64)
    side, origin = _crop_origin(center, float(crop_side), official_rounding, np)
    scale = side / out_size
    # Inverse map, pixel-index coordinates: src = scale * dst + (x0 + scale / 2 - 0.5).
    shift = origin + 0.5 * scale - 0.5
    matrix = np.array([[scale, 0.0, shift[0]], [0.0, scale, shift[1]]], np.float64)
    crop = cv2.warpAffine(
        np.ascontiguousarray(image),
        matrix,
        (out_size, out_size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=tuple(float(c) for c in np.asarray(pad_color).reshape(-1)),
    )
    if crop.ndim == 2:  # OpenCV drops a trailing channel axis of size 1
        crop = crop[..., None]
    return crop.astype(np.float32)
