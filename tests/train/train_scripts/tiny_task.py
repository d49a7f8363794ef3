"""A tiny regression task for the training-stack tests: MLP with BatchNorm and Dropout.

Batches are a pure function of (seed, step); `step_sleep` slows `batch` down so a test
can kill a run in the middle.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.train.config import OptimizerConfig, TrainConfig
from jaxmot.train.precision import as_float32

IN_DIM, HIDDEN = 8, 16


class TinyModel(nnx.Module):
    """[B, IN_DIM] -> [B]: Linear -> BatchNorm -> relu -> Dropout -> Linear."""

    def __init__(self, rngs: nnx.Rngs, hidden: int = HIDDEN):
        # No bias before BatchNorm: it would be cancelled, its gradient is float noise
        # (which Adam would amplify to +-lr, different noise on different device counts).
        self.fc1 = nnx.Linear(IN_DIM, hidden, use_bias=False, rngs=rngs)
        self.bn = nnx.BatchNorm(hidden, momentum=0.9, rngs=rngs)
        self.drop = nnx.Dropout(0.1)
        self.fc2 = nnx.Linear(hidden, 1, rngs=rngs)

    def __call__(self, x: jax.Array, rng: jax.Array | None = None) -> jax.Array:
        h = jax.nn.relu(self.bn(self.fc1(x)))
        return self.fc2(self.drop(h, rngs=rng))[:, 0]


class TinyTask:
    """y = sin(x . w) + noise, x ~ N(0, 1); w fixed by the seed."""

    def __init__(
        self, batch_size: int, seed: int = 0, step_sleep: float = 0.0, hidden: int = HIDDEN
    ):
        self.batch_size, self.seed, self.step_sleep = batch_size, seed, step_sleep
        self.hidden = hidden
        self.w = np.random.default_rng(seed).normal(size=IN_DIM).astype(np.float32)

    def init_model(self, rngs: nnx.Rngs) -> TinyModel:
        return TinyModel(rngs, self.hidden)

    def loss_fn(self, model, batch, rng):
        pred = as_float32(model(batch["x"], rng))
        err = pred - batch["y"]
        return jnp.mean(err**2), {"mae": jnp.mean(jnp.abs(err))}

    def batch(self, step: int) -> dict[str, np.ndarray]:
        if self.step_sleep:
            time.sleep(self.step_sleep)
        rng = np.random.default_rng([self.seed, step])
        x = rng.normal(size=(self.batch_size, IN_DIM)).astype(np.float32)
        y = np.sin(x @ self.w) + 0.1 * rng.normal(size=self.batch_size).astype(np.float32)
        return {"x": x, "y": y.astype(np.float32)}

    def batch_rows(self, step: int, rows: slice) -> dict[str, np.ndarray]:
        """This process's rows of `batch(step)` (a multi-host run's own share)."""
        return {name: value[rows] for name, value in self.batch(step).items()}


def flat_state(model: nnx.Module) -> dict[str, np.ndarray]:
    """Every variable of `model` (params and BatchNorm statistics) by dotted path."""
    # addressable_data(0): a replicated array of a multi-host run is not fully
    # addressable from one process, but every device holds all of it.
    return {
        ".".join(map(str, path)): np.asarray(value.addressable_data(0))
        for path, value in nnx.to_flat_state(nnx.state(model))
    }


def tiny_config(
    steps: int, batch_size: int, log_every: int, checkpoint_every: int, keep_checkpoints: int
) -> TrainConfig:
    """A TrainConfig for the tiny task: Adam at 1e-2, which fits it in a few steps."""
    return TrainConfig(
        steps=steps,
        batch_size=batch_size,
        optimizer=OptimizerConfig(name="adam", learning_rate=1e-2),
        log_every=log_every,
        checkpoint_every=checkpoint_every,
        keep_checkpoints=keep_checkpoints,
    )
