"""jaxmot.core.jit: bound static arguments and flat NNX state for per-frame calls."""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.core.compiles import CompileCounter
from jaxmot.core.jit import jit_bound, merge_flat, split_flat


class _Net(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.dense = nnx.Linear(3, 4, rngs=rngs)
        self.norm = nnx.BatchNorm(4, rngs=rngs)

    def __call__(self, x):
        return self.norm(self.dense(x))


def _forward(structure, scale, leaves, x):
    return scale * merge_flat(structure, leaves)(x)


def test_split_flat_round_trip_keeps_every_variable():
    model = _Net(nnx.Rngs(0))
    model.eval()
    structure, leaves = split_flat(model)
    assert all(isinstance(leaf, jax.Array) for leaf in leaves)
    assert len(leaves) == len(jax.tree.leaves(nnx.state(model)))
    x = jnp.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(merge_flat(structure, leaves)(x), model(x))


def test_equal_bound_arguments_share_one_jitted_function_and_compilation():
    first, second = _Net(nnx.Rngs(0)), _Net(nnx.Rngs(1))  # same graph, other weights
    for m in (first, second):
        m.eval()
    (s1, leaves1), (s2, leaves2) = split_flat(first), split_flat(second)
    f1, f2 = jit_bound(_forward, s1, 2.0), jit_bound(_forward, s2, 2.0)
    assert f1 is f2 and jit_bound(_forward, s1, 3.0) is not f1
    x = jnp.ones((5, 3))
    with CompileCounter() as compiles:
        out1, out2 = f1(leaves1, x), f2(leaves2, x)
    assert compiles.count == 1  # one compilation serves both models
    np.testing.assert_allclose(out1, 2.0 * first(x), rtol=1e-6)
    np.testing.assert_allclose(out2, 2.0 * second(x), rtol=1e-6)
    y = x + 1  # (the eager add compiles too: outside the counter)
    with CompileCounter() as compiles:
        f1(leaves2, y)
    assert compiles.count == 0
