"""Flax NNX layers around the pixel-adaptive convolution ops (jaxmot.seg.pac).

Parameters, as `nnx.Conv` names and initialises them: `kernel` [k, k, Cin, Cout] (HWIO,
LeCun normal), `bias` [Cout] (zeros; None without `use_bias`), and with
`learn_guide_scale` a per-guide-channel `guide_log_scale` [Cg] (zeros, i.e. scale 1):
the guide is multiplied by exp(guide_log_scale) before the Gaussian kernel. This scale is
jaxmot's option, not pacnet's: pacnet's learnable kernel parameters are `inv_alpha` /
`inv_lambda` of its `inv_*` kernel types; its default Gaussian kernel learns nothing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jaxmot.seg.pac import pac_conv2d, pac_conv_transpose2d, scale_guide


class _PacBase(nnx.Module):
    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int,
        *,
        guide_features: int,
        normalize: bool,
        learn_guide_scale: bool,
        use_bias: bool,
        rngs: nnx.Rngs,
    ):
        if kernel_size % 2 != 1:
            raise ValueError(f"{type(self).__name__}: kernel_size must be odd, got {kernel_size}")
        self.in_features = in_features
        self.out_features = out_features
        self.guide_features = guide_features
        self.normalize = normalize
        shape = (kernel_size, kernel_size, in_features, out_features)
        self.kernel = nnx.Param(nnx.initializers.lecun_normal()(rngs.params(), shape))
        self.bias = nnx.Param(jnp.zeros((out_features,))) if use_bias else None
        self.guide_log_scale = (
            nnx.Param(jnp.zeros((guide_features,))) if learn_guide_scale else None
        )

    def _guide(self, guide: jax.Array) -> jax.Array:
        if guide.shape[-1] != self.guide_features:
            raise ValueError(
                f"{type(self).__name__}: guide has {guide.shape[-1]} channels, the layer was "
                f"built for guide_features={self.guide_features}"
            )
        if self.guide_log_scale is None:
            return guide
        return scale_guide(guide, self.guide_log_scale[...])

    def _conv(self, x: jax.Array, guide: jax.Array, kernel: jax.Array, bias) -> jax.Array:
        raise NotImplementedError

    def __call__(self, x: jax.Array, guide: jax.Array) -> jax.Array:
        bias = None if self.bias is None else self.bias[...]
        return self._conv(x, self._guide(guide), self.kernel[...], bias)


class PacConv2d(_PacBase):
    """x [B, H, W, in_features], guide [B, H, W, guide_features] -> [B, H, W, out_features].

    Stride 1, zero 'SAME' padding (`jaxmot.seg.pac.pac_conv2d`).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int = 3,
        *,
        guide_features: int,
        dilation: int = 1,
        normalize: bool = False,
        learn_guide_scale: bool = False,
        use_bias: bool = True,
        rngs: nnx.Rngs,
    ):
        super().__init__(
            in_features,
            out_features,
            kernel_size,
            guide_features=guide_features,
            normalize=normalize,
            learn_guide_scale=learn_guide_scale,
            use_bias=use_bias,
            rngs=rngs,
        )
        self.dilation = dilation

    def _conv(self, x, guide, kernel, bias):
        return pac_conv2d(x, guide, kernel, bias, dilation=self.dilation, normalize=self.normalize)


class PacConvTranspose2d(_PacBase):
    """x [B, H, W, in_features], guide [B, s*H, s*W, guide_features]
    -> [B, s*H, s*W, out_features], s = stride: sample (i, j) lands on (s*i, s*j)
    (`jaxmot.seg.pac.pac_conv_transpose2d`)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int = 3,
        *,
        guide_features: int,
        stride: int = 2,
        normalize: bool = False,
        learn_guide_scale: bool = False,
        use_bias: bool = True,
        rngs: nnx.Rngs,
    ):
        super().__init__(
            in_features,
            out_features,
            kernel_size,
            guide_features=guide_features,
            normalize=normalize,
            learn_guide_scale=learn_guide_scale,
            use_bias=use_bias,
            rngs=rngs,
        )
        self.stride = stride

    def _conv(self, x, guide, kernel, bias):
        return pac_conv_transpose2d(
            x, guide, kernel, bias, stride=self.stride, normalize=self.normalize
        )


__all__ = ["PacConv2d", "PacConvTranspose2d"]
