"""Cholesky factorisation and triangular solves for tiny matrices, fully unrolled.

The Kalman filter works on batches of 4x4 innovation covariances. XLA's CPU backend
calls LAPACK once per batch element for `jnp.linalg.cholesky` and friends, which costs
more than the arithmetic; unrolled over the (static) matrix size these become a few
fused elementwise ops on the whole batch, on every backend.
"""

from __future__ import annotations

import jax.numpy as jnp


def cholesky(a):
    """Lower Cholesky factor of SPD matrices a: [..., d, d] (d small and static)."""
    d = a.shape[-1]
    low = [[None] * d for _ in range(d)]
    for j in range(d):
        diag = a[..., j, j] - sum(low[j][k] ** 2 for k in range(j))
        low[j][j] = jnp.sqrt(diag)
        for i in range(j + 1, d):
            off = a[..., i, j] - sum(low[i][k] * low[j][k] for k in range(j))
            low[i][j] = off / low[j][j]
    zero = jnp.zeros_like(a[..., 0, 0])
    rows = [jnp.stack([low[i][j] if j <= i else zero for j in range(d)], -1) for i in range(d)]
    return jnp.stack(rows, -2)


def solve_lower(low, b):
    """x with low @ x = b. low: [..., d, d] lower triangular; b: [..., d, k]."""
    d = low.shape[-1]
    x = []
    for i in range(d):
        acc = b[..., i, :] - sum(low[..., i, k, None] * x[k] for k in range(i))
        x.append(acc / low[..., i, i, None])
    return jnp.stack(x, -2)


def solve_upper_transposed(low, b):
    """x with low^T @ x = b (back substitution). low: [..., d, d]; b: [..., d, k]."""
    d = low.shape[-1]
    x = [None] * d
    for i in reversed(range(d)):
        acc = b[..., i, :] - sum(low[..., k, i, None] * x[k] for k in range(i + 1, d))
        x[i] = acc / low[..., i, i, None]
    return jnp.stack(x, -2)


def cho_solve(low, b):
    """x with (low @ low^T) @ x = b. low: [..., d, d]; b: [..., d, k]."""
    return solve_upper_transposed(low, solve_lower(low, b))
