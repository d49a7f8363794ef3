"""Object segmenters on ViT patch features, and a PAC joint upsampler.

`linear` and `pac` reimplement the heads of an object-segmentation teaching exercise
("the exercise" below means its reference code; see docs/seg.md); PAC is the
pixel-adaptive convolution of Su et al. (CVPR 2019, NVlabs/pacnet).

Three heads share one config (`SegmenterConfig.kind`):

    linear  LinearProbe: 1x1 conv 384 -> 1 on the patch features; logits at patch
            resolution [B, H/P, W/P, 1] (the exercise's linear probe).
    pac     PacUpsampler(in_features=384): 1x1 conv 384 -> 16 + LeakyReLU, then per
            stage nearest 2x upsampling and a 3x3 PAC conv guided by the image resized
            to that stage, channels 16 -> 4 -> 4 -> 4 -> 1 (exercise); logits at image
            resolution [B, H, W, 1]. log2(P) stages (4 for ViT-S/16, 3 for ViT-S/8).
    joint   PacUpsampler(in_features=1): the same stages on any 1-channel low-resolution
            map (a coarse mask, a probe's probabilities, a depth map), so PAC upsampling
            can be trained and measured on its own.

Every head returns logits; `jax.nn.sigmoid` gives the mask probability and
`segmentation_loss` is the exercise's BCE. The guide is the RGB image normalised with
ImageNet's mean and std (the scale DINO's input has), resized to each stage with
antialiased bilinear resampling; PAC's Gaussian kernel compares these values, so a
per-channel learnable guide scale (the PAC paper's learnable kernel bandwidth) is on by
default.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from flax import nnx

from jaxmot.seg.pac_layers import PacConv2d
from jaxmot.seg.vit import dino_preprocess

KINDS = ("linear", "pac", "joint")


@dataclasses.dataclass(frozen=True)
class SegmenterConfig:
    """kind: linear | pac | joint (see the module docstring).

    feature_dim: channels of the patch features (384 for ViT-S); `joint` reads 1.
    patch_size: upsampling factor of `pac` and `joint` (a power of two; 16 for ViT-S/16).
    channels: output channels of the 1x1 input conv and of every PAC stage (the
      exercise's: 16 -> 4 -> 4 -> 4 -> 1); its length must be log2(patch_size) + 1.
    kernel_size: PAC kernel size (3 in the exercise). normalize: divide by the window's
      kernel sum (PAC option; off in the exercise). learn_guide_scale: the PAC paper's
      learnable per-channel scale on the guide features.
    """

    kind: str = "pac"
    feature_dim: int = 384
    patch_size: int = 16
    channels: tuple[int, ...] = (16, 4, 4, 4, 1)
    kernel_size: int = 3
    normalize: bool = False
    learn_guide_scale: bool = True
    negative_slope: float = 0.01  # torch.nn.LeakyReLU's default

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"SegmenterConfig.kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "linear":
            return
        stages = math.log2(self.patch_size)
        if self.patch_size < 2 or stages != int(stages):
            raise ValueError(f"patch_size must be a power of two >= 2, got {self.patch_size}")
        if len(self.channels) != int(stages) + 1:
            raise ValueError(
                f"channels needs log2(patch_size) + 1 = {int(stages) + 1} entries for "
                f"patch_size {self.patch_size}, got {self.channels}"
            )
        if self.channels[-1] != 1:
            raise ValueError(f"the last stage must output 1 channel, got {self.channels}")

    @property
    def in_features(self) -> int:
        return 1 if self.kind == "joint" else self.feature_dim


def image_guide(images: jax.Array) -> jax.Array:
    """uint8 or [0, 255] float RGB [B, H, W, 3] -> ImageNet-normalised float32 (the
    scale of DINO's input)."""
    return dino_preprocess(images)


def resize_guide(guide: jax.Array, height: int, width: int) -> jax.Array:
    """[B, H, W, C] -> [B, height, width, C], antialiased bilinear."""
    if guide.shape[1:3] == (height, width):
        return guide
    b, _, _, c = guide.shape
    return jax.image.resize(guide, (b, height, width, c), "linear", antialias=True)


def upsample_nearest(x: jax.Array, factor: int = 2) -> jax.Array:
    """[B, h, w, C] -> [B, factor*h, factor*w, C] (torch's nearest upsampling)."""
    return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


class LinearProbe(nnx.Module):
    """1x1 conv feature_dim -> 1: features [B, h, w, D] -> logits [B, h, w, 1]."""

    def __init__(self, config: SegmenterConfig, rngs: nnx.Rngs):
        self.config = config
        self.conv = nnx.Conv(config.feature_dim, 1, (1, 1), rngs=rngs)

    def __call__(self, features: jax.Array, images: jax.Array | None = None) -> jax.Array:
        del images  # the probe sees the features only
        return self.conv(features)


class PacUpsampler(nnx.Module):
    """Low-resolution input [B, h, w, in_features] + image [B, P*h, P*w, 3] (uint8 or
    0-255 float) -> logits [B, P*h, P*w, 1] through log2(P) PAC stages."""

    def __init__(self, config: SegmenterConfig, rngs: nnx.Rngs):
        self.config = config
        c = config.channels
        self.proj = nnx.Conv(config.in_features, c[0], (1, 1), rngs=rngs)
        self.stages = nnx.List(
            [
                PacConv2d(
                    c[i],
                    c[i + 1],
                    config.kernel_size,
                    guide_features=3,
                    normalize=config.normalize,
                    learn_guide_scale=config.learn_guide_scale,
                    rngs=rngs,
                )
                for i in range(len(c) - 1)
            ]
        )

    def __call__(self, low: jax.Array, images: jax.Array) -> jax.Array:
        p = self.config.patch_size
        b, h, w, _ = low.shape
        if images.shape[:3] != (b, p * h, p * w):
            raise ValueError(
                f"images {images.shape} must be [B, {p}*h, {p}*w, 3] for an input of shape "
                f"{low.shape} (patch size {p})"
            )
        guide = image_guide(images)
        x = jax.nn.leaky_relu(self.proj(low), self.config.negative_slope)
        for i, stage in enumerate(self.stages):
            x = upsample_nearest(x)
            x = stage(x, resize_guide(guide, x.shape[1], x.shape[2]))
            if i < len(self.stages) - 1:  # the last stage gives logits
                x = jax.nn.leaky_relu(x, self.config.negative_slope)
        return x


def build_segmenter(config: SegmenterConfig, rngs: nnx.Rngs) -> LinearProbe | PacUpsampler:
    return LinearProbe(config, rngs) if config.kind == "linear" else PacUpsampler(config, rngs)


def segmentation_loss(logits: jax.Array, masks: jax.Array, valid: jax.Array | None = None):
    """Binary cross-entropy with logits (torch's BCEWithLogitsLoss, mean reduction).

    logits: [B, H, W] or [B, H, W, 1]; masks: same spatial shape, {0, 1};
    valid: optional [B] mask of real samples (padding rows count for nothing).
    """
    logits = logits.reshape(masks.shape)
    y = masks.astype(logits.dtype)
    per_pixel = -(y * jax.nn.log_sigmoid(logits) + (1 - y) * jax.nn.log_sigmoid(-logits))
    if valid is None:
        return jnp.mean(per_pixel)
    weights = jnp.broadcast_to(valid.reshape((-1,) + (1,) * (masks.ndim - 1)), masks.shape).astype(
        logits.dtype
    )
    return jnp.sum(per_pixel * weights) / jnp.maximum(jnp.sum(weights), 1.0)


__all__ = [
    "KINDS",
    "LinearProbe",
    "PacUpsampler",
    "SegmenterConfig",
    "build_segmenter",
    "image_guide",
    "resize_guide",
    "segmentation_loss",
    "upsample_nearest",
]
