"""The pure, jitted train step: nnx.split / nnx.merge only at the jit boundary.

The NNX "functional training loop": the loop holds plain pytrees (the model's nnx.State
and the optax state) and calls one function jitted once, with those two donated so XLA
updates them in place. The module graph is rebuilt from the static graphdef inside the
trace, where it costs nothing at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.sharding import Mesh

from jaxmot.train.mesh import batch_sharding, replicated

LossFn = Callable[[nnx.Module, dict[str, jax.Array], jax.Array], tuple[jax.Array, dict]]
TrainStep = Callable[..., tuple[nnx.State, Any, dict[str, jax.Array]]]


def make_train_step(
    graphdef: nnx.GraphDef,
    loss_fn: LossFn,
    tx: optax.GradientTransformation,
    schedule: optax.Schedule,
    mesh: Mesh,
) -> TrainStep:
    """Build `step(state, opt_state, batch, base_key, step) -> (state, opt_state, metrics)`.

    Args:
      graphdef: the model's graph in train mode (BatchNorm using batch statistics).
      loss_fn: (model, batch, key) -> (scalar loss, {name: scalar}), pure.
      tx: the optimizer, applied to the nnx.Param variables only.
      schedule: the learning rate by update count (only logged here; `tx` has its own).
      mesh: batch arrays are split over its "data" axis; everything else is replicated.

    The returned function takes the model's full nnx.State (params and the rest, e.g.
    BatchNorm running statistics), the optax state, the batch {name: [B, ...]}, the run's
    base PRNG key and the update count (int32 scalar, 0 for the first update). The step's
    key is `fold_in(base_key, step)`, so resuming at any step reproduces the same keys.
    metrics holds "loss", "learning_rate", "grad_norm" and the task's metrics.
    """

    def train_step(state, opt_state, batch, base_key, step):
        key = jax.random.fold_in(base_key, step)
        params, rest = nnx.split_state(state, nnx.Param, ...)

        def loss_of_params(params):
            # copy=True: the variables in `rest` belong to the jit trace, and BatchNorm
            # writes its running statistics into them from inside the grad trace.
            model = nnx.merge(graphdef, params, rest, copy=True)
            loss, metrics = loss_fn(model, batch, key)
            # The updated non-param state (BatchNorm statistics, RNG counters) leaves
            # through aux; that is how it survives the functional boundary.
            return loss, (metrics, nnx.state(model, nnx.Not(nnx.Param)))

        (loss, (metrics, new_rest)), grads = jax.value_and_grad(loss_of_params, has_aux=True)(
            params
        )
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        metrics = {
            **{k: jnp.asarray(v, jnp.float32) for k, v in metrics.items()},
            "loss": loss.astype(jnp.float32),
            "learning_rate": jnp.asarray(schedule(step), jnp.float32),
            "grad_norm": optax.tree.norm(grads).astype(jnp.float32),
        }
        return nnx.merge_state(params, new_rest), opt_state, metrics

    repl = replicated(mesh)
    return jax.jit(
        train_step,
        in_shardings=(repl, repl, batch_sharding(mesh), repl, repl),
        out_shardings=repl,
        donate_argnums=(0, 1),
    )
