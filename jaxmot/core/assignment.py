"""Thresholded linear assignment: on the host (SciPy) and on device (jit/vmap).

`linear_assignment` (host, NumPy in, index lists out) serves the online trackers;
`assignment_device` (padded JAX arrays in, [N] column per row out) serves evaluation
inside jitted code, e.g. matching during GNN training, batched with `vmap`.

Semantics of `lap.lapjv(cost, extend_cost=True, cost_limit=threshold)` as used by
JDE (Towards-Realtime-MOT) and ByteTrack in their `matching.linear_assignment`: leaving
a row or a column unmatched costs threshold / 2, so a pair is matched only when that
lowers the total cost, and a pair whose cost exceeds the threshold is never matched,
even where the unconstrained optimum would use it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax.assignment
from scipy.optimize import linear_sum_assignment


def linear_assignment(cost, threshold: float):
    """Minimum-cost partial matching of rows to columns.

    Args:
      cost: [N, M] pair costs (NaN and +-inf mean "never match").
      threshold: the largest cost a matched pair may have (inclusive: a pair at exactly
        the threshold gains nothing and may or may not be matched).

    Returns:
      matches: [K, 2] int64 (row, col) pairs, sorted by row;
      unmatched_rows: [N - K] int64; unmatched_cols: [M - K] int64.
    """
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f"cost must be [N, M], got shape {cost.shape}")
    n, m = cost.shape
    if n == 0 or m == 0:  # common in a tracker's later stages: skip the bookkeeping
        return np.empty((0, 2), np.int64), np.arange(n), np.arange(m)
    allowed = np.isfinite(cost) & (cost <= threshold)  # inclusive; NaN and +-inf never match
    matches = np.empty((0, 2), dtype=np.int64)
    if allowed.any():
        # With unmatched rows and columns costing threshold / 2 each, the total is a
        # constant plus the sum over matched pairs of (cost - threshold). Admissible pairs
        # gain cost - threshold <= 0 and forbidden ones 0, so the best full rectangular
        # assignment of min(cost - threshold, 0), less its forbidden pairs, is the best
        # partial matching: no (N + M)-square extended matrix needed.
        gain = np.where(allowed, cost - threshold, 0.0)
        rows, cols = linear_sum_assignment(gain)
        keep = allowed[rows, cols]
        matches = np.stack([rows[keep], cols[keep]], axis=1).astype(np.int64)
    matched_rows = np.zeros(n, bool)
    matched_cols = np.zeros(m, bool)
    matched_rows[matches[:, 0]] = True
    matched_cols[matches[:, 1]] = True
    return matches, np.flatnonzero(~matched_rows), np.flatnonzero(~matched_cols)


def assignment_device(cost, row_valid=None, col_valid=None, threshold=None) -> jax.Array:
    """Minimum-cost matching of a padded cost matrix; works under jit and vmap.

    With `threshold`, the same matching problem as `linear_assignment(cost, threshold)`
    on the real block (pairs with cost > threshold are never matched; a pair at exactly
    the threshold gains nothing and may or may not be). Without it, the problem of
    `scipy.optimize.linear_sum_assignment` on the real block: min(n, m) pairs of least
    total cost. Padded rows and columns never take part, and whatever they hold (NaN
    included) does not change the result. NaN and +-inf costs are never matched; without
    a threshold, the matching first has as many finite pairs as possible, then the least
    total cost.

    Args:
      cost: [N, M] pair costs, padded.
      row_valid: [N] bool, True for real rows (None: all real).
      col_valid: [M] bool, True for real columns (None: all real).
      threshold: scalar, the largest cost a matched pair may have (None: no limit). May
        be a traced array, e.g. one per problem under vmap; must be finite.

    Returns:
      match: [N] int32, the column matched to each row, -1 for none (always -1 on
        padded rows).
    """
    cost = jnp.asarray(cost)
    if cost.ndim != 2:
        raise ValueError(f"cost must be [N, M], got shape {cost.shape}")
    if not jnp.issubdtype(cost.dtype, jnp.floating):
        cost = cost.astype(jnp.float32)
    n, m = cost.shape
    row_valid = jnp.ones(n, bool) if row_valid is None else jnp.asarray(row_valid, bool)
    col_valid = jnp.ones(m, bool) if col_valid is None else jnp.asarray(col_valid, bool)
    if row_valid.shape != (n,) or col_valid.shape != (m,):
        raise ValueError(
            f"row_valid {row_valid.shape} and col_valid {col_valid.shape} must be "
            f"[{n}] and [{m}] for cost {cost.shape}"
        )
    if n == 0 or m == 0:
        return jnp.full(n, -1, jnp.int32)
    real = row_valid[:, None] & col_valid[None, :]
    allowed = real & jnp.isfinite(cost)
    if threshold is not None:
        threshold = jnp.asarray(threshold, cost.dtype)
        allowed &= cost <= threshold  # inclusive, as in linear_assignment
        gain = cost - threshold
    else:
        gain = _unlimited_gain(cost, real, allowed, row_valid, col_valid)
    # Every entry that may not be matched gains 0 and every allowed one gains <= 0, so
    # the best full rectangular assignment, less its zero-gain forbidden pairs, is the
    # best partial matching (see linear_assignment), whatever the padding holds.
    gain = jnp.where(allowed, gain, 0.0)
    rows, cols = optax.assignment.hungarian_algorithm(gain)
    cols = jnp.where(allowed[rows, cols], cols, -1).astype(jnp.int32)
    return jnp.full(n, -1, jnp.int32).at[rows].set(cols)


def _unlimited_gain(cost, real, allowed, row_valid, col_valid):
    """Gains < 0 for allowed pairs that make "more pairs first, then less cost" optimal.

    Shifted costs c0 = cost - min lie in [0, span]. A gain of c0 - t with t > span makes
    every allowed pair strictly better than none; when every real pair is allowed, that
    already makes min(n, m) pairs of least cost optimal (swap argument: an unmatched real
    row always has a free real column). With forbidden real pairs, t > k * span (k =
    min(n, m)) makes one more pair outweigh any change in the cost of the others. The
    larger t costs float precision, so it is only used when needed.
    """
    lo = jnp.min(cost, where=allowed, initial=jnp.inf)
    hi = jnp.max(cost, where=allowed, initial=-jnp.inf)
    any_allowed = jnp.any(allowed)
    lo = jnp.where(any_allowed, lo, 0.0)
    span = jnp.where(any_allowed, hi - lo, 0.0)
    k = jnp.minimum(row_valid.sum(), col_valid.sum()).astype(cost.dtype)
    scale = jnp.where(jnp.any(real & ~allowed), k + 1.0, 1.0)
    t = jnp.where(span > 0, (scale + 0.5) * span, 1.0)
    return jnp.where(allowed, cost - lo, 0.0) - t
