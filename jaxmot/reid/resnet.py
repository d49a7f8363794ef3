"""ResNet-18/34/50 backbones (He et al. 2016) in Flax NNX, laid out like torchvision.

Images are NHWC: [B, H, W, 3] float32, ImageNet-normalised. The output is the last feature
map [B, H/32, W/32, C] (no pooling, no classifier): C = 8 * width for ResNet-18/34 and
32 * width for ResNet-50 (512 and 2048 at the torchvision width 64).

Names follow torchvision so that `jaxmot.core.torch_io` is a one-to-one mapping:
conv1, bn1, layer1..layer4 (lists of blocks), each block conv1/bn1, conv2/bn2 (and
conv3/bn3 in a Bottleneck), downsample = [1x1 conv, BatchNorm]. NNX calls the BatchNorm
statistics scale/bias/mean/var where torch says weight/bias/running_mean/running_var.
Padding is explicit (torch style), not "SAME", so that outputs match torch exactly.

Two knobs beyond torchvision:
  width: base channel count (64 in torchvision). width 16 gives a network 16x smaller
    (1/4 of the channels everywhere), quick to train on a CPU and a checkpoint of a few MB.
  last_stride: stride of layer4. torchvision uses 2 (default here); person re-ID commonly
    uses 1 (Luo et al. 2019, "Bag of tricks"), which keeps a [H/16, W/16] map.
"""

from __future__ import annotations

import jax
from flax import nnx
from jax.typing import DTypeLike

from jaxmot.core.nn import conv_bn, kaiming_normal_fan_out

# depth -> (block kind, blocks per stage), He et al. 2016 table 1.
STAGES: dict[int, tuple[str, tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
}

# torchvision initialises convolutions with kaiming_normal_(mode="fan_out", relu).
_KAIMING_FAN_OUT = kaiming_normal_fan_out()


def _conv_bn(
    in_ch: int, out_ch: int, size: int, stride: int, *, dtype: DTypeLike | None, rngs: nnx.Rngs
) -> tuple[nnx.Conv, nnx.BatchNorm]:
    """An unbiased size x size conv (padding (size - 1) // 2) and its BatchNorm."""
    return conv_bn(
        in_ch, out_ch, size, stride, kernel_init=_KAIMING_FAN_OUT, dtype=dtype, rngs=rngs
    )


def _downsample(
    in_ch: int, out_ch: int, stride: int, *, dtype: DTypeLike | None, rngs: nnx.Rngs
) -> nnx.List | None:
    """1x1 conv + BN on the shortcut when the block changes resolution or channels."""
    if stride == 1 and in_ch == out_ch:
        return None
    return nnx.List(_conv_bn(in_ch, out_ch, 1, stride, dtype=dtype, rngs=rngs))


def _shortcut(downsample: nnx.List | None, x: jax.Array) -> jax.Array:
    """The residual branch: identity, or the 1x1 conv + BN of `_downsample`."""
    return x if downsample is None else downsample[1](downsample[0](x))


class BasicBlock(nnx.Module):
    """Two 3x3 convs (ResNet-18/34); the stride sits on conv1. Output channels = channels."""

    expansion = 1

    def __init__(
        self,
        in_ch: int,
        channels: int,
        stride: int,
        *,
        dtype: DTypeLike | None = None,
        rngs: nnx.Rngs,
    ):
        self.conv1, self.bn1 = _conv_bn(in_ch, channels, 3, stride, dtype=dtype, rngs=rngs)
        self.conv2, self.bn2 = _conv_bn(channels, channels, 3, 1, dtype=dtype, rngs=rngs)
        self.downsample = _downsample(in_ch, channels, stride, dtype=dtype, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        """x: [B, H, W, in_ch] -> [B, H / stride, W / stride, channels]."""
        shortcut = _shortcut(self.downsample, x)
        y = nnx.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return nnx.relu(y + shortcut)


class Bottleneck(nnx.Module):
    """1x1 reduce, 3x3, 1x1 expand (ResNet-50). Output channels = 4 * channels.

    The stride sits on the 3x3 conv2, as in torchvision ("ResNet v1.5"), not on conv1 as in
    the original paper; the checkpoints torchvision ships assume this.
    """

    expansion = 4

    def __init__(
        self,
        in_ch: int,
        channels: int,
        stride: int,
        *,
        dtype: DTypeLike | None = None,
        rngs: nnx.Rngs,
    ):
        out_ch = channels * self.expansion
        self.conv1, self.bn1 = _conv_bn(in_ch, channels, 1, 1, dtype=dtype, rngs=rngs)
        self.conv2, self.bn2 = _conv_bn(channels, channels, 3, stride, dtype=dtype, rngs=rngs)
        self.conv3, self.bn3 = _conv_bn(channels, out_ch, 1, 1, dtype=dtype, rngs=rngs)
        self.downsample = _downsample(in_ch, out_ch, stride, dtype=dtype, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        """x: [B, H, W, in_ch] -> [B, H / stride, W / stride, 4 * channels]."""
        shortcut = _shortcut(self.downsample, x)
        y = nnx.relu(self.bn1(self.conv1(x)))
        y = nnx.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return nnx.relu(y + shortcut)


class ResNet(nnx.Module):
    """ResNet backbone: images [B, H, W, 3] -> feature map [B, H/32, W/32, out_channels].

    Args:
      depth: 18, 34 or 50.
      width: base channels (torchvision: 64). Stage k has width * 2**k channels per block
        (times 4 at a Bottleneck's output).
      last_stride: stride of layer4: 2 as torchvision (default), 1 for person re-ID
        (then the map is [B, H/16, W/16, C]).
      dtype: computation dtype (e.g. jnp.bfloat16 on an accelerator); parameters and batch
        statistics stay float32.

    BatchNorm follows NNX modes: `model.train()` (the default) normalises with batch
    statistics and updates the running ones; `model.eval()` uses the running statistics.

    Attributes:
      out_channels: C of the output map. stride: total downsampling (32, or 16).
    """

    def __init__(
        self,
        depth: int,
        width: int = 64,
        last_stride: int = 2,
        *,
        stem_relu: bool = True,
        dtype: DTypeLike | None = None,
        rngs: nnx.Rngs,
    ):
        if depth not in STAGES:
            raise ValueError(f"ResNet depth must be one of {sorted(STAGES)}, got {depth}")
        if last_stride not in (1, 2):
            raise ValueError(f"last_stride must be 1 or 2, got {last_stride}")
        kind, counts = STAGES[depth]
        block = BasicBlock if kind == "basic" else Bottleneck
        self.depth, self.width, self.last_stride = depth, width, last_stride
        self.stem_relu = stem_relu

        self.conv1, self.bn1 = _conv_bn(3, width, 7, 2, dtype=dtype, rngs=rngs)
        in_ch = width
        stages = []
        for k, count in enumerate(counts):
            channels = width * 2**k
            first_stride = 1 if k == 0 else (last_stride if k == 3 else 2)
            blocks = []
            for i in range(count):
                stride = first_stride if i == 0 else 1
                blocks.append(block(in_ch, channels, stride, dtype=dtype, rngs=rngs))
                in_ch = channels * block.expansion
            stages.append(nnx.List(blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.out_channels = in_ch
        self.stride = 16 * last_stride

    def __call__(self, images: jax.Array) -> jax.Array:
        """images: [B, H, W, 3] -> [B, ceil(H / stride), ceil(W / stride), out_channels]."""
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(
                f"ResNet expects NHWC images [B, H, W, 3], got shape {tuple(images.shape)}"
            )
        x = self.bn1(self.conv1(images))
        if self.stem_relu:  # the "Bag of tricks" reference ResNet has none here
            x = nnx.relu(x)
        # torch pads max-pooling with -inf; flax's max_pool does the same.
        x = nnx.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in stage:
                x = block(x)
        return x
