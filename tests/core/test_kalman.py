"""The batched Kalman ops against a plain single-track NumPy textbook filter."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxmot.core import kalman


class TextbookKalman:
    """Single track, float64, written from the formulas of reference.md section 1."""

    F = np.eye(8) + np.eye(8, k=4)
    H = np.eye(4, 8)
    wp, wv = 1 / 20, 1 / 160

    def initiate(self, z):
        h = z[3]
        pos, vel = 2 * self.wp * h, 10 * self.wv * h
        std = [pos, pos, 1e-2, pos, vel, vel, 1e-5, vel]
        return np.r_[z, np.zeros(4)], np.diag(np.square(std))

    def predict(self, x, p):
        h = x[3]
        pos, vel = self.wp * h, self.wv * h
        std = [pos, pos, 1e-2, pos, vel, vel, 1e-5, vel]
        return self.F @ x, self.F @ p @ self.F.T + np.diag(np.square(std))

    def innovation(self, x, p):
        h = x[3]
        r = np.diag(np.square([self.wp * h, self.wp * h, 1e-1, self.wp * h]))
        return self.H @ x, self.H @ p @ self.H.T + r

    def update(self, x, p, z):
        zp, s = self.innovation(x, p)
        k = p @ self.H.T @ np.linalg.inv(s)
        return x + k @ (z - zp), (np.eye(8) - k @ self.H) @ p

    def gating(self, x, p, z):
        zp, s = self.innovation(x, p)
        d = z - zp
        return d @ np.linalg.inv(s) @ d


def _measurements(rng, n):
    return np.stack(
        [
            rng.uniform(50, 600, n),
            rng.uniform(50, 400, n),
            rng.uniform(0.3, 0.6, n),
            rng.uniform(40, 250, n),
        ],
        axis=1,
    )


def _reference_run(z0, z1, z2):
    ref = TextbookKalman()
    x, p = ref.initiate(z0)
    x, p = ref.predict(x, p)
    x, p = ref.update(x, p, z1)
    x, p = ref.predict(x, p)
    x, p = ref.update(x, p, z2)
    x, p = ref.predict(x, p)
    return x, p


def _batched_run(z0, z1, z2):
    m, c = kalman.initiate(z0)
    m, c = kalman.predict(m, c)
    m, c = kalman.update(m, c, z1)
    m, c = kalman.predict(m, c)
    m, c = kalman.update(m, c, z2)
    return kalman.predict(m, c)


def _assert_close(got, want):
    # float32 against float64: 1e-5 relative, with an absolute floor for entries that
    # are ~0 by cancellation (e.g. the 1e-10 va variance).
    scale = np.abs(want).max()
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=1e-5, atol=1e-6 * scale)


@pytest.mark.parametrize("jit", [False, True])
def test_filter_matches_textbook(jit):
    rng = np.random.default_rng(0)
    n = 6
    z0, z1, z2 = (_measurements(rng, n) for _ in range(3))
    z1 = z0 + rng.normal(0, 3, z0.shape) * [1, 1, 0.01, 1]
    z2 = z1 + rng.normal(0, 3, z0.shape) * [1, 1, 0.01, 1]
    run = jax.jit(_batched_run) if jit else _batched_run
    mean, cov = run(*(jnp.asarray(z, jnp.float32) for z in (z0, z1, z2)))
    for i in range(n):
        x, p = _reference_run(z0[i], z1[i], z2[i])
        _assert_close(mean[i], x)
        _assert_close(cov[i], p)


def test_gating_distance_matches_textbook():
    rng = np.random.default_rng(1)
    z0 = _measurements(rng, 4)
    zs = _measurements(rng, 5)
    zs[0] = z0[0] + [2, -1, 0.01, 3]  # one measurement near track 0
    mean, cov = kalman.predict(*kalman.initiate(jnp.asarray(z0, jnp.float32)))
    got = np.asarray(jax.jit(kalman.gating_distance)(mean, cov, jnp.asarray(zs, jnp.float32)))
    ref = TextbookKalman()
    want = np.zeros((4, 5))
    for i in range(4):
        x, p = ref.predict(*ref.initiate(z0[i]))
        want[i] = [ref.gating(x, p, z) for z in zs]
    np.testing.assert_allclose(got, want, rtol=1e-4)
    assert got[0, 0] < kalman.CHI2_95_4DOF < got[1:, 0].min()


def test_vmap_over_sequences_equals_batch():
    rng = np.random.default_rng(2)
    z = jnp.asarray(_measurements(rng, 6).reshape(2, 3, 4), jnp.float32)
    mean_v, cov_v = jax.vmap(lambda zz: kalman.predict(*kalman.initiate(zz)))(z)
    mean_b, cov_b = kalman.predict(*kalman.initiate(z.reshape(6, 4)))
    np.testing.assert_allclose(mean_v.reshape(6, 8), mean_b, rtol=1e-6)
    np.testing.assert_allclose(cov_v.reshape(6, 8, 8), cov_b, rtol=1e-6)


def test_empty_batch():
    mean, cov = kalman.initiate(jnp.zeros((0, 4)))
    mean, cov = kalman.update(*kalman.predict(mean, cov), jnp.zeros((0, 4)))
    assert mean.shape == (0, 8) and cov.shape == (0, 8, 8)
    assert kalman.gating_distance(mean, cov, jnp.zeros((3, 4))).shape == (0, 3)


@pytest.mark.parametrize("jit", [False, True])
def test_per_coordinate_form_equals_full_filter(jit):
    rng = np.random.default_rng(3)
    z0 = jnp.asarray(_measurements(rng, 5), jnp.float32)
    z1 = z0 + jnp.asarray(rng.normal(0, 2, (5, 4)) * [1, 1, 0.01, 1], jnp.float32)
    zs = jnp.asarray(_measurements(rng, 7), jnp.float32)

    def full(z0, z1, zs):
        m, c = kalman.predict(*kalman.initiate(z0))
        m, c = kalman.predict(*kalman.update(m, c, z1))
        return m, c, kalman.gating_distance(m, c, zs)

    def blocks(z0, z1, zs):
        m, b = kalman.predict_blocks(*kalman.initiate_blocks(z0))
        m, b = kalman.predict_blocks(*kalman.update_blocks(m, b, z1))
        return m, kalman.blocks_to_full(b), kalman.gating_distance_blocks(m, b, zs)

    if jit:
        full, blocks = jax.jit(full), jax.jit(blocks)
    for got, want in zip(blocks(z0, z1, zs), full(z0, z1, zs), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(jnp.abs(want).max()))
    # and the full form agrees with the textbook, so the blocks do too
    x, p = _reference_run(
        np.asarray(z0[0], np.float64), np.asarray(z1[0], np.float64), np.asarray(z1[0], np.float64)
    )
    m, b = kalman.initiate_blocks(z0[:1])
    for z in (z1[:1], z1[:1]):
        m, b = kalman.update_blocks(*kalman.predict_blocks(m, b), z)
    m, b = kalman.predict_blocks(m, b)
    _assert_close(m[0], x)
    _assert_close(kalman.blocks_to_full(b)[0], p)
