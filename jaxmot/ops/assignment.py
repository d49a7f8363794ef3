"""Thresholded linear assignment (host side, SciPy).

Semantics of `lap.lapjv(cost, extend_cost=True, cost_limit=threshold)` as used by
JDE/ByteTrack (reference.md section 1): leaving a row or a column unmatched costs
threshold / 2, so a pair is matched only when that lowers the total cost, and a pair
whose cost exceeds the threshold is never matched, even where the unconstrained
optimum would use it.
"""

from __future__ import annotations

import numpy as np
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
