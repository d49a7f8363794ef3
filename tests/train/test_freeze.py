"""Frozen parameters (jaxmot.train.freeze): PyTorch's requires_grad = False in optax."""

from __future__ import annotations

import importlib.util
import pathlib

import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.jde.configs import get_config
from jaxmot.jde.model import JDE, JDEConfig
from jaxmot.jde.trainer import JDETask
from jaxmot.train import OptimizerConfig, TrainConfig, make_optimizer, train
from jaxmot.train.freeze import FROZEN, TRAIN, batchnorm_affine_paths, param_labels

_spec = importlib.util.spec_from_file_location(
    "tiny_task", pathlib.Path(__file__).parent / "train_scripts" / "tiny_task.py"
)
tiny_task = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_task)


def test_frozen_params_get_no_update_decay_or_share_of_the_clip():
    """SGD with L2 decay and clipping, one frozen leaf whose gradient is huge: its update
    is 0, and the clip norm is the trainable gradients' (as clip_grad_norm_ over the
    parameters that have gradients)."""
    params = {"a": jnp.array([1.0, -2.0]), "b": jnp.array([3.0])}
    grads = {"a": jnp.array([0.3, 0.4]), "b": jnp.array([100.0])}
    cfg = OptimizerConfig(name="sgd", learning_rate=0.1, weight_decay=0.1, grad_clip_norm=0.25)
    tx = make_optimizer(cfg, 10, frozen=frozenset({("b",)}))
    updates, _ = tx.update(grads, tx.init(params), params)
    # Reference by hand: |g_a| = 0.5 clipped to 0.25 -> g_a / 2; then + 0.1 * p; x -lr.
    expected_a = -0.1 * (np.array([0.15, 0.2]) + 0.1 * np.array([1.0, -2.0]))
    np.testing.assert_allclose(updates["a"], expected_a, rtol=1e-6)
    np.testing.assert_array_equal(updates["b"], [0.0])
    assert param_labels(params, frozenset({("b",)})) == {"a": TRAIN, "b": FROZEN}


def test_training_leaves_frozen_batchnorm_affine_as_initialised(tmp_path):
    class FrozenBN(tiny_task.TinyTask):
        def frozen_params(self, model):
            return batchnorm_affine_paths(model)

    task = FrozenBN(batch_size=8)
    initial = tiny_task.flat_state(task.init_model(nnx.Rngs(0)))
    config = TrainConfig(
        steps=3,
        batch_size=8,
        log_every=1,
        checkpoint_every=3,
        ema_decay=0.5,
        optimizer=OptimizerConfig(name="sgd", learning_rate=0.1, weight_decay=1e-2),
    )
    result = train(task, config, tmp_path, progress=False)
    trained = tiny_task.flat_state(result.model)
    assert batchnorm_affine_paths(result.model) == {("bn", "scale"), ("bn", "bias")}
    for name in ("bn.scale", "bn.bias"):
        np.testing.assert_array_equal(trained[name], initial[name])
    # Everything else trains, and the running statistics still move (as in PyTorch).
    for name in ("fc1.kernel", "fc2.kernel", "bn.mean", "bn.var"):
        assert not np.allclose(trained[name], initial[name]), name


def test_jde_official_recipe_freezes_every_batchnorm():
    assert get_config("mixture_full").freeze_batchnorm
    assert not get_config("synthetic_small").freeze_batchnorm
    config = JDEConfig(width=64, height=64, width_multiplier=0.125, blocks=(1, 1, 1, 1, 1))
    model = JDE(config, rngs=nnx.Rngs(0))
    paths = batchnorm_affine_paths(model)
    norms = [p for p, node in nnx.iter_graph(model) if isinstance(node, nnx.BatchNorm)]
    assert len(paths) == 2 * len(norms) > 0
    exp = get_config("mixture_full")
    task = JDETask.__new__(JDETask)  # frozen_params reads only the experiment
    task.exp = exp
    assert task.frozen_params(model) == paths
    task.exp = get_config("synthetic_small")
    assert task.frozen_params(model) == frozenset()
