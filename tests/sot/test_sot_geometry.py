"""E.T.Track / LightTrack SOT geometry (jaxmot.sot.geometry) against NumPy references.

The references below are written from the official formulas (pblatter/ettrack
`pytracking/tracker/et_tracker/et_tracker.py`: `grids`, `update`, `track`;
`lib/utils/utils.py`: `get_subwindow_tracking`) as plain NumPy loops.
"""

import functools

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxmot.sot.geometry import (
    crop_affine,
    crop_affine_cv2,
    crop_scale,
    decode_ltrb,
    hanning_window,
    score_grid,
    select_target,
)

S = 16
crop_jit = jax.jit(crop_affine, static_argnums=3, static_argnames=("official_rounding",))


# --- NumPy references -----------------------------------------------------------------


def grid_reference(sz, stride, instance_size):
    gx = np.zeros((sz, sz))
    gy = np.zeros((sz, sz))
    for i in range(sz):
        for j in range(sz):
            gx[i, j] = (j - sz // 2) * stride + instance_size // 2
            gy[i, j] = (i - sz // 2) * stride + instance_size // 2
    return gx, gy


def update_reference(logits, ltrb, target_sz, window, wi, k, lr, instance_size, double):
    """Official update() on [S, S] logits and [S, S, 4] l,t,r,b, plain NumPy / loops."""
    sz = logits.shape[0]
    gx, gy = grid_reference(sz, 16, instance_size)
    score = 1 / (1 + np.exp(-logits.astype(np.float64)))

    def padded(w, h):
        p = (w + h) * 0.5
        return np.sqrt((w + p) * (h + p))

    best, best_rc, penalty = -np.inf, None, np.zeros((sz, sz))
    for i in range(sz):
        for j in range(sz):
            x1, y1 = gx[i, j] - ltrb[i, j, 0], gy[i, j] - ltrb[i, j, 1]
            x2, y2 = gx[i, j] + ltrb[i, j, 2], gy[i, j] + ltrb[i, j, 3]
            w, h = x2 - x1, y2 - y1
            r = padded(w, h) / padded(*target_sz)
            s_c = max(r, 1 / r)
            r = (target_sz[0] / target_sz[1]) / (w / h)
            r_c = max(r, 1 / r)
            penalty[i, j] = np.exp(-(r_c * s_c - 1) * k)
            p = penalty[i, j] * score[i, j] * (1 - wi) + window[i, j] * wi
            if p > best:  # strict: the first maximum wins, as np.argmax
                best, best_rc = p, (i, j, x1, y1, x2, y2)
    i, j, x1, y1, x2, y2 = best_rc
    diff = np.array([(x1 + x2) / 2, (y1 + y2) / 2]) - instance_size // 2
    pred = np.array([x2 - x1, y2 - y1])
    rate = penalty[i, j] * score[i, j] * lr
    res = pred * rate + (1 - rate) * np.asarray(target_sz)
    new = np.asarray(target_sz) * (1 - rate) + rate * res if double else res
    return diff, new, score[i, j]


def subwindow_reference(im, pos, model_sz, original_sz, avg_chans):
    """Official get_subwindow_tracking: integer window, mean-colour pad, cv2.resize."""
    sz = original_sz
    c = (original_sz + 1) / 2
    xmin = round(float(pos[0] - c))
    ymin = round(float(pos[1] - c))
    xmax, ymax = xmin + sz - 1, ymin + sz - 1
    left, top = max(0, -xmin), max(0, -ymin)
    right = max(0, xmax - im.shape[1] + 1)
    bottom = max(0, ymax - im.shape[0] + 1)
    padded = np.empty((im.shape[0] + top + bottom, im.shape[1] + left + right, 3), im.dtype)
    padded[:] = avg_chans
    padded[top : top + im.shape[0], left : left + im.shape[1]] = im
    patch = padded[ymin + top : ymax + top + 1, xmin + left : xmax + left + 1]
    return cv2.resize(patch, (model_sz, model_sz)).astype(np.float32)


def smooth_image(h=180, w=240, dtype=np.uint8):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack(
        [
            120 + 80 * np.sin(x / 23.0) * np.cos(y / 31.0),
            100 + 60 * np.cos(x / 17.0 + y / 29.0),
            128 + 0.3 * x - 0.2 * y,
        ],
        axis=-1,
    )
    return np.clip(np.round(img), 0, 255).astype(dtype)


def random_head(rng, sz=S):
    logits = rng.normal(size=(sz, sz)).astype(np.float32) * 2
    ltrb = rng.uniform(5, 60, size=(sz, sz, 4)).astype(np.float32)
    return logits, ltrb


# --- grid, window, decode -------------------------------------------------------------


@pytest.mark.parametrize(("search", "sz"), [(256, 16), (288, 18)])
def test_score_grid_matches_official(search, sz):
    grid = np.asarray(score_grid(sz, 16, search))
    gx, gy = grid_reference(sz, 16, search)
    np.testing.assert_array_equal(grid[..., 0], gx)
    np.testing.assert_array_equal(grid[..., 1], gy)
    # The centre cell sits on the crop centre; the grid starts at 0, not centred.
    assert grid[sz // 2, sz // 2].tolist() == [search // 2, search // 2]
    assert grid[0, 0].tolist() == [0, 0]
    assert grid[-1, -1].tolist() == [search - 16, search - 16]


def test_hanning_window():
    np.testing.assert_allclose(
        hanning_window(S), np.outer(np.hanning(S), np.hanning(S)), rtol=1e-6, atol=1e-7
    )


def test_decode_ltrb_matches_loop():
    rng = np.random.default_rng(0)
    reg = rng.uniform(0, 50, size=(2, S, S, 4)).astype(np.float32)
    grid = score_grid(S)
    boxes = np.asarray(decode_ltrb(jnp.asarray(reg), grid))
    gx, gy = grid_reference(S, 16, 256)
    for b in range(2):
        for i in range(S):
            for j in range(S):
                l, t, r, bt = reg[b, i, j]
                expect = [gx[i, j] - l, gy[i, j] - t, gx[i, j] + r, gy[i, j] + bt]
                np.testing.assert_allclose(boxes[b, i, j], expect, rtol=1e-6)
    # NumPy in, NumPy out (host-side use).
    assert isinstance(decode_ltrb(reg, np.asarray(grid)), np.ndarray)


# --- select_target ---------------------------------------------------------------------


@pytest.mark.parametrize("double", [True, False])
def test_select_target_matches_official_update(double):
    rng = np.random.default_rng(1)
    grid, window = score_grid(S), hanning_window(S)
    fn = jax.jit(functools.partial(select_target, double_size_update=double))
    for _ in range(4):
        logits, ltrb = random_head(rng)
        target = rng.uniform(20, 90, size=2).astype(np.float32)
        boxes = decode_ltrb(jnp.asarray(ltrb), grid)
        off, size, score = fn(jnp.asarray(logits), boxes, jnp.asarray(target), window)
        ref = update_reference(
            logits, ltrb, target, np.asarray(window), 0.225, 0.007, 0.616, 256, double
        )
        np.testing.assert_allclose(off, ref[0], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(size, ref[1], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(score, ref[2], rtol=1e-5)


def test_select_target_lightTrack_params_and_288():
    rng = np.random.default_rng(2)
    sz = 18
    grid, window = score_grid(sz, 16, 288), hanning_window(sz)
    logits, ltrb = random_head(rng, sz)
    target = np.array([15.0, 40.0], np.float32)
    kw = {"window_influence": 0.38, "penalty_k": 0.062, "lr": 0.765, "search_size": 288}
    fn = jax.jit(functools.partial(select_target, **kw))
    out = fn(logits, decode_ltrb(jnp.asarray(ltrb), grid), target, window)
    ref = update_reference(logits, ltrb, target, np.asarray(window), 0.38, 0.062, 0.765, 288, True)
    for a, b in zip(out, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


def test_select_target_jit_eager_vmap_and_degenerate():
    rng = np.random.default_rng(3)
    grid, window = score_grid(S), hanning_window(S)
    heads = [random_head(rng) for _ in range(3)]
    logits = jnp.asarray(np.stack([h[0] for h in heads]))
    boxes = decode_ltrb(jnp.asarray(np.stack([h[1] for h in heads])), grid)
    targets = jnp.asarray(rng.uniform(20, 90, size=(3, 2)).astype(np.float32))
    batched = jax.jit(jax.vmap(select_target, in_axes=(0, 0, 0, None)))(
        logits, boxes, targets, window
    )
    for b in range(3):
        eager = select_target(logits[b], boxes[b], targets[b], window)
        for x, y in zip(batched, eager, strict=True):
            np.testing.assert_allclose(x[b], y, rtol=1e-6, atol=1e-5)
    # Zero-size predictions (a ReLU head can output all zeros) never win and give no NaN.
    ltrb = np.asarray(heads[0][1]).copy()
    ltrb[3, 4] = 0.0
    ltrb[5, 6, [0, 2]] = 0.0
    logits0 = np.asarray(logits[0]).copy()
    logits0[3, 4] = logits0[5, 6] = 30.0
    out = select_target(logits0, decode_ltrb(jnp.asarray(ltrb), grid), targets[0], window)
    assert all(np.isfinite(np.asarray(x)).all() for x in out)
    assert np.all(np.asarray(out[1]) > 0)


# --- crops -----------------------------------------------------------------------------


def test_crop_scale_matches_official_track():
    w, h = 40.0, 70.0
    s_z, s_x = crop_scale(np.array([w, h]))
    wc, hc = w + 0.5 * (w + h), h + 0.5 * (w + h)
    ref_z = np.sqrt(wc * hc)
    scale_z = 127 / ref_z
    ref_x = ref_z + 2 * ((256 - 127) / 2 / scale_z)  # official track(): s_z + 2 * pad
    np.testing.assert_allclose([s_z, s_x], [ref_z, ref_x], rtol=1e-12)
    s_z_j, s_x_j = jax.jit(crop_scale)(jnp.array([[w, h]]))
    np.testing.assert_allclose([s_z_j[0], s_x_j[0]], [ref_z, ref_x], rtol=1e-6)


def test_crop_centres_a_box_at_the_expected_scale():
    img = np.full((200, 300, 3), 50, np.uint8)
    img[90:110, 140:160] = 255  # 20 x 20 square centred on (150, 100)
    crop = np.asarray(crop_jit(img, jnp.array([150.0, 100.0]), 80.0, 64, jnp.full(3, 7.0)))
    bright = crop[..., 0] > 150
    # scale 64 / 80: a 16 x 16 square centred on crop position 32.
    rows, cols = np.nonzero(bright)
    assert bright.sum() == 16 * 16
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (24, 39, 24, 39)
    np.testing.assert_allclose(crop[24:40, 24:40], 255, atol=1e-3)
    assert np.abs(crop[~bright] - 50).max() < 1e-3  # wholly inside: no pad colour
    # The cv2 version sees the same geometry.
    crop_cv = crop_affine_cv2(img, (150.0, 100.0), 80.0, 64, (7, 7, 7))
    np.testing.assert_allclose(crop_cv, crop, atol=1.0)


def test_crop_pads_outside_the_image():
    img = smooth_image()
    pad = np.array([11.0, 22.0, 33.0], np.float32)
    # Centre on the top-left corner: the top-left quarter of the crop is outside.
    crop = np.asarray(crop_jit(img, jnp.array([0.0, 0.0]), 100.0, 50, pad))
    np.testing.assert_allclose(crop[:24, :], np.broadcast_to(pad, (24, 50, 3)))
    np.testing.assert_allclose(crop[:, :24], np.broadcast_to(pad, (50, 24, 3)))
    assert np.abs(crop[26:, 26:] - pad).min() > 1  # image content there


@pytest.mark.parametrize(
    ("center", "side", "out"),
    [((120.3, 90.7), 150.4, 64), ((10.0, 170.0), 90.0, 48), ((200.5, 20.25), 37.0, 64)],
)
def test_crop_jax_and_cv2_agree(center, side, out):
    img = smooth_image()
    pad = img.reshape(-1, 3).mean(0)
    jx = np.asarray(crop_jit(img, jnp.asarray(center), side, out, jnp.asarray(pad)))
    cv = crop_affine_cv2(img, center, side, out, pad)
    assert np.abs(jx - cv).max() <= 0.75  # uint8 output rounding and pad colour
    # Float input: no output rounding; OpenCV 4's fixed-point warpAffine (interpolation
    # weights in 1/32 steps) leaves up to ~0.09 on this smooth image.
    cv_f = crop_affine_cv2(img.astype(np.float32), center, side, out, pad)
    assert np.abs(jx - cv_f).max() <= 0.1


@pytest.mark.parametrize(
    ("center", "side", "out"),
    [((120.3, 90.7), 150.4, 64), ((15.6, 160.2), 123.0, 64), ((100.0, 80.0), 41.0, 64)],
)
def test_crop_official_rounding_matches_get_subwindow_tracking(center, side, out):
    img = smooth_image()
    avg = np.round(img.reshape(-1, 3).mean(0))  # official pads a uint8 image
    ref = subwindow_reference(img, np.asarray(center), out, int(np.floor(side + 0.5)), avg)
    jx = np.asarray(crop_jit(img, jnp.asarray(center), side, out, avg, official_rounding=True))
    # cv2.resize clamps at the patch edge; differs only on the outer pixel when upscaling.
    inner = (slice(1, -1), slice(1, -1)) if side < out else (slice(None), slice(None))
    # Within cv2.resize's fixed-point rounding (without the rounding: 3.5 to 50 levels).
    assert np.abs(jx[inner] - ref[inner]).max() <= 1.0
    cv = crop_affine_cv2(img, center, side, out, avg, official_rounding=True)
    assert np.abs(cv[inner] - ref[inner]).max() <= 1.0


def test_crop_vmap_matches_per_item():
    rng = np.random.default_rng(4)
    imgs = np.stack([smooth_image(), smooth_image()[::-1]]).astype(np.uint8)
    centers = jnp.asarray(rng.uniform(0, 180, size=(2, 2)).astype(np.float32))
    sides = jnp.asarray([60.0, 130.0])
    pads = jnp.asarray(rng.uniform(0, 255, size=(2, 3)).astype(np.float32))
    batched = jax.jit(jax.vmap(crop_affine, in_axes=(0, 0, 0, None, 0)), static_argnums=3)(
        imgs, centers, sides, 32, pads
    )
    for b in range(2):
        eager = crop_affine(imgs[b], centers[b], sides[b], 32, pads[b])
        np.testing.assert_allclose(batched[b], eager, rtol=1e-6, atol=1e-3)
