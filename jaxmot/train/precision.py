"""Mixed precision: bfloat16 compute with float32 parameters (`train.compute_dtype`).

Flax's Conv, ConvTranspose, Linear, LinearGeneral, Einsum and MultiHeadAttention cast
their inputs and parameters to their `dtype` attribute before the matmul; setting it to
bfloat16 on a copy of the graph makes the forward and backward pass of those layers run
in bfloat16 while the parameters, their gradients (the cast's transpose brings them back
to float32) and the optimizer state stay float32. Norm layers keep dtype None: their
statistics are reduced in float32 and, promoted by their float32 scale, they compute in
float32. Layers with parameters of their own (e.g. pixel-adaptive convolution) promote
bfloat16 inputs with their float32 weights and so stay float32 too: safe, only slower.
Tasks cast the model's outputs with `as_float32` before their losses.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

# The layers whose `dtype` is the dtype of their matmuls.
MATMUL_LAYERS = (
    nnx.Conv,
    nnx.ConvTranspose,
    nnx.Linear,
    nnx.LinearGeneral,
    nnx.Einsum,
    nnx.MultiHeadAttention,
)


def compute_graphdef(graphdef: nnx.GraphDef, state: nnx.State, dtype: str) -> nnx.GraphDef:
    """`graphdef` with its matmul layers computing in `dtype` ("float32": unchanged).

    Args:
      state: the model's state or its abstract shapes (only the graph is rebuilt).
    """
    if dtype == "float32":
        return graphdef
    model = nnx.merge(graphdef, state)
    model.set_attributes(*MATMUL_LAYERS, dtype=jnp.dtype(dtype), raise_if_not_found=False)
    return nnx.graphdef(model)


def as_float32(tree: Any) -> Any:
    """Every floating array of `tree` as float32 (the model's outputs before a loss)."""

    def cast(x):
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.floating):
            return x.astype(jnp.float32)
        return x

    return jax.tree.map(cast, tree)
