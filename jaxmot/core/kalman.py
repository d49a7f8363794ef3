"""Constant-velocity Kalman filters for boxes, batched and pure.

Two motion models (`MotionModel`, chosen per tracker with `LifecycleConfig.motion`):

* "xyah" (DeepSORT / JDE / ByteTrack): state (cx, cy, a, h, vcx, vcy, va, vh) with
  a = w / h; measurement xyah. Noise scales with the box height (DeepSORT
  `kalman_filter.py`): std_pos = h / 20, std_vel = h / 160; the aspect ratio has fixed
  noise. Trackers keep its covariance in the per-coordinate block form (below).
* "xywh" (BoT-SORT `tracker/kalman_filter.py`): state (cx, cy, w, h, vcx, vcy, vw, vh);
  measurement (cx, cy, w, h). Noise of x and w scales with w, of y and h with h (same
  weights 1/20 and 1/160). Kept as full 8x8 covariances, because camera-motion
  compensation (`warp_full`) rotates (x, y) pairs and couples coordinates.

dt = 1 frame. Every function works on a batch of N independent tracks, under jit and vmap:
  mean: [N, 8], cov: [N, 8, 8], measurements: [N, 4] (or [M, 4] for gating).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxmot.core import boxes as box_ops
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
    return _predict_full(mean, cov, std)


def _predict_full(mean, cov, std):
    """F x, F P F^T + diag(std^2) for mean [N, 8], cov [N, 8, 8], std [N, 8]."""
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
    return _update_full(mean, cov, *project(mean, cov), measurements)


def _gain_transposed(cov, projected_cov):
    """K^T [N, 4, 8] for cov [N, 8, 8] and the innovation covariance S [N, 4, 4]."""
    # Kalman gain K = P H^T S^-1; with H = [I, 0], P H^T is P[:, :4] and K^T solves
    # S K^T = P[:4, :] (P is symmetric).
    chol = small_linalg.cholesky(projected_cov)
    return small_linalg.cho_solve(chol, cov[:, :_NDIM, :])


def _update_full(mean, cov, projected_mean, projected_cov, measurements):
    """Correction given the projection (mean [N, 4], innovation covariance [N, 4, 4])."""
    gain_t = _gain_transposed(cov, projected_cov)  # [N, 4, 8]
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
    return _mahalanobis(*project(mean, cov), measurements, only_position)


def _mahalanobis(projected_mean, projected_cov, measurements, only_position):
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


def position_gain_blocks(mean, blocks):
    """[N, 4] the per-coordinate gains pp / s that `update_blocks` applies to the
    position (the diagonal of the gain's position rows)."""
    return blocks[:, 0] / _innovation_var(mean, blocks)


def corrected_position(position, gain, measurements):
    """The corrected position of a Kalman update, NumPy or JAX alike.

    position [N, 4]: the predicted state's first four entries; gain [N, 4, 4]: the
    gain's position rows (`MotionModel.position_gain`); measurements [N, 4]. Returns
    position + gain @ (measurements - position), the first four entries of `update`'s
    mean (tests/core/test_kalman_motion.py checks both models against it).
    """
    innovation = (measurements - position)[..., None]
    return position + (gain @ innovation)[..., 0]


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


# -- xywh: BoT-SORT's filter (full covariance) ------------------------------------------


def _xywh_scale(boxes):
    """[N, >=4] (cx, cy, w, h, ...) -> [N, 4] (w, h, w, h): x and w scale with the width,
    y and h with the height (BoT-SORT kalman_filter.py)."""
    w, h = boxes[:, 2], boxes[:, 3]
    return jnp.stack([w, h, w, h], axis=-1)


def initiate_xywh(measurements):
    """New tracks: measurements [N, 4] (cx, cy, w, h) -> mean [N, 8], cov [N, 8, 8]."""
    s = _xywh_scale(measurements)
    std = jnp.concatenate([2 * STD_WEIGHT_POSITION * s, 10 * STD_WEIGHT_VELOCITY * s], axis=-1)
    mean = jnp.concatenate([measurements, jnp.zeros_like(measurements)], axis=-1)
    return mean, _diag(std)


def predict_xywh(mean, cov):
    """One constant-velocity step of the xywh filter (same shapes in and out)."""
    s = _xywh_scale(mean)
    std = jnp.concatenate([STD_WEIGHT_POSITION * s, STD_WEIGHT_VELOCITY * s], axis=-1)
    return _predict_full(mean, cov, std)


def project_xywh(mean, cov):
    """State -> measurement space: mean [N, 4], innovation covariance [N, 4, 4]."""
    std = STD_WEIGHT_POSITION * _xywh_scale(mean)
    return mean[:, :_NDIM], cov[:, :_NDIM, :_NDIM] + _diag(std)


def update_xywh(mean, cov, measurements):
    """Kalman correction with measurements [N, 4] (cx, cy, w, h), row i for track i."""
    return _update_full(mean, cov, *project_xywh(mean, cov), measurements)


def gating_distance_xywh(mean, cov, measurements, only_position: bool = False):
    """[N, M] squared Mahalanobis distances of measurements [M, 4] (cx, cy, w, h)."""
    return _mahalanobis(*project_xywh(mean, cov), measurements, only_position)


def warp_full(mean, cov, affine):
    """Camera-motion compensation (BoT-SORT STrack.multi_gmc) of full-form states.

    The 2x2 part R of the affine [2, 3] acts on every (x, y)-like pair of the state
    ((cx, cy), (w, h), (vcx, vcy), (vw, vh): the block-diagonal kron(I4, R)); the
    translation moves the centre only. mean [N, 8], cov [N, 8, 8] -> same shapes.
    """
    rot, shift = affine[:, :2], affine[:, 2]
    n = mean.shape[0]
    mean = jnp.einsum("ij,npj->npi", rot, mean.reshape(n, 4, 2)).reshape(n, 8)
    mean = mean.at[:, :2].add(shift)
    big = jnp.kron(jnp.eye(4, dtype=rot.dtype), rot)  # [8, 8]
    return mean, jnp.einsum("ij,njk,lk->nil", big, cov, big)


# -- Motion models: what a tracker's KalmanBank runs -----------------------------------


@dataclasses.dataclass(frozen=True)
class MotionModel:
    """A Kalman motion model as the bank uses it (hashable: a static jit argument).

    mean [C, 8] in the model's own layout; cov in the model's covariance form
    (`cov_shape` per slot). Box helpers work on the first four state entries.
    """

    name = "base"

    def measure(self, boxes_xywh):
        """[N, 4] top-left xywh boxes (NumPy or JAX) -> [N, 4] measurements."""
        raise NotImplementedError

    def measure_xyxy(self, det_xyxy):
        """[M, 4] corner boxes, padded rows all zero -> [M, 4] finite measurements."""
        raise NotImplementedError

    def boxes_xywh(self, mean):
        """[C, 8] means (or their first four entries; NumPy or JAX) -> [C, 4] top-left
        xywh boxes."""
        raise NotImplementedError

    def boxes_xyxy(self, mean):
        """[C, 8] means -> [C, 4] corner boxes."""
        raise NotImplementedError

    def initiate(self, measurements):
        raise NotImplementedError

    def predict(self, mean, cov):
        raise NotImplementedError

    def update(self, mean, cov, measurements):
        raise NotImplementedError

    def gating_distance(self, mean, cov, measurements):
        """[C, M] squared Mahalanobis distances (compare with CHI2_95_4DOF)."""
        raise NotImplementedError

    def position_gain(self, mean, cov):
        """[C, 4, 4] the position rows of each slot's Kalman gain: `update` moves the
        first four state entries to `corrected_position(mean[:, :4], gain, z)`."""
        raise NotImplementedError

    def stop_size(self, mean, lost):
        """Zero the size velocities of lost slots ([C] bool) before they are predicted
        (ByteTrack zeroes vh of a lost track, BoT-SORT vw and vh)."""
        raise NotImplementedError

    def warp(self, mean, cov, affine):
        """Apply a [2, 3] camera-motion affine to every row."""
        raise ValueError(
            f"camera-motion compensation needs the 'xywh' motion model, not {self.name!r}"
        )


@dataclasses.dataclass(frozen=True)
class XYAHMotion(MotionModel):
    """DeepSORT's xyah filter in per-coordinate block form (cov [C, 3, 4])."""

    name = "xyah"
    cov_shape = (3, 4)

    def measure(self, boxes_xywh):
        return box_ops.xywh_to_xyah(boxes_xywh)

    def measure_xyxy(self, det_xyxy):
        # Padded rows get a unit bottom edge, so their aspect ratio stays finite (a 0/0
        # there would put NaN into the gating distances).
        return box_ops.xyxy_to_xyah(det_xyxy.at[:, 3].add(jnp.where(det_xyxy[:, 3] > 0, 0, 1)))

    def boxes_xywh(self, mean):
        return box_ops.xyah_to_xywh(mean[:, :4])

    def boxes_xyxy(self, mean):
        return box_ops.xyah_to_xyxy(mean[:, :4])

    def initiate(self, measurements):
        return initiate_blocks(measurements)

    def predict(self, mean, cov):
        return predict_blocks(mean, cov)

    def update(self, mean, cov, measurements):
        return update_blocks(mean, cov, measurements)

    def gating_distance(self, mean, cov, measurements):
        return gating_distance_blocks(mean, cov, measurements)

    def position_gain(self, mean, cov):
        return position_gain_blocks(mean, cov)[:, :, None] * jnp.eye(_NDIM, dtype=mean.dtype)

    def stop_size(self, mean, lost):
        return mean.at[:, 7].set(jnp.where(lost, 0.0, mean[:, 7]))


@dataclasses.dataclass(frozen=True)
class XYWHMotion(MotionModel):
    """BoT-SORT's xywh filter with full covariances (cov [C, 8, 8])."""

    name = "xywh"
    cov_shape = (8, 8)

    def measure(self, boxes_xywh):
        xp = box_ops.array_namespace(boxes_xywh)
        return xp.concatenate([boxes_xywh[:, :2] + boxes_xywh[:, 2:] / 2, boxes_xywh[:, 2:]], -1)

    def measure_xyxy(self, det_xyxy):
        # Padded rows (all zero) give a zero-size box at the origin: finite everywhere.
        return jnp.concatenate(
            [(det_xyxy[:, :2] + det_xyxy[:, 2:]) / 2, det_xyxy[:, 2:] - det_xyxy[:, :2]], -1
        )

    def boxes_xywh(self, mean):
        xp = box_ops.array_namespace(mean)
        return xp.concatenate([mean[:, :2] - mean[:, 2:4] / 2, mean[:, 2:4]], axis=-1)

    def boxes_xyxy(self, mean):
        half = mean[:, 2:4] / 2
        return jnp.concatenate([mean[:, :2] - half, mean[:, :2] + half], axis=-1)

    def initiate(self, measurements):
        return initiate_xywh(measurements)

    def predict(self, mean, cov):
        return predict_xywh(mean, cov)

    def update(self, mean, cov, measurements):
        return update_xywh(mean, cov, measurements)

    def gating_distance(self, mean, cov, measurements):
        return gating_distance_xywh(mean, cov, measurements)

    def position_gain(self, mean, cov):
        gain_t = _gain_transposed(cov, project_xywh(mean, cov)[1])  # [C, 4 (z), 8 (x)]
        return jnp.swapaxes(gain_t[:, :, :_NDIM], 1, 2)

    def stop_size(self, mean, lost):
        return mean.at[:, 6:8].set(jnp.where(lost[:, None], 0.0, mean[:, 6:8]))

    def warp(self, mean, cov, affine):
        return warp_full(mean, cov, affine)


XYAH = XYAHMotion()
XYWH = XYWHMotion()
MOTION_MODELS = {"xyah": XYAH, "xywh": XYWH}


def motion_model(motion: str | MotionModel) -> MotionModel:
    """A motion model by name ("xyah", "xywh") or the model itself."""
    if isinstance(motion, MotionModel):
        return motion
    if motion not in MOTION_MODELS:
        raise ValueError(f"unknown motion model {motion!r}; choose one of {tuple(MOTION_MODELS)}")
    return MOTION_MODELS[motion]
