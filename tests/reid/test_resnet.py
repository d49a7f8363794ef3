"""ResNet backbones and the re-ID model: shapes, BatchNorm modes, a training step.

Narrow networks (width 8) and small crops keep this fast on a CPU; shapes alone are checked
with nnx.eval_shape, which traces without compiling or allocating.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jaxmot.reid import metric_learning as ml
from jaxmot.reid.model import ReIDModel, ReIDModelConfig, build_reid_model
from jaxmot.reid.resnet import ResNet

IMAGES = (4, 64, 32)  # batch, height, width


def _images(seed=0, shape=IMAGES):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(*shape, 3)), jnp.float32)


def _rngs():
    # XLA's RngBitGenerator: compiles several times faster on a CPU than the default
    # threefry, and a model is initialised op by op, one compilation per weight shape.
    return nnx.Rngs(jax.random.key(0, impl="rbg"))


@pytest.mark.parametrize(
    "depth, last_stride, expected",
    [
        (18, 2, (4, 2, 1, 64)),
        (34, 1, (4, 4, 2, 64)),  # re-ID: layer4 keeps H/16 x W/16
        (50, 2, (4, 2, 1, 256)),
    ],
)
def test_feature_map_shapes(depth, last_stride, expected):
    static = {}

    def forward():
        model = ResNet(depth, 8, last_stride, rngs=_rngs())
        static.update(channels=model.out_channels, stride=model.stride)
        return model(jnp.zeros((*IMAGES, 3)))

    assert nnx.eval_shape(forward).shape == expected
    assert static == {"channels": expected[-1], "stride": IMAGES[1] // expected[1]}


def test_bfloat16_computation_keeps_float32_parameters():
    def forward():
        model = ResNet(18, 8, dtype=jnp.bfloat16, rngs=_rngs())
        return model(jnp.zeros((*IMAGES, 3))), model.conv1.kernel[...], model.bn1.mean[...]

    out, kernel, mean = nnx.eval_shape(forward)
    assert out.dtype == jnp.bfloat16
    assert kernel.dtype == mean.dtype == jnp.float32


def test_rejects_bad_input_and_depth():
    with pytest.raises(ValueError, match=r"NHWC images \[B, H, W, 3\], got shape \(2, 3, 64, 32\)"):
        nnx.eval_shape(lambda: ResNet(18, 8, rngs=_rngs())(jnp.zeros((2, 3, 64, 32))))
    with pytest.raises(ValueError, match="depth"):
        ResNet(101, rngs=_rngs())


@pytest.fixture(scope="module")
def initial_model():
    """One re-ID model (ResNet-18, width 8) per file: tests take nnx.clone copies."""
    config = ReIDModelConfig(depth=18, width=8, embed_dim=16, num_classes=6, input_size=IMAGES[1:])
    return build_reid_model(config, _rngs())


# Module level: clones share a graph structure, so these compile once per mode for the file.
_call = nnx.jit(lambda model, images: model(images))
_embed = nnx.jit(lambda model, images: model.embed(images))


def _batch_stats(model):
    return [np.asarray(x) for x in jax.tree.leaves(nnx.state(model, nnx.BatchStat))]


def test_reid_outputs(initial_model):
    model = nnx.clone(initial_model)
    assert model.bottleneck.bias is None  # BNNeck: no bias to train
    assert model.classifier.bias is None
    out = _call(model, _images(3))
    assert out["features"].shape == out["embeddings"].shape == (4, 16)
    assert out["logits"].shape == (4, 6)
    np.testing.assert_allclose(jnp.linalg.norm(out["embeddings"], axis=1), 1.0, rtol=1e-5)


def test_batchnorm_train_and_eval_modes(initial_model):
    model = nnx.clone(initial_model)
    x = _images(1)
    other = x.at[2:].set(_images(2)[2:])  # same first two images, different batch mates

    # Training mode: normalised with the batch's own statistics, which update the running
    # ones (torch momentum 0.1) -> an image's output depends on its batch mates.
    before = _batch_stats(model)
    y = _call(model, x)["features"]
    after = _batch_stats(model)
    assert all(not np.allclose(a, b) for a, b in zip(before, after, strict=True))
    stem = model.backbone.conv1(x)
    np.testing.assert_allclose(
        model.backbone.bn1.mean[...], 0.1 * jnp.mean(stem, axis=(0, 1, 2)), rtol=1e-4, atol=1e-6
    )
    assert not np.allclose(_call(model, other)["features"][:2], y[:2], atol=1e-5)

    # Evaluation mode: running statistics, untouched; each image's output is its own.
    model.eval()
    frozen = _batch_stats(model)
    out = _call(model, x)
    np.testing.assert_allclose(
        _call(model, other)["features"][:2], out["features"][:2], rtol=1e-5, atol=1e-6
    )
    for a, b in zip(frozen, _batch_stats(model), strict=True):
        np.testing.assert_array_equal(a, b)
    # embed() is the embedding path of __call__
    np.testing.assert_allclose(_embed(model, x), out["embeddings"], rtol=1e-5, atol=1e-6)


def test_reid_embed_dim_none_keeps_backbone_channels():
    model = nnx.eval_shape(
        lambda: ReIDModel(depth=50, width=8, embed_dim=None, num_classes=3, rngs=_rngs())
    )
    assert model.reduction is None and model.embed_dim == 256
    default = ReIDModelConfig()
    assert (default.depth, default.embed_dim, default.last_stride) == (34, 512, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        default.depth = 50


def test_training_step_changes_parameters_and_reduces_loss(initial_model):
    model = nnx.clone(initial_model)
    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
    images = _images(4)
    labels = jnp.asarray([0, 0, 1, 1])

    def loss_fn(model):
        out = model(images)
        triplet = ml.batch_hard_triplet_loss(out["features"], labels)
        return triplet + ml.cross_entropy_with_label_smoothing(out["logits"], labels)

    @nnx.jit
    def step(model, optimizer):
        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    params = [np.asarray(x) for x in jax.tree.leaves(nnx.state(model, nnx.Param))]
    losses = [float(step(model, optimizer)) for _ in range(4)]
    new_params = jax.tree.leaves(nnx.state(model, nnx.Param))
    changed = [not np.allclose(a, b) for a, b in zip(params, new_params, strict=True)]
    assert all(changed), f"{changed.count(False)} parameter arrays did not move"
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses
