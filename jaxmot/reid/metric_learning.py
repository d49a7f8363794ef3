"""Metric-learning losses for re-ID embeddings, pure and jit/grad-able.

  pairwise_distances                   [N, D] x [M, D] -> [N, M] euclidean
  batch_hard_triplet_loss              Hermans, Beyer & Leibe 2017, "In defense of the
                                       triplet loss for person re-identification"
  cross_entropy_with_label_smoothing   Szegedy et al. 2016; the ID loss of Luo et al. 2019

Batches may be padded to a fixed size: `mask` [B] marks the real rows, and padded rows
(whatever they hold, even NaN) never change a loss or its gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

TRIPLET_MARGIN = 0.3  # Luo et al. 2019 ("Bag of tricks"), with euclidean distances
LABEL_SMOOTHING = 0.1  # Szegedy et al. 2016, also "Bag of tricks"


def _safe_sqrt(x: jax.Array) -> jax.Array:
    # d sqrt(x)/dx is infinite at 0 (e.g. a sample with itself, or duplicates); the double
    # `where` gives 0 there instead, the subgradient that leaves such pairs alone.
    positive = x > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1.0)), 0.0)


def pairwise_distances(a: jax.Array, b: jax.Array, squared: bool = False) -> jax.Array:
    """Euclidean distances between rows.

    Args:
      a: [N, D]; b: [M, D].
      squared: return squared distances.

    Returns:
      [N, M], >= 0. Computed as |a|^2 + |b|^2 - 2 a.b (no [N, M, D] intermediate), so equal
      rows come out ~1e-7 * |a|^2 rather than exactly 0 in float32; the gradient is finite
      everywhere (0 at an exact zero).
    """
    sq = (
        jnp.sum(jnp.square(a), axis=-1)[:, None]
        + jnp.sum(jnp.square(b), axis=-1)[None, :]
        - 2.0 * a @ b.T
    )
    sq = jnp.maximum(sq, 0.0)  # rounding can make it slightly negative
    return sq if squared else _safe_sqrt(sq)


def batch_hard_triplet_loss(
    features: jax.Array,
    labels: jax.Array,
    margin: float | None = TRIPLET_MARGIN,
    mask: jax.Array | None = None,
) -> jax.Array:
    """Batch-hard triplet loss: each anchor against its farthest positive and nearest negative.

    loss_a = max(0, margin + max_p d(a, p) - min_n d(a, n)), or softplus(max_p - min_n) (the
    "soft margin") when margin is None; averaged over the anchors that have at least one
    positive (same label, other row) and one negative. Euclidean distances.

    Args:
      features: [B, D] (before any BN neck).
      labels: [B] int identities.
      margin: hinge margin, or None for the soft margin.
      mask: [B] bool, True for real rows; None means all rows are real.

    Returns:
      scalar float; 0 when no anchor qualifies.
    """
    b = features.shape[0]
    valid = jnp.ones((b,), bool) if mask is None else mask.astype(bool)
    # Zeroing padded rows keeps NaN/inf in them from leaking through the matmul (in the
    # forward pass or as 0 * NaN in the backward pass).
    features = jnp.where(valid[:, None], features, 0.0)
    dist = pairwise_distances(features, features)

    pair_valid = valid[:, None] & valid[None, :]
    same = labels[:, None] == labels[None, :]
    positive = same & ~jnp.eye(b, dtype=bool) & pair_valid
    negative = ~same & pair_valid
    has_positive, has_negative = positive.any(axis=1), negative.any(axis=1)

    # Distances are >= 0, so 0 is a neutral filler for the max; the min gets +inf, replaced
    # below for anchors without negatives (they are excluded anyway).
    hardest_positive = jnp.max(jnp.where(positive, dist, 0.0), axis=1)
    hardest_negative = jnp.min(jnp.where(negative, dist, jnp.inf), axis=1)
    hardest_negative = jnp.where(has_negative, hardest_negative, 0.0)

    gap = hardest_positive - hardest_negative
    per_anchor = jax.nn.softplus(gap) if margin is None else jax.nn.relu(gap + margin)
    anchor = valid & has_positive & has_negative
    count = jnp.sum(anchor)
    return jnp.sum(jnp.where(anchor, per_anchor, 0.0)) / jnp.maximum(count, 1)


def cross_entropy_with_label_smoothing(
    logits: jax.Array,
    labels: jax.Array,
    epsilon: float = LABEL_SMOOTHING,
    mask: jax.Array | None = None,
) -> jax.Array:
    """Mean cross-entropy against smoothed targets (1 - epsilon) * one_hot + epsilon / K.

    Args:
      logits: [B, K]; labels: [B] int in [0, K); epsilon: 0 gives plain cross-entropy.
      mask: [B] bool, True for real rows; None means all rows are real.

    Returns:
      scalar float, the mean over real rows (0 when there are none).
    """
    num_classes = logits.shape[-1]
    valid = jnp.ones(labels.shape, bool) if mask is None else mask.astype(bool)
    logits = jnp.where(valid[:, None], logits, 0.0)
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    targets = (1.0 - epsilon) * jax.nn.one_hot(labels, num_classes) + epsilon / num_classes
    per_row = -jnp.sum(targets * log_probs, axis=-1)
    return jnp.sum(jnp.where(valid, per_row, 0.0)) / jnp.maximum(jnp.sum(valid), 1)
