"""Per-call overheads of jitted NNX models, paid once instead.

`jit_bound`: a jitted function with some leading arguments bound once, not per call.

Passing an NNX `GraphDef` (or a config) as a static argument of a jitted function makes
JAX hash it on every call to find the compiled code, and compare it when the objects
differ: for E.T.Track's graph that was 7 ms of Python a frame, a third of the frame
time. Binding the static arguments here hashes them once, when a tracker or detector is
built, and callers that bind equal arguments share one jitted function (so one
compilation per input shape, as with static arguments).

`split_flat` / `merge_flat`: an NNX module's state as a flat list of arrays. Passing an
`nnx.State` into a jitted function flattens its Variables in Python on every call
(E.T.Track: about 580 of them, 2 ms a frame); a list of arrays flattens in C++.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable

import jax
from flax import nnx


def jit_bound(fn: Callable, *bound: Hashable, **jit_kwargs) -> Callable:
    """`jax.jit(functools.partial(fn, *bound), **jit_kwargs)`, shared by every call
    with equal `fn`, `bound` and `jit_kwargs`.

    `bound` must be hashable (a GraphDef, frozen dataclasses, numbers); `jit_kwargs` are
    `jax.jit`'s keyword arguments with hashable values (e.g. static_argnames as a tuple),
    and their argument positions count after the bound ones.
    """
    return _jitted(fn, tuple(bound), tuple(sorted(jit_kwargs.items())))


@functools.cache
def _jitted(fn, bound, jit_kwargs):
    return jax.jit(functools.partial(fn, *bound), **dict(jit_kwargs))


def split_flat(module: nnx.Module) -> tuple[tuple, list[jax.Array]]:
    """(structure, leaves): `nnx.split` with the state flattened once. `structure`
    (graphdef, treedef) is hashable, for `jit_bound`; `leaves` are the state's arrays."""
    graphdef, state = nnx.split(module)
    leaves, treedef = jax.tree.flatten(state)
    return (graphdef, treedef), leaves


def merge_flat(structure: tuple, leaves) -> nnx.Module:
    """The module back from `split_flat`'s parts (inside a jitted function)."""
    graphdef, treedef = structure
    return nnx.merge(graphdef, jax.tree.unflatten(treedef, leaves))


__all__ = ["jit_bound", "merge_flat", "split_flat"]
