"""Parameters training leaves as they are: PyTorch's `requires_grad = False`.

A frozen parameter gets no update at all, so no weight decay and no optimizer state
either (`optax.multi_transform` sends it to `set_to_zero`); gradient clipping measures
the trainable parameters only, as `clip_grad_norm_` over the parameters that have
gradients does. BatchNorm running statistics are not parameters: they still update in
training mode, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterable

import jax
import optax
from flax import nnx

TRAIN, FROZEN = "train", "frozen"


def batchnorm_affine_paths(model: nnx.Module) -> frozenset[tuple]:
    """Paths (as in the model's state) of every BatchNorm's scale and bias."""
    return frozenset(
        (*path, name)
        for path, node in nnx.iter_graph(model)
        if isinstance(node, nnx.BatchNorm)
        for name in ("scale", "bias")
        if getattr(node, name, None) is not None
    )


def _state_path(tree_path: Iterable) -> tuple:
    """A pytree path of an nnx.State leaf -> the state path (its dict keys)."""
    return tuple(k.key for k in tree_path if isinstance(k, jax.tree_util.DictKey))


def param_labels(params, frozen: frozenset[tuple]):
    """The params' pytree with each leaf labelled FROZEN (its path in `frozen`) or TRAIN."""
    return jax.tree_util.tree_map_with_path(
        lambda path, _: FROZEN if _state_path(path) in frozen else TRAIN, params
    )


def freeze(tx: optax.GradientTransformation, frozen: frozenset[tuple]):
    """`tx` for the trainable params; zero updates (and no state) for `frozen` paths."""
    return optax.multi_transform(
        {TRAIN: tx, FROZEN: optax.set_to_zero()}, lambda params: param_labels(params, frozen)
    )


__all__ = ["FROZEN", "TRAIN", "batchnorm_affine_paths", "freeze", "param_labels"]
