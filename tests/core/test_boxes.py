import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxmot.core import boxes


def _random_xywh(rng, n):
    xy = rng.uniform(0, 100, (n, 2))
    wh = rng.uniform(1, 50, (n, 2))
    return np.concatenate([xy, wh], axis=1)


def _iou_loop(a, b):
    """Plain reference: one pair at a time."""
    out = np.zeros((len(a), len(b)))
    for i, j in itertools.product(range(len(a)), range(len(b))):
        ax1, ay1, ax2, ay2 = a[i]
        bx1, by1, bx2, by2 = b[j]
        iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
        ih = max(0.0, min(ay2, by2) - max(ay1, by1))
        inter = iw * ih
        union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
        out[i, j] = inter / union if union > 0 else 0.0
    return out


@pytest.mark.parametrize(
    "forward, backward",
    [
        (boxes.xywh_to_xyxy, boxes.xyxy_to_xywh),
        (boxes.xywh_to_cxcywh, boxes.cxcywh_to_xywh),
        (boxes.xywh_to_xyah, boxes.xyah_to_xywh),
        (boxes.xyxy_to_cxcywh, boxes.cxcywh_to_xyxy),
        (boxes.xyxy_to_xyah, boxes.xyah_to_xyxy),
    ],
)
def test_conversions_round_trip_numpy_and_jax(forward, backward):
    x = _random_xywh(np.random.default_rng(0), 7)
    if forward in (boxes.xyxy_to_cxcywh, boxes.xyxy_to_xyah):
        x = boxes.xywh_to_xyxy(x)
    np.testing.assert_allclose(backward(forward(x)), x, rtol=1e-12)
    y = jax.jit(forward)(jnp.asarray(x, jnp.float32))
    assert isinstance(y, jax.Array)
    np.testing.assert_allclose(y, forward(x), rtol=1e-5)


def test_conversion_values():
    xywh = np.array([[10.0, 20.0, 30.0, 60.0]])
    np.testing.assert_allclose(boxes.xywh_to_xyxy(xywh), [[10, 20, 40, 80]])
    np.testing.assert_allclose(boxes.xywh_to_cxcywh(xywh), [[25, 50, 30, 60]])
    np.testing.assert_allclose(boxes.xywh_to_xyah(xywh), [[25, 50, 0.5, 60]])
    assert isinstance(boxes.xywh_to_xyxy(xywh), np.ndarray)


def test_iou_matches_loop_reference():
    rng = np.random.default_rng(1)
    a = boxes.xywh_to_xyxy(_random_xywh(rng, 9))
    b = boxes.xywh_to_xyxy(_random_xywh(rng, 13))
    expected = _iou_loop(a, b)
    assert expected.max() > 0.1  # the case must contain real overlaps
    np.testing.assert_allclose(boxes.iou_matrix(a, b), expected, rtol=1e-12)
    got_jit = jax.jit(boxes.iou_matrix)(jnp.asarray(a), jnp.asarray(b))
    np.testing.assert_allclose(got_jit, expected, rtol=1e-5, atol=1e-6)


def test_iou_degenerate_boxes_are_zero_not_nan():
    a = np.array([[0.0, 0, 0, 0], [5, 5, 5, 10], [0, 0, 10, 10]])
    got = boxes.iou_matrix(a, a)
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got[:2], 0)
    assert got[2, 2] == 1
    grad = jax.grad(lambda x: boxes.iou_matrix(x, x).sum())(jnp.asarray(a, jnp.float32))
    assert np.isfinite(np.asarray(grad)).all()


def test_iou_empty():
    assert boxes.iou_matrix(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)
    assert jax.jit(boxes.iou_matrix)(jnp.zeros((2, 4)), jnp.zeros((0, 4))).shape == (2, 0)


def test_buffered_boxes_grow_by_a_share_of_their_size_on_each_side():
    """C-BIoU's buffered box (x - b w, y - b h, (1 + 2b) w, (1 + 2b) h), against the
    formula written out per box; NumPy and jit; zero-size padding stays zero-size."""
    rng = np.random.default_rng(2)
    xywh = _random_xywh(rng, 7)
    for scale in (0.0, 0.3, 1.0):
        expected = np.array([[x - scale * w, y - scale * h, x + w + scale * w, y + h + scale * h]
                             for x, y, w, h in xywh])  # fmt: skip
        got = boxes.buffered_xyxy(boxes.xywh_to_xyxy(xywh), scale)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        got_jit = jax.jit(boxes.buffered_xyxy, static_argnums=1)(
            jnp.asarray(boxes.xywh_to_xyxy(xywh), jnp.float32), scale
        )
        np.testing.assert_allclose(got_jit, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(boxes.buffered_xyxy(np.zeros((2, 4)), 0.5), 0)
    # Two boxes a quarter-width apart: no overlap plainly, overlap once buffered.
    a, b = np.array([[0.0, 0, 10, 20]]), np.array([[12.5, 0, 22.5, 20]])
    assert boxes.iou_matrix(a, b)[0, 0] == 0
    grown = boxes.iou_matrix(boxes.buffered_xyxy(a, 0.3), boxes.buffered_xyxy(b, 0.3))
    # grown: x in [-3, 13] and [9.5, 25.5], y in [-6, 26] for both
    np.testing.assert_allclose(grown[0, 0], (3.5 * 32) / (2 * 16 * 32 - 3.5 * 32))
