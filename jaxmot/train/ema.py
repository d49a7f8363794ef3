"""An exponential moving average of the parameters, kept in the optimizer state.

Appended as the last link of the optax chain, so it sees every final update: the
average lives in the optimizer state, is checkpointed with it and resumes exactly, and
no train step or loop code has to know about it. `ema_params(opt_state)` reads it back.

The decay warms up as min(decay, (1 + t) / (10 + t)) (TensorFlow's
ExponentialMovingAverage with num_updates), so early averages are not dominated by the
random initialisation.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


class ParamsEmaState(NamedTuple):
    count: jax.Array  # int32 scalar: updates seen
    ema: Any  # pytree like the params


def params_ema(decay: float) -> optax.GradientTransformation:
    """Track EMA(params after each update); the updates pass through unchanged."""
    if not 0.0 < decay < 1.0:
        raise ValueError(f"EMA decay must be in (0, 1), got {decay}")

    def init(params):
        # A copy: the params and the average are donated separately to the train step.
        return ParamsEmaState(jnp.zeros((), jnp.int32), jax.tree.map(jnp.array, params))

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("params_ema needs the params: call tx.update(grads, state, params)")
        count = state.count + 1
        rate = jnp.minimum(decay, (1.0 + count) / (10.0 + count))
        new_params = optax.apply_updates(params, updates)
        ema = jax.tree.map(
            lambda avg, p: (rate * avg + (1.0 - rate) * p).astype(avg.dtype), state.ema, new_params
        )
        return updates, ParamsEmaState(count, ema)

    return optax.GradientTransformation(init, update)


def ema_params(opt_state: Any) -> Any | None:
    """The averaged params held in `opt_state`, or None when it has no `params_ema` link."""
    found = [
        leaf
        for leaf in jax.tree.leaves(opt_state, is_leaf=lambda x: isinstance(x, ParamsEmaState))
        if isinstance(leaf, ParamsEmaState)
    ]
    return found[-1].ema if found else None
