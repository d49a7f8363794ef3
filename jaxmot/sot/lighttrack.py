"""LightTrack-Mobile backbone (Yan et al., CVPR 2021), the one E.T.Track uses, in Flax NNX.

Images [B, H, W, 3] (ImageNet-normalised) -> features [B, ceil(H/16), ceil(W/16), 96]:
127 -> 8x8 (template), 256 -> 16x16 and 288 -> 18x18 (search).

The architecture is the searched path E.T.Track builds (`ET_Tracker(path_name=...)`,
pblatter/ettrack `tracking/basic_model/et_tracker.py`, decoded by `name2path` and
`_gen_childnet` of `supernet_backbone`):

    back_04502514044521042540+cls_211000022+reg_100000111_ops_32

The digits between the leading and trailing 0 pick, for each block of the 470-MFLOPs
supernet (blocks per stage (2, 4, 4, 4, 4)), one (kernel, expansion) of
((3, 4), (3, 6), (5, 4), (5, 6), (7, 4), (7, 6)); `ops_32` cuts the network after
block 2 of searchable stage 3 (the 96-channel, stride-16 stage). `decode_backbone_path`
does this decoding; `LIGHTTRACK_MOBILE` is its result:

    stem      conv 3x3 s2, 3 -> 16, BN, Swish
    stage 0   DS  k3          16 -> 16          (depth-wise separable, residual)
    stage 1   IR  k7 e4 s2    16 -> 24,  IR k7 e6
    stage 2   IR  k3 e4 s2    24 -> 40,  IR k5 e4, IR k7 e6, IR k3 e6
    stage 3   IR  k7 e4 s2    40 -> 80,  IR k3 e4, IR k7 e4, IR k7 e4
    stage 4   IR  k7 e6 s1    80 -> 96,  IR k5 e4, IR k3 e6

Blocks follow timm's EfficientNet units as the official code does: an inverted residual
(IR) is 1x1 expand (mid = make_divisible(in * e)), BN, Swish; k x k depth-wise (stride
on the first block of a stage only), BN, Swish; squeeze-excite (width
make_divisible(mid / 4), ReLU, hard-sigmoid gate); 1x1 project, BN; + input when stride
1 and in = out. The DS block is depth-wise k x k, BN, Swish, SE, 1x1, BN, + input. Every
activation is Swish (x * sigmoid(x); `act_layer = Swish` in `_gen_childnet`, not
hard-swish). Convolutions have no bias (SE excepted), torch-style symmetric padding
((stride - 1) + (k - 1)) // 2. BatchNorm: torch defaults (eps 1e-5, momentum 0.1).

`width_mult` scales every channel count as timm's `round_channels` does (multiples of
8): 0.5 gives a 48-channel output for a small network to test and train on a CPU.

Module names follow the official `ChildNet_FCN` (conv_stem, bn1, blocks[i][j].conv_pw /
bn1 / conv_dw / bn2 / se.conv_reduce / se.conv_expand / conv_pwl / bn3), so the
checkpoint converter is a fixed renaming.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
from flax import nnx
from jax.typing import DTypeLike

from jaxmot.core.nn import batch_norm, conv2d, conv_bn, efficientnet_normal
from jaxmot.sot.depthwise_conv import DepthwiseConv

ET_TRACK_PATH = "back_04502514044521042540+cls_211000022+reg_100000111_ops_32"
# Blocks per searchable stage of the supernet at flops_maximum=470 (`search_for_layer`).
SUPERNET_STAGE_BLOCKS = (2, 4, 4, 4, 4)
# Searchable stages: (output channels, stride of the first block) (`arch_def` stages 1-5).
SUPERNET_STAGES = ((24, 2), (40, 2), (80, 2), (96, 1), (192, 2))
# A block's choice index -> (depth-wise kernel, expansion ratio) (`choices_list`).
BLOCK_CHOICES = ((3, 4), (3, 6), (5, 4), (5, 6), (7, 4), (7, 6))
STEM_CHANNELS = 16
SE_RATIO = 0.25
CHANNEL_DIVISOR = 8


@dataclasses.dataclass(frozen=True)
class BlockSpec:
    """kind: "ds" (depth-wise separable) or "ir" (inverted residual)."""

    kind: str
    kernel: int
    expansion: int
    out_channels: int
    stride: int


def decode_backbone_path(
    path_name: str = ET_TRACK_PATH, stage_blocks: tuple[int, ...] = SUPERNET_STAGE_BLOCKS
) -> tuple[tuple[BlockSpec, ...], ...]:
    """A LightTrack path name -> the backbone's stages of BlockSpecs (stage 0 the fixed
    16-channel DS block), cut at the `_ops_<stage><block>` output position."""
    backbone, _, ops = path_name.partition("_ops_")
    digits = backbone.split("+cls_")[0].removeprefix("back_")[1:-1]  # drop head/tail 0
    if len(digits) != sum(stage_blocks) or not digits.isdigit():
        raise ValueError(
            f"{path_name!r}: expected {sum(stage_blocks)} block digits, got {digits!r}"
        )
    cut = (int(ops[0]), int(ops[1])) if ops else None
    stages = [(BlockSpec("ds", 3, 1, STEM_CHANNELS, 1),)]
    start = 0
    for s, (count, (channels, stride)) in enumerate(
        zip(stage_blocks, SUPERNET_STAGES, strict=True)
    ):
        blocks = []
        for j in range(count):
            kernel, expansion = BLOCK_CHOICES[int(digits[start + j])]
            blocks.append(BlockSpec("ir", kernel, expansion, channels, stride if j == 0 else 1))
            if cut == (s, j):
                break
        stages.append(tuple(blocks))
        start += count
        if cut is not None and s == cut[0]:
            break
    return tuple(stages)


LIGHTTRACK_MOBILE = decode_backbone_path()


def make_divisible(v: float, divisor: int = CHANNEL_DIVISOR) -> int:
    """timm's make_divisible: nearest multiple of `divisor` (>= divisor), never more
    than 10% below v."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def round_channels(channels: int, width_mult: float) -> int:
    return make_divisible(channels * width_mult)


def _padding(size: int, stride: int) -> int:
    """timm's get_padding: torch-style symmetric padding for a size x size conv."""
    return ((stride - 1) + (size - 1)) // 2


def _conv_bn(
    in_ch: int, out_ch: int, size: int, stride: int = 1, *, dtype: DTypeLike | None, rngs: nnx.Rngs
) -> tuple[nnx.Conv, nnx.BatchNorm]:
    """An unbiased conv (EfficientNet init) and its BatchNorm."""
    return conv_bn(
        in_ch,
        out_ch,
        size,
        stride,
        padding=_padding(size, stride),
        kernel_init=efficientnet_normal(),
        dtype=dtype,
        rngs=rngs,
    )


def _depthwise_bn(
    channels: int, size: int, stride: int, *, dtype: DTypeLike | None, rngs: nnx.Rngs
) -> tuple[DepthwiseConv, nnx.BatchNorm]:
    """A depth-wise conv (EfficientNet init, one group per channel) and its BatchNorm."""
    conv = DepthwiseConv(
        channels,
        size,
        stride,
        _padding(size, stride),
        kernel_init=efficientnet_normal(groups=channels),
        dtype=dtype,
        rngs=rngs,
    )
    return conv, batch_norm(channels, dtype=dtype, rngs=rngs)


class SqueezeExcite(nnx.Module):
    """x * hard_sigmoid(expand(ReLU(reduce(mean over H, W of x)))), 1x1 convs with bias."""

    def __init__(self, channels: int, reduced: int, *, dtype=None, rngs: nnx.Rngs):
        se_conv = functools.partial(
            conv2d,
            kernel_init=efficientnet_normal(),
            bias_init=nnx.initializers.zeros,
            dtype=dtype,
            rngs=rngs,
        )
        self.conv_reduce = se_conv(channels, reduced, 1)
        self.conv_expand = se_conv(reduced, channels, 1)

    def __call__(self, x: jax.Array) -> jax.Array:
        s = jnp.mean(x, axis=(1, 2), keepdims=True)
        s = self.conv_expand(jax.nn.relu(self.conv_reduce(s)))
        return x * jax.nn.hard_sigmoid(s)  # relu6(s + 3) / 6


class DepthwiseSeparable(nnx.Module):
    """conv_dw k x k, bn1, Swish, SE, conv_pw 1x1, bn2 (no activation), + x if it fits."""

    def __init__(self, in_ch: int, spec: BlockSpec, out_ch: int, *, dtype=None, rngs: nnx.Rngs):
        self.conv_dw, self.bn1 = _depthwise_bn(
            in_ch, spec.kernel, spec.stride, dtype=dtype, rngs=rngs
        )
        self.se = SqueezeExcite(in_ch, make_divisible(in_ch * SE_RATIO), dtype=dtype, rngs=rngs)
        self.conv_pw, self.bn2 = _conv_bn(in_ch, out_ch, 1, dtype=dtype, rngs=rngs)
        self.has_residual = spec.stride == 1 and in_ch == out_ch

    def __call__(self, x: jax.Array) -> jax.Array:
        y = self.se(jax.nn.silu(self.bn1(self.conv_dw(x))))
        y = self.bn2(self.conv_pw(y))
        return y + x if self.has_residual else y


class InvertedResidual(nnx.Module):
    """conv_pw 1x1 expand, bn1, Swish; conv_dw k x k, bn2, Swish; SE; conv_pwl 1x1, bn3;
    + x if stride 1 and in = out."""

    def __init__(self, in_ch: int, spec: BlockSpec, out_ch: int, *, dtype=None, rngs: nnx.Rngs):
        mid = make_divisible(in_ch * spec.expansion)
        self.conv_pw, self.bn1 = _conv_bn(in_ch, mid, 1, dtype=dtype, rngs=rngs)
        self.conv_dw, self.bn2 = _depthwise_bn(
            mid, spec.kernel, spec.stride, dtype=dtype, rngs=rngs
        )
        # SE width from the expanded channels (`reduce_mid=True`, divisor 8).
        self.se = SqueezeExcite(mid, make_divisible(mid * SE_RATIO), dtype=dtype, rngs=rngs)
        self.conv_pwl, self.bn3 = _conv_bn(mid, out_ch, 1, dtype=dtype, rngs=rngs)
        self.has_residual = spec.stride == 1 and in_ch == out_ch

    def __call__(self, x: jax.Array) -> jax.Array:
        y = jax.nn.silu(self.bn1(self.conv_pw(x)))
        y = jax.nn.silu(self.bn2(self.conv_dw(y)))
        y = self.bn3(self.conv_pwl(self.se(y)))
        return y + x if self.has_residual else y


class LightTrackBackbone(nnx.Module):
    """Images [B, H, W, 3] -> [B, ceil(H/16), ceil(W/16), out_channels] (96 at width 1).

    Args:
      arch: stages of BlockSpecs (default: E.T.Track's LightTrack-Mobile path).
      width_mult: channel multiplier (timm round_channels, multiples of 8).
      dtype: computation dtype; parameters stay float32.

    BatchNorm follows NNX modes (`model.train()` / `model.eval()`).

    Attributes:
      out_channels, stride.
    """

    def __init__(
        self,
        arch: tuple[tuple[BlockSpec, ...], ...] = LIGHTTRACK_MOBILE,
        width_mult: float = 1.0,
        *,
        dtype: DTypeLike | None = None,
        rngs: nnx.Rngs,
    ):
        self.width_mult = width_mult
        stem = round_channels(STEM_CHANNELS, width_mult)
        self.conv_stem, self.bn1 = _conv_bn(3, stem, 3, 2, dtype=dtype, rngs=rngs)
        in_ch, stride = stem, 2
        stages = []
        for stage in arch:
            blocks = []
            for spec in stage:
                out_ch = round_channels(spec.out_channels, width_mult)
                block = DepthwiseSeparable if spec.kind == "ds" else InvertedResidual
                blocks.append(block(in_ch, spec, out_ch, dtype=dtype, rngs=rngs))
                in_ch, stride = out_ch, stride * spec.stride
            stages.append(nnx.List(blocks))
        self.blocks = nnx.List(stages)
        self.out_channels, self.stride = in_ch, stride

    def __call__(self, images: jax.Array) -> jax.Array:
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(
                f"LightTrackBackbone expects NHWC images [B, H, W, 3], got {tuple(images.shape)}"
            )
        x = jax.nn.silu(self.bn1(self.conv_stem(images)))
        for stage in self.blocks:
            for block in stage:
                x = block(x)
        return x


__all__ = [
    "ET_TRACK_PATH",
    "LIGHTTRACK_MOBILE",
    "BlockSpec",
    "DepthwiseSeparable",
    "InvertedResidual",
    "LightTrackBackbone",
    "SqueezeExcite",
    "decode_backbone_path",
    "make_divisible",
    "round_channels",
]
