"""JDE's detector (Wang et al., "Towards Real-Time Multi-Object Tracking"): Darknet-53 +
FPN (YOLOv3) with joint detection and embedding heads, in Flax NNX.

    model = JDE(JDEConfig.full("1088x608"), rngs=nnx.Rngs(0))
    model.eval()
    out8, out16, out32 = model(images)       # images [B, 608, 1088, 3] RGB in [0, 1]
    out8.deltas      # [B, 76, 136, 4, 4]  box deltas per anchor (dx, dy, dw, dh)
    out8.conf        # [B, 76, 136, 4, 2]  background / foreground logits per anchor
    out8.embedding   # [B, 76, 136, 512]   raw (un-normalised) embedding per location

The network is the official cfg (Zhongdao/Towards-Realtime-MOT `cfg/yolov3.cfg`, the
same for 864x480 and 576x320 apart from anchors), read by the official `create_modules`
/ `Darknet.forward`. `darknet_layers(config)` writes the cfg's layer list, section by
section; the model and the checkpoint converter (`jaxmot.jde.convert`) both walk
it, so layer i here is `module_list.{i}` there. Layer kinds:

    conv      k x k conv, padding (k - 1) // 2; with BatchNorm (eps 1e-5, no conv bias)
              and LeakyReLU(0.1), or linear with a bias (the heads' last convs)
    shortcut  output of layer i - 1 + output of layer i + from (from = -3)
    route     concatenation on channels of the listed layers, in the cfg's order
              (negative = relative to this layer, as the cfg writes them)
    upsample  nearest neighbour x2
    yolo      a head's output: route(prediction conv, embedding conv); parameter-free
              here (the uncertainty weights s_r, s_c, s_id live in `JDE.uncertainty`)

Darknet-53 has 75 layers (0-74); stage outputs 36 (stride 8) and 61 (stride 16) feed
the FPN. Each of the three heads (stride 32, 16, 8 in cfg order; layers 75-85, 86-100,
101-115) is (for the last two: a route back to the previous head's fifth conv, a 1x1
conv, upsampling, a route with Darknet layer 61 / 36, then) five conv-BN-leaky (1x1 /
3x3 alternating), a 3x3 conv-BN-leaky, the
prediction conv (1x1, A * 6 channels, linear), a route back to the fifth conv, the
embedding conv (3x3, E channels, linear), and the route concat(prediction, embedding).
The 24 prediction channels are anchor-major: channel a * 6 + k, k = dx, dy, dw, dh,
conf0, conf1 (the official `view(nB, nA, 6, h, w)`).

Two knobs beyond the cfg: `width_multiplier` scales every conv's filters (not the
prediction channels, not the embedding dimension), rounded to a multiple of 8 (at
least 8); `blocks` sets the residual blocks per Darknet stage (official 1, 2, 8, 8, 4).

BatchNorm follows NNX modes: `model.train()` (the default) uses batch statistics,
`model.eval()` the running ones. Building a concrete model compiles one random
initialiser per parameter shape, slow on a small CPU (the small model: ~26 s with the
default threefry key, ~9 s with `nnx.Rngs(jax.random.key(0, impl="rbg"))`); to load a
checkpoint build it with `nnx.eval_shape` (`jde_convert.load_official_jde` does).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx
from jax.typing import DTypeLike

from jaxmot.core.nn import conv2d, conv_bn, torch_default_init
from jaxmot.jde.ops import STRIDES, UNCERTAINTY_INIT

# BatchNorm: torch.nn.BatchNorm2d's defaults (`jaxmot.core.nn.batch_norm`), which the
# official models.py uses when its SyncBN extension is missing.
LEAKY_SLOPE = 0.1  # cfg activation=leaky -> nn.LeakyReLU(0.1)
# Official resolutions (width, height), one cfg each.
RESOLUTIONS = {"1088x608": (1088, 608), "864x480": (864, 480), "576x320": (576, 320)}
_DARKNET_FILTERS = (64, 128, 256, 512, 1024)  # the stages' downsampling conv filters
_PREDICTIONS_PER_ANCHOR = 6  # dx, dy, dw, dh, conf0, conf1 (cfg: filters=24 for 4 anchors)


class JDEScaleOutput(NamedTuple):
    """One head's raw output. deltas [B, h, w, A, 4]; conf [B, h, w, A, 2] logits
    (background, foreground); embedding [B, h, w, E] un-normalised."""

    deltas: jax.Array
    conf: jax.Array
    embedding: jax.Array


def _parse_resolution(resolution: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in resolution.lower().split("x"))
    except ValueError:
        msg = f"resolution must be 'WIDTHxHEIGHT', e.g. '1088x608', got {resolution!r}"
        raise ValueError(msg) from None
    return width, height


@dataclasses.dataclass(frozen=True)
class JDEConfig:
    """JDE's architecture. Defaults: the official 1088x608 model (cfg/yolov3.cfg).

    width, height: input size (multiples of 32; official 1088x608, 864x480, 576x320).
      The network is fully convolutional: any multiple-of-32 input runs, this is the
      size data pipelines and benchmarks use.
    width_multiplier: scales every conv's filters (Darknet-53 + FPN), multiple of 8.
    blocks: residual blocks per Darknet stage (Darknet-53: 1, 2, 8, 8, 4).
    embedding_dim: E (official 512). num_anchors: A per scale (official 4).
    num_ids: identities of the training classifier (0 = no classifier, e.g. tracking).
    """

    width: int = 1088
    height: int = 608
    width_multiplier: float = 1.0
    blocks: tuple[int, ...] = (1, 2, 8, 8, 4)
    embedding_dim: int = 512
    num_anchors: int = 4
    num_ids: int = 0

    def __post_init__(self):
        object.__setattr__(self, "blocks", tuple(self.blocks))
        if self.width <= 0 or self.height <= 0 or self.width % 32 or self.height % 32:
            raise ValueError(
                f"JDEConfig width x height must be positive multiples of 32, got "
                f"{self.width}x{self.height}"
            )
        if len(self.blocks) != 5 or any(b < 0 for b in self.blocks):
            raise ValueError(f"JDEConfig.blocks needs 5 counts >= 0, got {self.blocks}")
        if not self.width_multiplier > 0:
            raise ValueError(f"JDEConfig.width_multiplier must be > 0, got {self.width_multiplier}")
        for name in ("embedding_dim", "num_anchors"):
            if getattr(self, name) < 1:
                raise ValueError(f"JDEConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.num_ids < 0:
            raise ValueError(f"JDEConfig.num_ids must be >= 0, got {self.num_ids}")

    @classmethod
    def full(cls, resolution: str = "1088x608", num_ids: int = 0) -> JDEConfig:
        """The official model at `resolution` ("1088x608", "864x480" or "576x320")."""
        if resolution not in RESOLUTIONS:
            raise ValueError(f"official resolutions are {sorted(RESOLUTIONS)}, got {resolution!r}")
        width, height = RESOLUTIONS[resolution]
        return cls(width=width, height=height, num_ids=num_ids)

    @classmethod
    def small(cls, resolution: str = "576x320", num_ids: int = 0) -> JDEConfig:
        """A CPU-sized JDE for tests and the demo: a quarter of the channels (8 ... 256
        instead of 32 ... 1024), blocks (1, 1, 2, 2, 1), 128-d embeddings; any
        'WxH' of multiples of 32. 2.51M parameters (the full model: 65.7M, 73.1M with a
        14455-id classifier), 1.45 GMAC per 576x320 image (full at 1088x608: 135 GMAC);
        training forward + backward ~0.4 s per 576x320 image on a busy 2-core CPU."""
        width, height = _parse_resolution(resolution)
        return cls(
            width=width,
            height=height,
            width_multiplier=0.25,
            blocks=(1, 1, 2, 2, 1),
            embedding_dim=128,
            num_ids=num_ids,
        )

    def filters(self, cfg_filters: int) -> int:
        """A cfg conv's filters at this width: multiple of 8, at least 8."""
        return max(8, math.floor(cfg_filters * self.width_multiplier / 8 + 0.5) * 8)


@dataclasses.dataclass(frozen=True)
class DarknetLayer:
    """One cfg section (`module_list.{index}` in the official model).

    kind: conv | shortcut | route | upsample | yolo.
    out_channels: channels of this layer's output (the official `output_filters`).
    conv: in_channels, size, stride, batch_norm (else a bias), leaky (else linear).
    shortcut: layers = (from,) relative (-3). route: layers as the cfg writes them.
    upsample: stride (2). yolo: stride of its head, mask = its anchors' indices.
    """

    kind: Literal["conv", "shortcut", "route", "upsample", "yolo"]
    out_channels: int
    in_channels: int = 0
    size: int = 0
    stride: int = 1
    batch_norm: bool = False
    leaky: bool = False
    layers: tuple[int, ...] = ()
    mask: tuple[int, ...] = ()


def resolve(index: int, layer: int) -> int:
    """A cfg layer reference seen from layer `index` -> absolute index (Python list
    indexing into the outputs so far, as the official forward does)."""
    return index + layer if layer < 0 else layer


@functools.lru_cache(maxsize=32)
def darknet_layers(config: JDEConfig) -> tuple[DarknetLayer, ...]:
    """The cfg's layer list for `config` (116 layers, 78 convs for the official model)."""
    out: list[DarknetLayer] = []

    def channels(layer: int) -> int:
        return out[resolve(len(out), layer)].out_channels

    def conv(filters, size, stride=1, bn=True, scaled=True):
        c = config.filters(filters) if scaled else filters
        in_ch = out[-1].out_channels if out else 3
        out.append(DarknetLayer("conv", c, in_ch, size, stride, batch_norm=bn, leaky=bn))

    def route(*layers):
        total = sum(channels(v) for v in layers)
        out.append(DarknetLayer("route", total, layers=layers))

    conv(32, 3)
    stage_outputs = []
    for filters, n in zip(_DARKNET_FILTERS, config.blocks, strict=True):
        conv(filters, 3, stride=2)
        for _ in range(n):
            conv(filters // 2, 1)
            conv(filters, 3)
            out.append(DarknetLayer("shortcut", out[-1].out_channels, layers=(-3,)))
        stage_outputs.append(len(out) - 1)

    predictions = config.num_anchors * _PREDICTIONS_PER_ANCHOR
    heads = ((512, 32, None), (256, 16, stage_outputs[3]), (128, 8, stage_outputs[2]))
    for filters, stride, skip in heads:
        if skip is not None:
            route(-7)  # back to the previous head's fifth conv
            conv(filters, 1)
            out.append(DarknetLayer("upsample", out[-1].out_channels, stride=2))
            route(-1, skip)
        for _ in range(3):
            conv(filters, 1)
            conv(2 * filters, 3)
        conv(predictions, 1, bn=False, scaled=False)
        route(-3)  # the fifth conv (1x1)
        conv(config.embedding_dim, 3, bn=False, scaled=False)
        route(-3, -1)  # concat(prediction, embedding)
        level = STRIDES.index(stride)
        mask = tuple(range(level * config.num_anchors, (level + 1) * config.num_anchors))
        out.append(DarknetLayer("yolo", out[-1].out_channels, stride=stride, mask=mask))
    return tuple(out)


class DarknetConv(nnx.Module):
    """A cfg conv: conv (+ BN + LeakyReLU(0.1)), or a linear conv with a bias."""

    def __init__(self, layer: DarknetLayer, *, dtype: DTypeLike | None = None, rngs: nnx.Rngs):
        self.leaky = layer.leaky
        shape = (layer.in_channels, layer.out_channels, layer.size, layer.stride)
        if layer.batch_norm:
            # The official create_modules draws BN weights from U(0, 1) ("converges faster").
            self.conv, self.bn = conv_bn(
                *shape, bn_scale_init=nnx.initializers.uniform(1.0), dtype=dtype, rngs=rngs
            )
        else:
            self.conv, self.bn = conv2d(*shape, dtype=dtype, rngs=rngs), None

    def __call__(self, x: jax.Array) -> jax.Array:
        """x: [B, H, W, in] -> [B, H / stride, W / stride, out]."""
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return jax.nn.leaky_relu(x, LEAKY_SLOPE) if self.leaky else x


def _upsample2(x: jax.Array) -> jax.Array:
    """Nearest-neighbour x2 (F.interpolate(scale_factor=2, mode='nearest'))."""
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


class JDE(nnx.Module):
    """Darknet-53 + FPN with JDE heads: images -> 3 JDEScaleOutput (stride 8, 16, 32).

    Args:
      config: architecture (`JDEConfig.full()`, `JDEConfig.small()`).
      dtype: computation dtype of the convolutions (e.g. jnp.bfloat16 on an
        accelerator); parameters and BN statistics stay float32, outputs are float32.
      rngs: `params` for initialisation.

    Attributes:
      layers: nnx.List, entry i = cfg layer i (a DarknetConv, None if parameter-free).
      classifier: nnx.Linear(E, num_ids) for the identity loss, None when num_ids = 0.
      uncertainty: nnx.Param [3, 3], rows in stride order (8, 16, 32), columns s_r, s_c,
        s_id (the official YOLOLayer's learned loss weights).
    """

    def __init__(self, config: JDEConfig, *, dtype: DTypeLike | None = None, rngs: nnx.Rngs):
        self.config = config
        self.layers = nnx.List(
            [
                DarknetConv(layer, dtype=dtype, rngs=rngs) if layer.kind == "conv" else None
                for layer in darknet_layers(config)
            ]
        )
        init = torch_default_init(config.embedding_dim)
        self.classifier = (
            nnx.Linear(
                config.embedding_dim, config.num_ids, kernel_init=init, bias_init=init, rngs=rngs
            )
            if config.num_ids > 0
            else None
        )
        self.uncertainty = nnx.Param(jnp.tile(jnp.asarray(UNCERTAINTY_INIT, jnp.float32), (3, 1)))

    def __call__(self, images: jax.Array) -> tuple[JDEScaleOutput, ...]:
        """images [B, H, W, 3] RGB in [0, 1], H and W multiples of 32 -> (stride 8,
        stride 16, stride 32) JDEScaleOutput with h, w = H / stride, W / stride."""
        shape = tuple(images.shape)
        if len(shape) != 4 or shape[-1] != 3 or shape[1] % 32 or shape[2] % 32:
            raise ValueError(
                f"JDE expects images [B, H, W, 3] with H and W multiples of 32, got shape {shape}"
            )
        a = self.config.num_anchors
        outputs: list[jax.Array] = []
        heads: dict[int, JDEScaleOutput] = {}
        x = images
        for i, (layer, module) in enumerate(
            zip(darknet_layers(self.config), self.layers, strict=True)
        ):
            if layer.kind == "conv":
                x = module(x)
            elif layer.kind == "shortcut":
                x = outputs[-1] + outputs[resolve(i, layer.layers[0])]
            elif layer.kind == "route":
                parts = [outputs[resolve(i, v)] for v in layer.layers]
                x = parts[0] if len(parts) == 1 else jnp.concatenate(parts, axis=-1)
            elif layer.kind == "upsample":
                x = _upsample2(x)
            else:  # yolo: split concat(prediction, embedding)
                b, h, w, _ = x.shape
                p = x[..., : a * _PREDICTIONS_PER_ANCHOR].astype(jnp.float32)
                p = p.reshape(b, h, w, a, _PREDICTIONS_PER_ANCHOR)
                embedding = x[..., a * _PREDICTIONS_PER_ANCHOR :].astype(jnp.float32)
                heads[layer.stride] = JDEScaleOutput(p[..., :4], p[..., 4:], embedding)
            outputs.append(x)
        return tuple(heads[s] for s in STRIDES)


__all__ = [
    "JDE",
    "RESOLUTIONS",
    "DarknetConv",
    "DarknetLayer",
    "JDEConfig",
    "JDEScaleOutput",
    "darknet_layers",
    "resolve",
]
