"""E.T.Track (Blatter et al., WACV 2023): LightTrack-Mobile backbone, pixel-wise
correlation neck and Exemplar Transformer heads, in Flax NNX.

    model = ETTrack(ETTrackConfig(), rngs=nnx.Rngs(0))
    model.eval()
    zf = model.embed_template(z)          # z [B, 127, 127, 3] RGB 0..255 -> [B, 8, 8, 96]
    out = model.track(zf, x)              # x [B, 256, 256, 3] (or 288) RGB 0..255
    out["cls"]   # [B, 16, 16, 1] logits (sigmoid = target probability)
    out["reg"]   # [B, 16, 16, 4] left, top, right, bottom distances in crop pixels

The network is the official `ET_Tracker` (pblatter/ettrack
`tracking/basic_model/et_tracker.py`, `lib/models/model_parts.py`):

    backbone  LightTrack-Mobile (jaxmot.sot.lighttrack), 96 channels, stride 16
    neck      separate BatchNorms for template and search features (MC_BN), pixel-wise
              correlation (one channel per template position: 8 * 8 = 64), channel
              attention (CAModule: avg-pool, 1x1 conv 64 -> 64, ReLU, 1x1, sigmoid,
              multiply), 1x1 conv 64 -> 128 (with bias); the same map feeds both heads
    cls head  separable conv 5x5 128 -> 256 (+BN+ReLU), E.T. layers k = 5, 3, 3, 3,
              separable conv 3x3, conv 3x3 -> 1 (with bias), times 0.1
    reg head  separable conv 3x3 128 -> 192, E.T. layers k = 3, 3, 3, 3, 5, 5,
              separable conv 5x5, ReLU(conv 3x3 -> 4) * 16

A separable conv here is the official `SeparableConv2d_BNReLU`: depth-wise k x k (no
bias), 1x1 (no bias), BN, ReLU; no norm or activation between the two convs.

The template/search split follows the official tracker: `template()` keeps only the
backbone features, and `track()` applies the template BatchNorm of the neck to them at
every frame; `embed_template` / `track` here do the same, so a tracker computes
`embed_template` once per target.

Inputs are raw RGB pixels, 0..255 (uint8 or float, as cropped with mean-colour
padding); `preprocess` divides by 255 and normalises with ImageNet's mean and std as
the official tracker's `normalize` does.

Modes follow NNX: `model.eval()` for tracking (running BN statistics, no dropout);
`model.train()` (the default) uses batch statistics and dropout from the `dropout`
stream of the `rngs` given at construction. One training difference from torch: the
nnx.BatchNorm layers (backbone, neck, separable convs) fold the biased batch variance
into their running variance, torch the unbiased one; the E.T. layers' BatchNorms
follow torch. Evaluation is unaffected.

Building a concrete model compiles one random initialiser per parameter shape, slow on
a small CPU (tens of seconds for the full model); to load a checkpoint, build it with
`nnx.eval_shape` instead (`jaxmot.sot.convert`).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
from flax import nnx
from jax.typing import DTypeLike

from jaxmot.core.images import imagenet_normalize
from jaxmot.core.nn import batch_norm, conv2d, conv_bn, torch_default_init
from jaxmot.sot.correlation import pixelwise_correlation
from jaxmot.sot.depthwise_conv import DepthwiseConv
from jaxmot.sot.exemplar import ExemplarConfig
from jaxmot.sot.exemplar_layer import ExemplarTransformerLayer
from jaxmot.sot.lighttrack import LightTrackBackbone


@dataclasses.dataclass(frozen=True)
class ETTrackConfig:
    """E.T.Track's architecture. Defaults: the shipped tracker (`ET_Tracker` built by
    pblatter/ettrack `pytracking/parameter/et_tracker/et_tracker.py`).

    backbone_width: LightTrack-Mobile channel multiplier (1.0: 96 output channels).
    template_size: template crop side (127: the tracker's exemplar_size with even=0).
    search_size: search crop side (small_sz 256); big_search_size for tiny targets
      (big_sz 288, used when the target covers < 0.4% of the image).
    stride: backbone stride (16).
    adj_channels: channels after the neck's 1x1 conv (adj_channel=128).
    ca_reduction: CAModule reduction (1: 64 -> 64 -> 64).
    cls_channels / reg_channels: head widths (outchannels_cls=256, outchannels_reg=192).
    cls_kernels / reg_kernels: kernel of the first separable conv, of each E.T. layer,
      then of the last separable conv (cls_branch_1..6, bbreg_branch_1..8).
    cls_scale: cls_pred_head multiplies its conv by 0.1.
    reg_scale: reg_pred_head (linear_reg=True) multiplies ReLU(conv) by its stride, 16.
    exemplar: the E.T. layers' config (shared by all layers of both heads).
    """

    backbone_width: float = 1.0
    template_size: int = 127
    search_size: int = 256
    big_search_size: int = 288
    stride: int = 16
    adj_channels: int = 128
    ca_reduction: int = 1
    cls_channels: int = 256
    reg_channels: int = 192
    cls_kernels: tuple[int, ...] = (5, 5, 3, 3, 3, 3)
    reg_kernels: tuple[int, ...] = (3, 3, 3, 3, 3, 5, 5, 5)
    cls_scale: float = 0.1
    reg_scale: float = 16.0
    exemplar: ExemplarConfig = ExemplarConfig()

    def __post_init__(self):
        for name in ("cls_kernels", "reg_kernels"):
            ks = getattr(self, name)
            if len(ks) < 2 or any(k % 2 == 0 for k in ks):
                raise ValueError(f"ETTrackConfig.{name} needs >= 2 odd kernel sizes, got {ks}")
        if self.stride != 16:
            raise ValueError(f"the LightTrack-Mobile backbone has stride 16, got {self.stride}")

    @classmethod
    def narrow(cls) -> ETTrackConfig:
        """The same structure, narrow enough to test and train on a CPU (355,797
        parameters, 1.42 MB in float32; the full model has 9,047,221, 36.2 MB): backbone
        width 0.25 (24 channels), neck 32, heads 48 / 32, E.T. query 32 and FFN 96."""
        return cls(
            backbone_width=0.25,
            adj_channels=32,
            cls_channels=48,
            reg_channels=32,
            exemplar=ExemplarConfig(query_dim=32, ffn_dim=96),
        )

    def feature_size(self, image_size: int) -> int:
        """Side of the stride-16 feature map of a crop: ceil halving at each of the four
        stride-2 convs (127 -> 8, 256 -> 16, 288 -> 18)."""
        for _ in range(int(math.log2(self.stride))):
            image_size = -(-image_size // 2)
        return image_size

    @property
    def template_positions(self) -> int:
        """Channels of the pixel-wise correlation: template feature positions (64)."""
        return self.feature_size(self.template_size) ** 2


class SeparableConvBNReLU(nnx.Module):
    """Official SeparableConv2d_BNReLU: depth-wise k x k, 1x1, BN, ReLU (convs unbiased)."""

    def __init__(self, in_ch: int, out_ch: int, size: int, *, dtype=None, rngs: nnx.Rngs):
        init = torch_default_init(size * size)  # fan_in of a depth-wise kernel: 1 * k * k
        self.depthwise = DepthwiseConv(in_ch, size, kernel_init=init, dtype=dtype, rngs=rngs)
        self.pointwise, self.bn = conv_bn(in_ch, out_ch, 1, dtype=dtype, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return jax.nn.relu(self.bn(self.pointwise(self.depthwise(x))))


class ChannelAttention(nnx.Module):
    """Official CAModule: x * sigmoid(fc2(ReLU(fc1(mean over H, W of x)))), 1x1 convs."""

    def __init__(self, channels: int, reduction: int = 1, *, dtype=None, rngs: nnx.Rngs):
        self.fc1 = conv2d(channels, channels // reduction, 1, dtype=dtype, rngs=rngs)
        self.fc2 = conv2d(channels // reduction, channels, 1, dtype=dtype, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        s = jnp.mean(x, axis=(1, 2), keepdims=True)
        return x * jax.nn.sigmoid(self.fc2(jax.nn.relu(self.fc1(s))))


def _tower(
    in_ch: int, ch: int, kernels: tuple[int, ...], config: ExemplarConfig, dtype, rngs
) -> nnx.List:
    """Separable conv in_ch -> ch, E.T. layers, separable conv ch -> ch."""
    first, *middle, last = kernels
    layers = [SeparableConvBNReLU(in_ch, ch, first, dtype=dtype, rngs=rngs)]
    layers += [ExemplarTransformerLayer(ch, k, config, rngs=rngs) for k in middle]
    layers.append(SeparableConvBNReLU(ch, ch, last, dtype=dtype, rngs=rngs))
    return nnx.List(layers)


def preprocess(images: jax.Array) -> jax.Array:
    """RGB pixels 0..255 [..., 3] (uint8 or float) -> float32 / 255, ImageNet-normalised
    (the official tracker's `normalize`: x /= 255; x -= mean; x /= std)."""
    return imagenet_normalize(images)


class ETTrack(nnx.Module):
    """E.T.Track: template z and search x (RGB 0..255) -> cls logits and box distances.

    Args:
      config: architecture (`ETTrackConfig()` = the shipped tracker,
        `ETTrackConfig.narrow()` for CPU tests).
      dtype: computation dtype of the convolutions; parameters stay float32.
      rngs: `params` for initialisation, `dropout` for the E.T. layers in train mode.
    """

    def __init__(self, config: ETTrackConfig, *, dtype: DTypeLike | None = None, rngs: nnx.Rngs):
        self.config = config
        self.backbone = LightTrackBackbone(width_mult=config.backbone_width, dtype=dtype, rngs=rngs)
        c = self.backbone.out_channels
        positions = config.template_positions
        self.neck_template_bn = batch_norm(c, dtype=dtype, rngs=rngs)
        self.neck_search_bn = batch_norm(c, dtype=dtype, rngs=rngs)
        self.channel_attention = ChannelAttention(
            positions, config.ca_reduction, dtype=dtype, rngs=rngs
        )
        self.adjust = conv2d(positions, config.adj_channels, 1, dtype=dtype, rngs=rngs)
        tower = functools.partial(_tower, config=config.exemplar, dtype=dtype, rngs=rngs)
        self.cls_tower = tower(config.adj_channels, config.cls_channels, config.cls_kernels)
        self.cls_pred = conv2d(config.cls_channels, 1, 3, dtype=dtype, rngs=rngs)
        self.reg_tower = tower(config.adj_channels, config.reg_channels, config.reg_kernels)
        self.reg_pred = conv2d(config.reg_channels, 4, 3, dtype=dtype, rngs=rngs)

    def embed_template(self, z: jax.Array) -> jax.Array:
        """z [B, 127, 127, 3] RGB 0..255 -> backbone features zf [B, 8, 8, C] (the neck's
        template BatchNorm is applied in `track`, as in the official tracker)."""
        return self.backbone(preprocess(z))

    def track(self, zf: jax.Array, x: jax.Array) -> dict[str, jax.Array]:
        """zf [B, h, w, C] from `embed_template`, x [B, S, S, 3] RGB 0..255 (S = 256 or
        288) -> {"cls": [B, S/16, S/16, 1] logits, "reg": [B, S/16, S/16, 4]}.

        reg holds left, top, right, bottom distances in crop pixels from cell (i, j)'s
        grid point, which the official tracker (`grids`) places at (16 j, 16 i) in the
        crop (x, y): box = (16 j - l, 16 i - t, 16 j + r, 16 i + b)."""
        positions = zf.shape[1] * zf.shape[2]
        if positions != self.config.template_positions:
            raise ValueError(
                f"template features {zf.shape} have {positions} positions, the neck expects "
                f"{self.config.template_positions} (template crops of "
                f"{self.config.template_size} px)"
            )
        xf = self.backbone(preprocess(x))
        corr = pixelwise_correlation(self.neck_template_bn(zf), self.neck_search_bn(xf))
        feat = self.adjust(self.channel_attention(corr))

        c = feat
        for layer in self.cls_tower:
            c = layer(c)
        b = feat
        for layer in self.reg_tower:
            b = layer(b)
        return {
            "cls": self.config.cls_scale * self.cls_pred(c),
            "reg": jax.nn.relu(self.reg_pred(b)) * self.config.reg_scale,
        }

    def __call__(self, z: jax.Array, x: jax.Array) -> dict[str, jax.Array]:
        """Template and search crops (RGB 0..255) -> {"cls", "reg"} as in `track`."""
        return self.track(self.embed_template(z), x)


__all__ = [
    "ChannelAttention",
    "ETTrack",
    "ETTrackConfig",
    "SeparableConvBNReLU",
    "preprocess",
]
