import jax
import numpy as np
import pytest

from jaxmot.core import small_linalg


def _spd(rng, batch, d):
    x = rng.normal(size=(batch, d, d))
    return x @ np.swapaxes(x, -1, -2) + d * np.eye(d)


@pytest.mark.parametrize("d", [1, 2, 4, 6])
def test_cholesky_and_solves_match_numpy(d):
    rng = np.random.default_rng(d)
    a = _spd(rng, 5, d)
    b = rng.normal(size=(5, d, 3))
    low = np.asarray(jax.jit(small_linalg.cholesky)(a))
    np.testing.assert_allclose(low, np.linalg.cholesky(a), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        small_linalg.solve_lower(low, b), np.linalg.solve(low, b), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        small_linalg.solve_upper_transposed(low, b),
        np.linalg.solve(np.swapaxes(low, -1, -2), b),
        rtol=1e-4,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        jax.jit(small_linalg.cho_solve)(low, b), np.linalg.solve(a, b), rtol=1e-4, atol=1e-5
    )
