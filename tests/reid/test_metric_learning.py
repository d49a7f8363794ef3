"""Metric-learning losses against plain NumPy loops (float64), jit, gradients and padding."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxmot.reid import metric_learning as ml


def _reference_distances(a, b):
    return np.array([[np.sqrt(np.sum((x - y) ** 2)) for y in b] for x in a])


def _reference_triplet(features, labels, margin):
    """Hermans et al. 2017, one anchor at a time."""
    losses = []
    for i in range(len(features)):
        d = [np.sqrt(np.sum((features[i] - f) ** 2)) for f in features]
        pos = [d[j] for j in range(len(features)) if labels[j] == labels[i] and j != i]
        neg = [d[j] for j in range(len(features)) if labels[j] != labels[i]]
        if not pos or not neg:
            continue
        gap = max(pos) - min(neg)
        losses.append(np.log1p(np.exp(gap)) if margin is None else max(0.0, margin + gap))
    return np.mean(losses) if losses else 0.0


def _reference_cross_entropy(logits, labels, epsilon):
    total = 0.0
    for row, label in zip(logits, labels, strict=True):
        log_p = row - np.log(np.sum(np.exp(row - row.max()))) - row.max()
        target = np.full(len(row), epsilon / len(row))
        target[label] += 1.0 - epsilon
        total -= np.sum(target * log_p)
    return total / len(logits)


def _batch(seed, b=12, d=8, ids=4):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, ids, b)
    features = rng.normal(size=(b, d)) + labels[:, None] * 0.3  # some identity structure
    return features.astype(np.float32), labels.astype(np.int32)


@pytest.mark.parametrize("squared", [False, True])
def test_pairwise_distances_match_loop(squared):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 7)), rng.normal(size=(3, 7))
    distances = jax.jit(ml.pairwise_distances, static_argnums=2)
    got = distances(jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32), squared)
    want = _reference_distances(a, b)
    np.testing.assert_allclose(got, want**2 if squared else want, rtol=1e-5, atol=1e-5)


def test_distance_gradient_finite_at_zero():
    a = jnp.asarray([[1.0, 2.0], [1.0, 2.0]])
    grad = jax.jit(jax.grad(lambda x: ml.pairwise_distances(x, x).sum()))(a)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, 0.0)  # identical rows: the zero subgradient


@pytest.mark.parametrize("margin", [0.3, None])
@pytest.mark.parametrize("jit", [False, True])
def test_triplet_loss_matches_loop(margin, jit):
    features, labels = _batch(1)
    loss = jax.jit(ml.batch_hard_triplet_loss) if jit else ml.batch_hard_triplet_loss
    got = loss(jnp.asarray(features), jnp.asarray(labels), margin)
    want = _reference_triplet(features.astype(np.float64), labels, margin)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert want > 0  # the batch actually exercises the loss


def test_triplet_loss_excludes_anchors_without_positive_or_negative():
    features, _ = _batch(2, b=6)
    labels = np.array([0, 0, 1, 1, 2, 3])  # ids 2 and 3 have no positive
    loss = jax.jit(ml.batch_hard_triplet_loss)
    got = loss(jnp.asarray(features), jnp.asarray(labels))
    np.testing.assert_allclose(got, _reference_triplet(features, labels, 0.3), rtol=1e-5)
    # a single identity: no negatives anywhere, the loss is 0 (not NaN)
    same = loss(jnp.asarray(features), jnp.zeros(6, jnp.int32))
    assert float(same) == 0.0


@pytest.mark.parametrize("margin", [0.3, None])
def test_triplet_loss_gradients(margin):
    features, labels = _batch(3, b=8, d=4)
    # float64: finite differences in float32 are too coarse to compare against.
    with jax.enable_x64(True):
        check_grads(
            jax.jit(lambda f: ml.batch_hard_triplet_loss(f, jnp.asarray(labels), margin)),
            (jnp.asarray(features, jnp.float64),),
            order=1,
        )


def test_padding_never_changes_triplet_loss():
    # The masking is shared by both margins; the hinge is checked here.
    margin = 0.3
    features, labels = _batch(4, b=10)
    loss_and_grad = jax.jit(jax.value_and_grad(ml.batch_hard_triplet_loss), static_argnums=2)
    want_loss, want_grad = loss_and_grad(jnp.asarray(features), jnp.asarray(labels), margin)
    # Padded rows hold garbage, even NaN and labels equal to real ones.
    pad = np.full((6, features.shape[1]), np.nan, np.float32)
    pad[:3] = 1e3
    padded = jnp.asarray(np.concatenate([features, pad]))
    padded_labels = jnp.asarray(np.concatenate([labels, labels[:6]]))
    mask = jnp.arange(16) < 10
    loss, grad = loss_and_grad(padded, padded_labels, margin, mask)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-6)
    np.testing.assert_allclose(grad[:10], want_grad, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(grad[10:], 0.0)


@pytest.mark.parametrize("epsilon", [0.0, 0.1])
def test_cross_entropy_matches_loop(epsilon):
    rng = np.random.default_rng(5)
    logits, labels = rng.normal(size=(6, 9)) * 3, rng.integers(0, 9, 6)
    got = jax.jit(ml.cross_entropy_with_label_smoothing)(
        jnp.asarray(logits, jnp.float32), jnp.asarray(labels), epsilon
    )
    np.testing.assert_allclose(got, _reference_cross_entropy(logits, labels, epsilon), rtol=1e-5)


def test_padding_never_changes_cross_entropy():
    rng = np.random.default_rng(6)
    logits, labels = rng.normal(size=(4, 5)).astype(np.float32), rng.integers(0, 5, 4)
    padded = np.concatenate([logits, np.full((2, 5), np.nan, np.float32)])
    mask = np.array([True] * 4 + [False] * 2)
    got = jax.jit(ml.cross_entropy_with_label_smoothing)(
        jnp.asarray(padded), jnp.asarray(np.r_[labels, 99, -1]), 0.1, jnp.asarray(mask)
    )
    np.testing.assert_allclose(got, _reference_cross_entropy(logits, labels, 0.1), rtol=1e-5)
