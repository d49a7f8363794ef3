"""depthwise_conv2d (shifted multiply-adds, hand-written VJP) against lax's grouped conv."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxmot.sot.depthwise import depthwise_conv2d
from jaxmot.sot.depthwise_conv import DepthwiseConv


def grouped_conv(x, kernel, stride, padding):
    """lax's depth-wise conv (feature_group_count = C); per-sample kernels via vmap."""
    if kernel.ndim == 4:
        return jax.vmap(lambda xi, ki: grouped_conv(xi[None], ki, stride, padding)[0])(x, kernel)
    return jax.lax.conv_general_dilated(
        x,
        kernel[:, :, None, :],
        (stride, stride),
        [(padding, padding)] * 2,
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=x.shape[-1],
    )


CASES = [  # H, W, k, stride, padding, per-sample kernels
    (9, 9, 3, 1, 1, False),
    (10, 7, 5, 2, 2, False),
    (11, 11, 3, 2, 1, True),
    (8, 8, 7, 1, 3, True),
    (9, 12, 3, 2, 0, False),
    (19, 5, 3, 1, 1, False),  # more output rows than one gradient block (8)
]


@pytest.mark.parametrize("h, w, k, stride, padding, per_sample", CASES)
def test_values_and_gradients_equal_grouped_conv(h, w, k, stride, padding, per_sample):
    rng = np.random.default_rng(h * w + k)
    with jax.enable_x64(True):
        x = jnp.asarray(rng.normal(size=(2, h, w, 3)))
        kernel = jnp.asarray(rng.normal(size=((2,) if per_sample else ()) + (k, k, 3)))
        y = depthwise_conv2d(x, kernel, stride, padding)
        expected = grouped_conv(x, kernel, stride, padding)
        assert y.shape == expected.shape
        np.testing.assert_allclose(y, expected, atol=1e-10)
        dy = jnp.asarray(rng.normal(size=y.shape))
        ours = jax.vjp(lambda a, b: depthwise_conv2d(a, b, stride, padding), x, kernel)[1](dy)
        ref = jax.vjp(lambda a, b: grouped_conv(a, b, stride, padding), x, kernel)[1](dy)
        for got, want in zip(ours, ref, strict=True):
            np.testing.assert_allclose(got, want, atol=1e-9)


def test_jit_equals_eager_and_vmap_of_single_samples():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(3, 12, 12, 4)), jnp.float32)
    kernels = jnp.asarray(rng.normal(size=(3, 5, 5, 4)), jnp.float32)
    eager = depthwise_conv2d(x, kernels, 1, 2)
    jitted = jax.jit(depthwise_conv2d, static_argnums=(2, 3))(x, kernels, 1, 2)
    np.testing.assert_allclose(jitted, eager, rtol=1e-6, atol=1e-6)
    single = jax.vmap(lambda xi, ki: depthwise_conv2d(xi[None], ki, 1, 2)[0])(x, kernels)
    np.testing.assert_allclose(single, eager, rtol=1e-6, atol=1e-6)
    grads = jax.grad(
        lambda k: jnp.sum(
            jax.vmap(lambda xi, ki: depthwise_conv2d(xi[None], ki, 1, 2)[0])(x, k) ** 2
        )
    )(kernels)
    want = jax.grad(lambda k: jnp.sum(grouped_conv(x, k, 1, 2) ** 2))(kernels)
    np.testing.assert_allclose(grads, want, rtol=1e-4, atol=1e-3)


def test_module_equals_nnx_grouped_conv_with_the_same_kernel():
    conv = nnx.Conv(
        6,
        6,
        (3, 3),
        strides=2,
        padding=((1, 1), (1, 1)),
        feature_group_count=6,
        use_bias=False,
        rngs=nnx.Rngs(0),
    )
    ours = DepthwiseConv(6, 3, 2, 1, kernel_init=nnx.initializers.lecun_normal(), rngs=nnx.Rngs(1))
    assert ours.kernel.shape == conv.kernel.shape  # same state layout: converters unchanged
    ours.kernel[...] = conv.kernel[...]
    x = jnp.asarray(np.random.default_rng(1).normal(size=(2, 9, 9, 6)), jnp.float32)
    np.testing.assert_allclose(ours(x), conv(x), rtol=1e-5, atol=1e-5)


def test_mismatched_channels_raise():
    with pytest.raises(ValueError, match="do not fit"):
        depthwise_conv2d(jnp.zeros((1, 4, 4, 3)), jnp.zeros((3, 3, 2)), 1, 1)
