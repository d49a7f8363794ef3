import itertools

import jax
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from jaxmot.core.assignment import assignment_device, linear_assignment


def _objective(cost, matches, threshold):
    n, m = cost.shape
    k = len(matches)
    return sum(cost[i, j] for i, j in matches) + threshold / 2 * ((n - k) + (m - k))


def _brute_force(cost, threshold):
    """Best objective over every partial matching using only pairs <= threshold."""
    n, m = cost.shape
    best = threshold / 2 * (n + m)
    for k in range(1, min(n, m) + 1):
        for rows in itertools.combinations(range(n), k):
            for cols in itertools.permutations(range(m), k):
                pairs = list(zip(rows, cols, strict=True))
                if all(cost[i, j] <= threshold for i, j in pairs):
                    best = min(best, _objective(cost, pairs, threshold))
    return best


@pytest.mark.parametrize("seed", range(40))
def test_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 5, size=2)
    cost = rng.uniform(0, 1, (n, m))
    threshold = rng.uniform(0.2, 0.9)
    matches, rows, cols = linear_assignment(cost, threshold)
    assert all(cost[i, j] <= threshold for i, j in matches)
    assert np.isclose(_objective(cost, matches, threshold), _brute_force(cost, threshold))
    assert sorted(list(rows) + list(matches[:, 0])) == list(range(n))
    assert sorted(list(cols) + list(matches[:, 1])) == list(range(m))


def test_pair_over_threshold_never_matched_even_if_optimum_uses_it():
    # Unconstrained optimum is the anti-diagonal (total 0.2 + 0.2 < 0.1 + 5).
    cost = np.array([[0.1, 0.2], [0.2, 5.0]])
    matches, rows, cols = linear_assignment(cost, 0.5)
    assert matches.tolist() == [[0, 1], [1, 0]]
    matches, rows, cols = linear_assignment(np.array([[0.1, 0.9], [0.9, 0.8]]), 0.5)
    assert matches.tolist() == [[0, 0]] and rows.tolist() == [1] and cols.tolist() == [1]


def test_nan_and_inf_are_never_matched():
    cost = np.array([[np.nan, 0.1], [np.inf, np.nan]])
    matches, rows, cols = linear_assignment(cost, 1.0)
    assert matches.tolist() == [[0, 1]] and rows.tolist() == [1] and cols.tolist() == [0]


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (4, 0)])
def test_empty(shape):
    matches, rows, cols = linear_assignment(np.zeros(shape), 0.5)
    assert matches.shape == (0, 2)
    assert rows.tolist() == list(range(shape[0])) and cols.tolist() == list(range(shape[1]))


def test_rejects_non_matrix():
    with pytest.raises(ValueError, match="cost must be"):
        linear_assignment(np.zeros(3), 0.5)


# --------------------------------------------------------------------------------------
# assignment_device: on device, padded, under jit and vmap
# --------------------------------------------------------------------------------------

_device = jax.jit(assignment_device)


def _check_valid(match, cost, n, m, threshold=None):
    """One-to-one, real rows and columns only, finite and within the threshold."""
    match = np.asarray(match)
    assert match.dtype == np.int32
    assert (match[n:] == -1).all()  # padded rows
    cols = match[match >= 0]
    assert len(set(cols.tolist())) == len(cols)
    assert (cols < m).all()
    pairs = [(i, j) for i, j in enumerate(match) if j >= 0]
    assert all(np.isfinite(cost[i, j]) for i, j in pairs)
    if threshold is not None:
        assert all(cost[i, j] <= threshold for i, j in pairs)
    return pairs


def _reference_total(cost, threshold=None):
    """Total cost (threshold: total gain cost - threshold) of the reference matching."""
    if threshold is None:
        rows, cols = linear_sum_assignment(cost)
        return len(rows), cost[rows, cols].sum()
    matches, _, _ = linear_assignment(cost, threshold)
    return len(matches), sum(cost[i, j] - threshold for i, j in matches)


def _total(pairs, cost, threshold=None):
    shift = 0.0 if threshold is None else threshold
    return sum(cost[i, j] - shift for i, j in pairs)


@pytest.mark.parametrize("shape", [(4, 4), (3, 6), (6, 3), (1, 5), (5, 1)])
@pytest.mark.parametrize("threshold", [None, 0.4])
def test_device_matches_scipy_and_host(shape, threshold):
    rng = np.random.default_rng(shape[0] * 10 + shape[1])
    for _ in range(8):
        cost = rng.uniform(0, 1, shape).astype(np.float32)
        pairs = _check_valid(_device(cost, threshold=threshold), cost, *shape, threshold)
        count, total = _reference_total(cost.astype(np.float64), threshold)
        if threshold is None:
            assert len(pairs) == count == min(shape)
        assert np.isclose(_total(pairs, cost, threshold), total, atol=1e-5)


@pytest.mark.parametrize("real", [(3, 3), (2, 5), (5, 2), (1, 1), (0, 3)])
@pytest.mark.parametrize("threshold", [None, 0.4])
def test_device_padding_never_changes_the_real_block(real, threshold):
    n, m = real
    rng = np.random.default_rng(n * 10 + m)
    for _ in range(6):
        block = rng.uniform(0, 1, real).astype(np.float32)
        # Garbage that would win if padding took part: very negative, NaN and inf.
        cost = rng.choice(np.float32([-1e6, -5.0, np.nan, np.inf, 0.0]), size=(7, 8))
        cost[:n, :m] = block
        row_valid, col_valid = np.arange(7) < n, np.arange(8) < m
        match = _device(cost, row_valid, col_valid, threshold=threshold)
        pairs = _check_valid(match, cost, n, m, threshold)
        unpadded = _check_valid(_device(block, threshold=threshold), block, n, m, threshold)
        assert np.isclose(_total(pairs, block, threshold), _total(unpadded, block, threshold))
        if n and m:
            count, total = _reference_total(block.astype(np.float64), threshold)
            assert np.isclose(_total(pairs, block, threshold), total, atol=1e-5)


def test_device_padding_at_the_front_of_the_matrix():
    # Validity is a mask, not a prefix: real rows/columns may be anywhere.
    rng = np.random.default_rng(3)
    cost = rng.uniform(0, 1, (5, 6)).astype(np.float32)
    row_valid = np.array([False, True, False, True, True])
    col_valid = np.array([True, False, True, True, False, True])
    match = np.asarray(_device(cost, row_valid, col_valid))
    assert (match[~row_valid] == -1).all() and col_valid[match[row_valid]].all()
    block = cost[row_valid][:, col_valid]
    _, total = _reference_total(block.astype(np.float64))
    assert np.isclose(sum(cost[i, j] for i, j in enumerate(match) if j >= 0), total, atol=1e-5)


def test_device_under_vmap_compiles_once_for_a_bucket():
    traces = []

    def traced(cost, row_valid, col_valid, threshold):
        traces.append(1)
        return assignment_device(cost, row_valid, col_valid, threshold)

    batched = jax.jit(jax.vmap(traced))
    rng = np.random.default_rng(7)
    b, size = 6, (6, 7)
    for _ in range(2):  # two batches, same bucket: one trace
        ns, ms = rng.integers(0, 7, b), rng.integers(0, 8, b)
        costs = rng.uniform(0, 1, (b, *size)).astype(np.float32)
        costs[rng.uniform(size=costs.shape) < 0.1] = np.nan  # garbage; real NaN too
        row_valid = np.arange(size[0])[None] < ns[:, None]
        col_valid = np.arange(size[1])[None] < ms[:, None]
        thresholds = rng.uniform(0.2, 0.9, b).astype(np.float32)
        matches = np.asarray(batched(costs, row_valid, col_valid, thresholds))
        assert matches.shape == (b, size[0])
        for k in range(b):
            n, m, th = ns[k], ms[k], thresholds[k]
            pairs = _check_valid(matches[k], costs[k], n, m, th)
            _, total = _reference_total(costs[k, :n, :m].astype(np.float64), th)
            assert np.isclose(_total(pairs, costs[k], th), total, atol=1e-5)
            np.testing.assert_array_equal(
                matches[k], assignment_device(costs[k], row_valid[k], col_valid[k], th)
            )  # jit + vmap == eager
    assert len(traces) == 1


def test_device_over_threshold_pair_never_matched_even_if_optimum_uses_it():
    cost = np.array([[0.1, 0.2], [0.2, 5.0]], np.float32)
    assert np.asarray(_device(cost, threshold=0.5)).tolist() == [1, 0]
    cost = np.array([[0.1, 0.9], [0.9, 0.8]], np.float32)
    assert np.asarray(_device(cost, threshold=0.5)).tolist() == [0, -1]


def test_device_without_threshold_prefers_more_finite_pairs():
    # NaN/inf are never matched; one more finite pair beats a cheaper single pair.
    cost = np.array([[-10.0, -1.0], [-1.0, np.nan]], np.float32)
    assert np.asarray(_device(cost)).tolist() == [1, 0]
    rng = np.random.default_rng(11)
    for _ in range(10):
        cost = rng.uniform(0, 1, (5, 6)).astype(np.float32)
        cost[rng.uniform(size=cost.shape) < 0.3] = np.inf
        pairs = _check_valid(_device(cost), cost, 5, 6)
        big = np.where(np.isfinite(cost), cost, 1e6).astype(np.float64)  # exact in float64
        rows, cols = linear_sum_assignment(big)
        finite = np.isfinite(cost[rows, cols])
        assert len(pairs) == finite.sum()
        assert np.isclose(_total(pairs, cost), cost[rows, cols][finite].sum(), atol=1e-5)


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (4, 0)])
def test_device_empty(shape):
    assert np.asarray(assignment_device(np.zeros(shape))).tolist() == [-1] * shape[0]
