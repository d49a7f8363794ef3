import itertools

import numpy as np
import pytest

from jaxmot.ops import linear_assignment


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
