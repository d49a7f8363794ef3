"""Constant-velocity Kalman filter for boxes (DeepSORT / JDE), batched and pure.

State (8): (cx, cy, a, h, vcx, vcy, va, vh) with a = w / h; measurement (4): xyah.
Noise scales with the box height (DeepSORT `kalman_filter.py`, copied by JDE): std_pos = h / 20,
std_vel = h / 160; the aspect ratio has fixed noise. dt = 1 frame.

Every function works on a batch of N independent tracks, under jit and vmap:
  mean: [N, 8], cov: [N, 8, 8], measurements: [N, 4] (or [M, 4] for gating).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxmot.core import small_linalg

STD_WEIGHT_POSITION = 1.0 / 20  # DeepSORT kalman_filter.py
STD_WEIGHT_VELOCITY = 1.0 / 160
CHI2_95_4DOF = 9.4877  # gating threshold for the 4-D measurement (chi-square 95%)

_NDIM = 4
# The motion model F = [[I, I], [0, I]] and observation H = [I, 0] are applied through
# their block structure (additions and slices) rather than as 8x8 matrix products.


def _diag(std):
    """[N, D] standard deviations -> [N, D, D] diagonal covariances."""
    return jax.vmap(jnp.diag)(jnp.square(std))


def initiate(measurements):
    """New tracks from unassociated measurements.

    Args:
      measurements: [N, 4] xyah.

    Returns:
      mean [N, 8] (zero velocity) and cov [N, 8, 8].
    """
    h = measurements[:, 3]
    pos, vel = STD_WEIGHT_POSITION * h, STD_WEIGHT_VELOCITY * h
    std = jnp.stack(
        [2 * pos, 2 * pos, jnp.full_like(h, 1e-2), 2 * pos,
         10 * vel, 10 * vel, jnp.full_like(h, 1e-5), 10 * vel],
        axis=-1,
    )  # fmt: skip
    mean = jnp.concatenate([measurements, jnp.zeros_like(measurements)], axis=-1)
    return mean, _diag(std)


def predict(mean, cov):
    """One constant-velocity step: mean [N, 8], cov [N, 8, 8] -> same shapes."""
    h = mean[:, 3]
    pos, vel = STD_WEIGHT_POSITION * h, STD_WEIGHT_VELOCITY * h
    std = jnp.stack(
        [pos, pos, jnp.full_like(h, 1e-2), pos, vel, vel, jnp.full_like(h, 1e-5), vel], axis=-1
    )
    pos_mean, vel_mean = mean[:, :_NDIM], mean[:, _NDIM:]
    mean = jnp.concatenate([pos_mean + vel_mean, vel_mean], axis=-1)
    # F P F^T for P = [[A, B], [C, D]] is [[A + B + C + D, B + D], [C + D, D]].
    a, b = cov[:, :_NDIM, :_NDIM], cov[:, :_NDIM, _NDIM:]
    c, d = cov[:, _NDIM:, :_NDIM], cov[:, _NDIM:, _NDIM:]
    top = jnp.concatenate([a + b + c + d, b + d], axis=-1)
    bottom = jnp.concatenate([c + d, d], axis=-1)
    return mean, jnp.concatenate([top, bottom], axis=-2) + _diag(std)


def project(mean, cov):
    """State -> measurement space: mean [N, 4], innovation covariance [N, 4, 4]."""
    h = mean[:, 3]
    pos = STD_WEIGHT_POSITION * h
    std = jnp.stack([pos, pos, jnp.full_like(h, 1e-1), pos], axis=-1)
    return mean[:, :_NDIM], cov[:, :_NDIM, :_NDIM] + _diag(std)


def update(mean, cov, measurements):
    """Kalman correction of each track with its own measurement.

    Args:
      mean: [N, 8]; cov: [N, 8, 8]; measurements: [N, 4] xyah (row i corrects track i).

    Returns:
      corrected mean [N, 8] and cov [N, 8, 8].
    """
    projected_mean, projected_cov = project(mean, cov)
    # Kalman gain K = P H^T S^-1; with H = [I, 0], P H^T is P[:, :4] and K^T solves
    # S K^T = P[:4, :] (P is symmetric).
    chol = small_linalg.cholesky(projected_cov)
    gain_t = small_linalg.cho_solve(chol, cov[:, :_NDIM, :])  # [N, 4, 8]
    innovation = measurements - projected_mean
    new_mean = mean + jnp.sum(innovation[:, :, None] * gain_t, axis=1)
    # K S K^T = P H^T K^T.
    correction = jnp.sum(cov[:, :, :_NDIM, None] * gain_t[:, None, :, :], axis=2)
    return new_mean, cov - correction


def gating_distance(mean, cov, measurements, only_position: bool = False):
    """Squared Mahalanobis distance of every measurement to every track.

    Args:
      mean: [N, 8]; cov: [N, 8, 8]; measurements: [M, 4] xyah.
      only_position: use only (cx, cy) (2 dof; compare against chi2 5.9915).

    Returns:
      [N, M] squared distances; compare against CHI2_95_4DOF to gate.
    """
    projected_mean, projected_cov = project(mean, cov)
    if only_position:
        projected_mean, projected_cov = projected_mean[:, :2], projected_cov[:, :2, :2]
        measurements = measurements[:, :2]
    diff = measurements[None, :, :] - projected_mean[:, None, :]  # [N, M, d]
    chol = small_linalg.cholesky(projected_cov)
    z = small_linalg.solve_lower(chol, jnp.swapaxes(diff, -1, -2))  # [N, d, M]
    return jnp.sum(jnp.square(z), axis=-2)


# -- Per-coordinate form ----------------------------------------------------------------
#
# With this motion model every noise term is per coordinate: F couples a coordinate only
# with its own velocity, and Q, R and the initial covariance are diagonal. So a covariance
# that starts as `initiate` makes it stays a set of four independent 2x2 blocks
# [[pp, pv], [pv, vv]], one per measured coordinate (cx, cy, a, h), through any number of
# predicts and updates. Trackers keep only those blocks: every step becomes a handful of
# elementwise operations on [N, 4] arrays (one fused kernel, no 8x8 products, no
# factorisations), with results identical to the full form (`blocks_to_full`).
#
#   blocks: [N, 3, 4] = (pp, pv, vv) stacked on axis 1.


def _position_std(h, aspect):
    return jnp.stack([h, h, jnp.full_like(h, aspect), h], axis=-1)


def initiate_blocks(measurements):
    """measurements [N, 4] xyah -> mean [N, 8], blocks [N, 3, 4] (as `initiate`)."""
    h = measurements[:, 3]
    pos = 2 * STD_WEIGHT_POSITION * _position_std(h, 1e-2 / (2 * STD_WEIGHT_POSITION))
    vel = 10 * STD_WEIGHT_VELOCITY * _position_std(h, 1e-5 / (10 * STD_WEIGHT_VELOCITY))
    mean = jnp.concatenate([measurements, jnp.zeros_like(measurements)], axis=-1)
    return mean, jnp.stack([jnp.square(pos), jnp.zeros_like(pos), jnp.square(vel)], axis=1)


def predict_blocks(mean, blocks):
    """One constant-velocity step in per-coordinate form (as `predict`)."""
    h = mean[:, 3]
    q_pos = jnp.square(STD_WEIGHT_POSITION * _position_std(h, 1e-2 / STD_WEIGHT_POSITION))
    q_vel = jnp.square(STD_WEIGHT_VELOCITY * _position_std(h, 1e-5 / STD_WEIGHT_VELOCITY))
    pp, pv, vv = blocks[:, 0], blocks[:, 1], blocks[:, 2]
    pos, vel = mean[:, :_NDIM], mean[:, _NDIM:]
    mean = jnp.concatenate([pos + vel, vel], axis=-1)
    return mean, jnp.stack([pp + 2 * pv + vv + q_pos, pv + vv, vv + q_vel], axis=1)


def _innovation_var(mean, blocks):
    r = jnp.square(STD_WEIGHT_POSITION * _position_std(mean[:, 3], 1e-1 / STD_WEIGHT_POSITION))
    return blocks[:, 0] + r  # [N, 4], the diagonal of the innovation covariance


def update_blocks(mean, blocks, measurements):
    """Kalman correction in per-coordinate form (as `update`)."""
    pp, pv, vv = blocks[:, 0], blocks[:, 1], blocks[:, 2]
    s = _innovation_var(mean, blocks)
    gain_pos, gain_vel = pp / s, pv / s
    innovation = measurements - mean[:, :_NDIM]
    new_mean = jnp.concatenate(
        [mean[:, :_NDIM] + gain_pos * innovation, mean[:, _NDIM:] + gain_vel * innovation],
        axis=-1,
    )
    # P - K S K^T, block by block.
    new_blocks = jnp.stack([pp - gain_pos * pp, pv - gain_pos * pv, vv - gain_vel * pv], axis=1)
    return new_mean, new_blocks


def gating_distance_blocks(mean, blocks, measurements):
    """[N, M] squared Mahalanobis distances in per-coordinate form (as `gating_distance`)."""
    s = _innovation_var(mean, blocks)
    diff = measurements[None, :, :] - mean[:, None, :_NDIM]
    return jnp.sum(jnp.square(diff) / s[:, None, :], axis=-1)


def blocks_to_full(blocks):
    """[N, 3, 4] per-coordinate blocks -> [N, 8, 8] covariance."""
    pp, pv, vv = (jax.vmap(jnp.diag)(blocks[:, k]) for k in range(3))
    return jnp.concatenate(
        [jnp.concatenate([pp, pv], axis=-1), jnp.concatenate([pv, vv], axis=-1)], axis=-2
    )
