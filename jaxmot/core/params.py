"""Parameter counting for any NNX model."""

from __future__ import annotations

import jax
from flax import nnx


def count_params(model: nnx.Module) -> int:
    """Number of trainable parameters (nnx.Param leaves; BN statistics excluded)."""
    return sum(int(v.size) for v in jax.tree.leaves(nnx.state(model, nnx.Param)))


__all__ = ["count_params"]
