"""Shared Flax NNX building blocks for networks ported from PyTorch.

The models here are checked against their PyTorch originals, so the pieces reproduce
torch's conventions exactly:

  torch_default_init(fan_in)   torch's default Conv2d / Linear init for weights and
                               biases: U(+-1/sqrt(fan_in)) (kaiming_uniform, a = sqrt(5)).
  kaiming_normal_fan_out()     torchvision ResNet's conv init, kaiming_normal_(mode=
                               "fan_out", nonlinearity="relu"): N(0, 2 / (k * k * out)).
  efficientnet_normal(groups)  timm's EfficientNet conv init (`_init_weight_goog`):
                               N(0, 2 / fan_out) with fan_out = k * k * out / groups.
  conv2d(...)                  nnx.Conv laid out as torch.nn.Conv2d: explicit symmetric
                               zero padding (not "SAME"), groups, torch's default init.
  batch_norm(...)              nnx.BatchNorm with torch.nn.BatchNorm2d's defaults.
  conv_bn(...)                 the (unbiased conv, BatchNorm) pair most CNN blocks start
                               with; the caller applies the activation and names the two
                               layers as the torch module does (conv1 / bn1, ...).

The two normal initialisers are the same distribution for groups = 1 but not the same
float32 numbers (the standard deviation is rounded differently), so each model keeps
the one it has always used and its random weights do not move.

Convolution kernels are HWIO: [k, k, in / groups, out]; activations NHWC.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx
from jax.typing import DTypeLike

# torch.nn.BatchNorm2d defaults. torch updates running = (1 - m) * running + m * batch
# with m = 0.1; flax keeps m * running + (1 - m) * batch, so m = 0.9 here.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5

Initializer = Callable[..., jax.Array]  # (key, shape, dtype) -> array


def torch_default_init(fan_in: int) -> Initializer:
    """torch's default Conv2d / Linear init for weights and biases: U(+-1/sqrt(fan_in)),
    fan_in = in / groups * k * k for a conv, in for a Linear."""
    bound = 1.0 / math.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def kaiming_normal_fan_out() -> Initializer:
    """torchvision ResNet's conv init: kaiming_normal_(mode="fan_out", nonlinearity="relu"),
    N(0, 2 / (k * k * out)) for an HWIO kernel."""
    return nnx.initializers.variance_scaling(2.0, "fan_out", "normal")


def efficientnet_normal(groups: int = 1) -> Initializer:
    """timm's EfficientNet conv init (`_init_weight_goog`): N(0, 2 / fan_out), fan_out =
    k * k * out / groups for an HWIO kernel [k, k, in / groups, out]."""

    def init(key, shape, dtype=jnp.float32):
        kh, kw, _, out = shape
        std = math.sqrt(2.0 / (kh * kw * out // groups))
        return std * jax.random.normal(key, shape, dtype)

    return init


def conv2d(
    in_ch: int,
    out_ch: int,
    size: int,
    stride: int = 1,
    *,
    padding: int | None = None,
    groups: int = 1,
    bias: bool = True,
    kernel_init: Initializer | None = None,
    bias_init: Initializer | None = None,
    dtype: DTypeLike | None = None,
    rngs: nnx.Rngs,
) -> nnx.Conv:
    """A torch.nn.Conv2d(in_ch, out_ch, size, stride, padding, groups=groups, bias=bias)
    as nnx.Conv: [B, H, W, in_ch] -> [B, Ho, Wo, out_ch].

    padding: symmetric zero padding on each side (default (size - 1) // 2, which keeps
      the size at stride 1 for odd kernels). Explicit rather than "SAME" so strided
      outputs match torch exactly.
    kernel_init, bias_init: default to torch's (`torch_default_init` with fan_in =
      in_ch / groups * size * size).
    dtype: computation dtype; parameters stay float32.
    """
    pad = (size - 1) // 2 if padding is None else padding
    default = torch_default_init(in_ch // groups * size * size)
    return nnx.Conv(
        in_ch,
        out_ch,
        (size, size),
        strides=stride,
        padding=((pad, pad), (pad, pad)),
        feature_group_count=groups,
        use_bias=bias,
        kernel_init=default if kernel_init is None else kernel_init,
        bias_init=default if bias_init is None else bias_init,
        dtype=dtype,
        rngs=rngs,
    )


def batch_norm(
    channels: int,
    *,
    use_bias: bool = True,
    scale_init: Initializer | None = None,
    dtype: DTypeLike | None = None,
    rngs: nnx.Rngs,
) -> nnx.BatchNorm:
    """nnx.BatchNorm over the last axis with torch.nn.BatchNorm2d's momentum and epsilon.

    use_bias: False for a BN without a shift parameter. scale_init: the scale's init
    (default ones, as torch)."""
    return nnx.BatchNorm(
        channels,
        use_bias=use_bias,
        momentum=BN_MOMENTUM,
        epsilon=BN_EPSILON,
        scale_init=nnx.initializers.ones if scale_init is None else scale_init,
        dtype=dtype,
        rngs=rngs,
    )


def conv_bn(
    in_ch: int,
    out_ch: int,
    size: int,
    stride: int = 1,
    *,
    bn_scale_init: Initializer | None = None,
    dtype: DTypeLike | None = None,
    rngs: nnx.Rngs,
    **conv_options,
) -> tuple[nnx.Conv, nnx.BatchNorm]:
    """`conv2d` without bias, then `batch_norm` over its out_ch channels (created in that
    order, so the parameter keys are drawn in torch's module order).

    conv_options: padding, groups, kernel_init as in `conv2d`; bn_scale_init is
    `batch_norm`'s scale_init."""
    conv = conv2d(in_ch, out_ch, size, stride, bias=False, dtype=dtype, rngs=rngs, **conv_options)
    return conv, batch_norm(out_ch, scale_init=bn_scale_init, dtype=dtype, rngs=rngs)


__all__ = [
    "BN_EPSILON",
    "BN_MOMENTUM",
    "batch_norm",
    "conv2d",
    "conv_bn",
    "efficientnet_normal",
    "kaiming_normal_fan_out",
    "torch_default_init",
]
