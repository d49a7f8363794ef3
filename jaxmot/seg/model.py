"""Object segmenters on ViT patch features, and PAC joint upsamplers.

`linear` and `pac` reimplement the heads of an object-segmentation teaching exercise
("the exercise" below means its reference code; see docs/seg.md); PAC is the
pixel-adaptive convolution of Su et al. (CVPR 2019, NVlabs/pacnet).

Four heads share one config (`SegmenterConfig.kind`):

    linear  LinearProbe: 1x1 conv 384 -> 1 on the patch features; logits at patch
            resolution [B, H/P, W/P, 1] (the exercise's linear probe).
    pac     PacUpsampler(in_features=384): 1x1 conv 384 -> 16 + LeakyReLU, then per
            stage nearest 2x upsampling and a 3x3 PAC conv guided by the image resized
            to that stage, channels 16 -> 4 -> 4 -> 4 -> 1 (exercise); logits at image
            resolution [B, H, W, 1]. log2(P) stages (4 for ViT-S/16, 3 for ViT-S/8).
    joint   PacUpsampler(in_features=1): the same stages on any 1-channel low-resolution
            map (a coarse mask, a probe's probabilities, a depth map), so PAC upsampling
            can be trained and measured on its own.
    pacnet  PacnetSegmenter: pacnet's own joint upsampling network
            (jaxmot.seg.joint_upsample.PacJointUpsample, factor P) on the same 1-channel
            map; it regresses the mask itself (values, not logits) and trains with
            pacnet's L2 loss (`pacnet_l2_loss`).

`linear`, `pac` and `joint` return logits (`jax.nn.sigmoid` gives the mask probability;
`segmentation_loss` is the exercise's BCE); `probabilities` turns any head's output into
a probability. The guide of `pac` and `joint` is the RGB image normalised with
ImageNet's mean and std (the scale DINO's input has), resized to each stage with
antialiased bilinear resampling, as the exercise's head has it. `learn_guide_scale` adds
a learnable per-channel scale on that guide: a jaxmot option that neither the exercise
nor pacnet has (pacnet's learnable kernel parameters are `inv_alpha` / `inv_lambda` of
its `inv_*` kernel types, unused by its default Gaussian kernel), off by default.
`pacnet` scales the guide as pacnet does, image / 255, and learns its own guide features.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from flax import nnx

from jaxmot.seg.joint_upsample import PacJointConfig, PacJointUpsample
from jaxmot.seg.pac_layers import PacConv2d
from jaxmot.seg.vit import dino_preprocess

KINDS = ("linear", "pac", "joint", "pacnet")
JOINT_KINDS = ("joint", "pacnet")  # heads that upsample a 1-channel low-resolution map


@dataclasses.dataclass(frozen=True)
class SegmenterConfig:
    """kind: linear | pac | joint | pacnet (see the module docstring).

    feature_dim: channels of the patch features (384 for ViT-S); `joint` and `pacnet`
      read 1.
    patch_size: upsampling factor of `pac`, `joint` and `pacnet` (a power of two; 16 for
      ViT-S/16).
    channels: output channels of the 1x1 input conv and of every PAC stage (the
      exercise's: 16 -> 4 -> 4 -> 4 -> 1); its length must be log2(patch_size) + 1.
    kernel_size: PAC kernel size (3 in the exercise). normalize: divide by the window's
      kernel sum (PAC option; off in the exercise). learn_guide_scale: a learnable
      per-channel scale on the guide (exp(log_scale) * guide), a jaxmot option that
      neither the exercise nor pacnet has; off unless a preset turns it on.
    pacnet: the `pacnet` head's network (pacnet's defaults); `channels`, `kernel_size`,
      `normalize`, `learn_guide_scale` and `negative_slope` do not apply to it.
    """

    kind: str = "pac"
    feature_dim: int = 384
    patch_size: int = 16
    channels: tuple[int, ...] = (16, 4, 4, 4, 1)
    kernel_size: int = 3
    normalize: bool = False
    learn_guide_scale: bool = False
    negative_slope: float = 0.01  # torch.nn.LeakyReLU's default
    pacnet: PacJointConfig = PacJointConfig()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"SegmenterConfig.kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "linear":
            return
        stages = math.log2(self.patch_size)
        if self.patch_size < 2 or stages != int(stages):
            raise ValueError(f"patch_size must be a power of two >= 2, got {self.patch_size}")
        if self.kind == "pacnet":
            if self.pacnet.channels != 1:
                raise ValueError("the pacnet head upsamples 1-channel maps: pacnet.channels=1")
            return
        if len(self.channels) != int(stages) + 1:
            raise ValueError(
                f"channels needs log2(patch_size) + 1 = {int(stages) + 1} entries for "
                f"patch_size {self.patch_size}, got {self.channels}"
            )
        if self.channels[-1] != 1:
            raise ValueError(f"the last stage must output 1 channel, got {self.channels}")

    @property
    def in_features(self) -> int:
        return 1 if self.kind in JOINT_KINDS else self.feature_dim


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


class PacnetSegmenter(nnx.Module):
    """pacnet's PacJointUpsample (factor patch_size) as a segmentation head: low
    [B, h, w, 1] (a soft low-resolution mask) + image [B, P*h, P*w, 3] (0-255)
    -> the upsampled mask [B, P*h, P*w, 1] as values (pacnet regresses its target; 0.5
    is the mask threshold), not logits."""

    def __init__(self, config: SegmenterConfig, rngs: nnx.Rngs):
        self.config = config
        self.net = PacJointUpsample(config.patch_size, config.pacnet, rngs=rngs)

    def __call__(self, low: jax.Array, images: jax.Array) -> jax.Array:
        return self.net(low, images)


Segmenter = LinearProbe | PacUpsampler | PacnetSegmenter


def build_segmenter(config: SegmenterConfig, rngs: nnx.Rngs) -> Segmenter:
    if config.kind == "linear":
        return LinearProbe(config, rngs)
    if config.kind == "pacnet":
        return PacnetSegmenter(config, rngs)
    return PacUpsampler(config, rngs)


def probabilities(kind: str, outputs: jax.Array) -> jax.Array:
    """A head's outputs -> mask probabilities: sigmoid of the logits of `linear`, `pac`
    and `joint`; the `pacnet` head's regressed values clipped to [0, 1]."""
    if kind == "pacnet":
        return jnp.clip(outputs, 0.0, 1.0)
    return jax.nn.sigmoid(outputs)


def pacnet_l2_loss(model: PacnetSegmenter, low, images, masks, valid=None):
    """pacnet's training loss (task_jointUpsampling/main.py, `--loss l2`, its default):
    mean squared error between the network's output in the normalised target scale and
    the full-resolution target scaled by the low-resolution input's range,
    mse(y_n, (mask - low_min) / scale).

    low [B, h, w, 1]; images [B, H, W, 3]; masks [B, H, W] {0, 1}; valid: optional [B]
    mask of real samples. Returns (loss, outputs [B, H, W, 1] in mask units).
    """
    y_n, lo, scale = model.net.normalized(low, images)
    y_n = y_n.astype(jnp.float32)  # bfloat16 compute: f32 loss
    target = (masks.astype(jnp.float32)[..., None] - lo) / scale
    per_pixel = jnp.square(y_n - target)
    if valid is None:
        loss = jnp.mean(per_pixel)
    else:
        w = jnp.broadcast_to(valid.reshape(-1, 1, 1, 1), per_pixel.shape).astype(jnp.float32)
        loss = jnp.sum(per_pixel * w) / jnp.maximum(jnp.sum(w), 1.0)
    return loss, y_n * scale + lo


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
    "JOINT_KINDS",
    "KINDS",
    "LinearProbe",
    "PacUpsampler",
    "PacnetSegmenter",
    "SegmenterConfig",
    "Segmenter",
    "build_segmenter",
    "image_guide",
    "pacnet_l2_loss",
    "probabilities",
    "resize_guide",
    "segmentation_loss",
    "upsample_nearest",
]
