"""pacnet's joint upsampling network, `PacJointUpsample` (NVlabs/pacnet,
task_jointUpsampling/models.py; Su et al., CVPR 2019, Sec. 5.1), in Flax NNX.

    model = PacJointUpsample(8, rngs=nnx.Rngs(0))      # or load_pacnet_joint_upsampler
    high = model(target_low, image)    # [B, h, w, C], [B, 8h, 8w, 3] 0-255 -> [B, 8h, 8w, C]

The network, for factor f = 2^n and the default `PacJointConfig` (pacnet's defaults):

    target branch   branch_t: conv 5x5 1 -> 32, ReLU, conv 32 -> 32, ReLU, conv 32 -> 32
                    (no ReLU after the last), at the input resolution h x w
    guidance branch branch_g: conv 5x5 3 -> 32, ReLU, conv 32 -> 32, ReLU,
                    conv 32 -> 16 n (no ReLU after the last), on the image / 255 at the
                    output resolution; channels [16 i, 16 (i + 1)) guide step i
    n up steps      up_convts[i]: transposed PAC 32 -> 32, kernel 5, stride 2, padding 2,
                    output_padding 1, Gaussian kernel, not normalised, with bias; guided
                    by step i's 16 guide channels resized to the step's output
                    (h 2^(i+1)) by torch's bilinear (align_corners=False, no antialias);
                    then ReLU
    final branch    branch_f: conv 5x5 32 -> 32, ReLU, conv 32 -> 1 (no ReLU)

Every conv has a bias and zero padding 2 ('SAME'). One guidance CNN serves all steps (its
last layer has 16 channels per step), not one CNN per step.

Around the network, as pacnet's training and test code does it (task_jointUpsampling/
datasets.py `AssembleJointUpsamplingInputs`, main.py): the guide is the RGB image / 255;
with `normalize_target` each low-resolution channel is scaled per image to [0, 1] by its
min and max (a flat channel by min - 0.5 .. max + 0.5) before the network and the output
is scaled back, so the released checkpoints, trained on normalised depth or flow, return
the target's own units. A C-channel target is upsampled one channel at a time with the
same guide (pacnet folds the channels into the batch: `convert_to_single_channel`), so
the released single-channel networks upsample 2-channel flow. Not kept: pacnet's
optional BatchNorm layers (`t_bn`, `g_bn`, `u_bn`, `f_bn`, all off by default) and the
per-layer filter tuples of `PacJointUpsampleLite`.

Parameters are initialised as PyTorch initialises pacnet's layers: every weight and bias
uniform in +-1 / sqrt(in_channels * k * k) (nn.Conv2d's default and pacnet's 'uniform'
filler). Layouts: NHWC activations, HWIO kernels (pacnet's transposed PAC weight
[in, out, kh, kw] correlates the zero-inserted input without a flip, so its HWIO kernel
is weight.transpose(2, 3, 0, 1); see jaxmot.seg.pac).
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.core.torch_io import (
    StateDictMismatchError,
    as_numpy,
    listed_keys,
    read_checkpoint,
)
from jaxmot.seg.pac_layers import PacConvTranspose2d

GUIDE_SCALE = 1.0 / 255.0  # pacnet: guidance = image.float().div(255)


@dataclasses.dataclass(frozen=True)
class PacJointConfig:
    """pacnet's `PacJointUpsample` arguments (their defaults), the factor aside.

    channels: target channels one pass of the network sees (pacnet builds it with 1 and
      folds more channels into the batch). guide_channels: 3 (RGB).
    n_t_layers, n_g_layers, n_f_layers: convs of the target, guidance and final
      branches. n_t_filters, n_g_filters, n_f_filters: their widths (and the width of
      every transposed PAC step). k_ch: guide channels per 2x step. f_sz_1: kernel of
      the plain convs; f_sz_2: kernel of the transposed PAC (odd).
    normalize_target: pacnet's per-image min-max scaling of the target (see the module
      docstring); on for its released checkpoints.
    """

    channels: int = 1
    guide_channels: int = 3
    n_t_layers: int = 3
    n_g_layers: int = 3
    n_f_layers: int = 2
    n_t_filters: int = 32
    n_g_filters: int = 32
    n_f_filters: int = 32
    k_ch: int = 16
    f_sz_1: int = 5
    f_sz_2: int = 5
    normalize_target: bool = True

    def __post_init__(self):
        if self.n_g_layers < 1 or self.n_f_layers < 1 or self.n_t_layers < 0:
            raise ValueError(
                "PacJointConfig: the guidance and final branches need at least one layer, "
                f"got n_g_layers={self.n_g_layers}, n_f_layers={self.n_f_layers}"
            )
        if self.f_sz_1 % 2 != 1 or self.f_sz_2 % 2 != 1:
            raise ValueError(
                f"PacJointConfig: kernel sizes must be odd, got f_sz_1={self.f_sz_1}, "
                f"f_sz_2={self.f_sz_2}"
            )


def check_factor(factor: int) -> int:
    """The number of 2x steps of `factor` (a power of two >= 2), or a ValueError."""
    steps = math.log2(factor) if isinstance(factor, int) and factor >= 2 else 0.5
    if steps != int(steps):
        raise ValueError(f"PacJointUpsample: factor must be a power of two >= 2, got {factor!r}")
    return int(steps)


def _torch_uniform(fan_in: int):
    """PyTorch's default init of conv weights and biases: U(-1/sqrt(fan_in), +)."""
    bound = 1.0 / math.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def _conv(cin: int, cout: int, k: int, rngs: nnx.Rngs) -> nnx.Conv:
    init = _torch_uniform(cin * k * k)
    return nnx.Conv(cin, cout, (k, k), padding="SAME", kernel_init=init, bias_init=init, rngs=rngs)


def _branch(x: jax.Array, convs) -> jax.Array:
    """Convs with ReLU between them (none after the last), as pacnet's branches."""
    for i, conv in enumerate(convs):
        x = conv(x)
        if i < len(convs) - 1:
            x = jax.nn.relu(x)
    return x


def torch_bilinear_downsample(x: jax.Array, r: int) -> jax.Array:
    """[B, r*h, r*w, C] -> [B, h, w, C] as torch's F.interpolate(mode='bilinear',
    align_corners=False, no antialias) does for an integer factor r.

    Output pixel d samples the input at r*d + (r - 1) / 2: pixel r*d for odd r, halfway
    between pixels r*d + r/2 - 1 and r*d + r/2 for even r. Only those (at most 2 x 2)
    pixels of each r x r block count; the rest are skipped, not averaged (no antialias).
    """
    if r == 1:
        return x
    b, hh, ww, c = x.shape
    blocks = x.reshape(b, hh // r, r, ww // r, r, c)
    lo, hi = (r - 1) // 2, r // 2 + 1  # the one (odd r) or two (even r) central pixels
    return blocks[:, :, lo:hi, :, lo:hi].mean(axis=(2, 4))


def target_range(target_low: jax.Array) -> tuple[jax.Array, jax.Array]:
    """pacnet's per-image, per-channel range of the low-resolution target:
    [B, h, w, C] -> (low [B, 1, 1, C], scale [B, 1, 1, C]) with (x - low) / scale in
    [0, 1]; a flat channel gets low = value - 0.5, scale = 1."""
    lo = jnp.min(target_low, axis=(1, 2), keepdims=True)
    hi = jnp.max(target_low, axis=(1, 2), keepdims=True)
    flat = lo == hi
    lo = jnp.where(flat, lo - 0.5, lo)
    hi = jnp.where(flat, hi + 0.5, hi)
    return jax.lax.stop_gradient(lo), jax.lax.stop_gradient(hi - lo)  # data, not weights


class PacJointUpsample(nnx.Module):
    """pacnet's PacJointUpsample (module docstring): target_low [B, h, w, C] + image
    [B, f*h, f*w, 3] (0-255, float or uint8) -> [B, f*h, f*w, C].

    Attributes mirror pacnet's module names (branch_t, branch_g, up_convts, branch_f), so
    `branch_t[0]` is pacnet's `branch_t.conv1`.
    """

    def __init__(self, factor: int, config: PacJointConfig = PacJointConfig(), *, rngs: nnx.Rngs):
        steps = check_factor(factor)
        self.factor = factor
        self.config = config
        c, k = config, config.f_sz_1
        t = (c.channels,) + (c.n_t_filters,) * c.n_t_layers
        g = (c.guide_channels,) + (c.n_g_filters,) * (c.n_g_layers - 1) + (c.k_ch * steps,)
        f = (t[-1],) + (c.n_f_filters,) * (c.n_f_layers + steps - 1) + (c.channels,)
        self.branch_t = nnx.List([_conv(t[i], t[i + 1], k, rngs) for i in range(c.n_t_layers)])
        self.branch_g = nnx.List([_conv(g[i], g[i + 1], k, rngs) for i in range(c.n_g_layers)])
        ups = []
        for i in range(steps):
            up = PacConvTranspose2d(
                f[i], f[i + 1], c.f_sz_2, guide_features=c.k_ch, stride=2, rngs=rngs
            )
            init = _torch_uniform(f[i] * c.f_sz_2 * c.f_sz_2)  # pacnet's 'uniform' filler
            up.kernel.set_value(init(rngs.params(), up.kernel.shape))
            up.bias.set_value(init(rngs.params(), up.bias.shape))
            ups.append(up)
        self.up_convts = nnx.List(ups)
        self.branch_f = nnx.List(
            [_conv(f[steps + i], f[steps + i + 1], k, rngs) for i in range(c.n_f_layers)]
        )

    def _check(self, target_low: jax.Array, image: jax.Array) -> None:
        f, c = self.factor, self.config
        if target_low.ndim != 4 or image.ndim != 4:
            raise ValueError(
                f"PacJointUpsample: target_low must be [B, h, w, C] and image [B, H, W, "
                f"{c.guide_channels}], got {target_low.shape} and {image.shape}"
            )
        b, h, w, ch = target_low.shape
        if image.shape != (b, f * h, f * w, c.guide_channels):
            raise ValueError(
                f"PacJointUpsample: image {image.shape} must be [B, {f}*h, {f}*w, "
                f"{c.guide_channels}] = {(b, f * h, f * w, c.guide_channels)} for target_low "
                f"{target_low.shape} (factor {f})"
            )
        if c.channels != 1 and ch != c.channels:
            raise ValueError(
                f"PacJointUpsample: target_low has {ch} channels, the network was built for "
                f"channels={c.channels}"
            )

    def network(self, target_low: jax.Array, image: jax.Array) -> jax.Array:
        """pacnet's forward on already normalised inputs: target_low [B, h, w, C],
        image [B, f*h, f*w, 3] as the network sees it (pacnet: image / 255)
        -> [B, f*h, f*w, C]."""
        self._check(target_low, image)
        b, h, w, ch = target_low.shape
        fold = self.config.channels == 1 and ch > 1
        x = target_low
        if fold:  # pacnet's convert_to_single_channel: channel c of image b is b*C + c
            x = x.transpose(0, 3, 1, 2).reshape(b * ch, h, w, 1)
        x = _branch(x, self.branch_t)
        guide = _branch(image, self.branch_g)  # [B, f*h, f*w, k_ch * steps], shared
        k_ch = self.config.k_ch
        for i, up in enumerate(self.up_convts):
            g = guide[..., i * k_ch : (i + 1) * k_ch]
            g = torch_bilinear_downsample(g, self.factor // 2 ** (i + 1))
            if fold:  # repeat_for_channel: every channel of an image sees its guide
                g = jnp.repeat(g, ch, axis=0)
            x = jax.nn.relu(up(x, g))
        x = _branch(x, self.branch_f)
        if fold:
            x = x.reshape(b, ch, self.factor * h, self.factor * w).transpose(0, 2, 3, 1)
        return x

    def normalized(self, target_low: jax.Array, image: jax.Array):
        """(prediction in the normalised target scale [B, H, W, C], low [B, 1, 1, C],
        scale [B, 1, 1, C]): what pacnet's L2 loss compares with (target - low) / scale.
        Without `normalize_target`, low = 0 and scale = 1."""
        self._check(target_low, image)
        target_low = jnp.asarray(target_low, jnp.float32)
        if self.config.normalize_target:
            lo, scale = target_range(target_low)
        else:
            lo = jnp.zeros((target_low.shape[0], 1, 1, target_low.shape[-1]), target_low.dtype)
            scale = jnp.ones_like(lo)
        guide = jnp.asarray(image, jnp.float32) * GUIDE_SCALE
        return self.network((target_low - lo) / scale, guide), lo, scale

    def __call__(self, target_low: jax.Array, image: jax.Array) -> jax.Array:
        """target_low [B, h, w, C] (target units), image [B, f*h, f*w, 3] in [0, 255]
        -> the upsampled target [B, f*h, f*w, C] in target units."""
        y, lo, scale = self.normalized(target_low, image)
        return y * scale + lo


# --- pacnet's released checkpoints ---------------------------------------------------------


def _torch_name(path: tuple) -> str:
    """NNX path -> pacnet key: ('branch_t', 0, 'kernel') -> 'branch_t.conv1.weight',
    ('up_convts', 2, 'bias') -> 'up_convts.2.bias'."""
    branch, index, leaf = path
    module = f"{branch}.{index}" if branch == "up_convts" else f"{branch}.conv{index + 1}"
    return f"{module}.{'weight' if leaf == 'kernel' else leaf}"


def _to_hwio(key: str, weight: np.ndarray) -> np.ndarray:
    if key.endswith(".bias"):
        return weight
    if key.startswith("up_convts."):  # PacConvTranspose2d: [in, out, kh, kw], no flip
        return weight.transpose(2, 3, 0, 1)
    return weight.transpose(2, 3, 1, 0)  # nn.Conv2d: OIHW


def pacnet_state_shapes(model: PacJointUpsample) -> dict[str, tuple[int, ...]]:
    """{pacnet key: torch shape} of every parameter of `model`."""
    shapes = {}
    for path, var in nnx.to_flat_state(nnx.state(model, nnx.Param)):
        shape = tuple(var.get_value().shape)
        if path[-1] == "kernel":
            kh, kw, cin, cout = shape
            transposed = path[0] == "up_convts"
            shape = (cin, cout, kh, kw) if transposed else (cout, cin, kh, kw)
        shapes[_torch_name(path)] = shape
    return shapes


def load_pacnet_weights(model: PacJointUpsample, checkpoint) -> PacJointUpsample:
    """Set `model`'s parameters from a pacnet joint-upsampling state dict (a mapping, or
    a file: pacnet saves `model.state_dict()` with torch.save; a `state_dict`/`model`
    wrapper and `module.` prefixes are accepted). Every key must be used and every
    parameter set, or one StateDictMismatchError names the missing, unexpected and
    mis-shaped keys and nothing is written."""
    source, state, _ = read_checkpoint(checkpoint, wrapper_keys=("state_dict", "model"))
    wanted = pacnet_state_shapes(model)
    missing = sorted(set(wanted) - set(state))
    unexpected = sorted(set(state) - set(wanted))
    arrays, mismatched = {}, []
    for key in sorted(set(wanted) & set(state)):
        value = as_numpy(state[key], key, source)
        if tuple(value.shape) != wanted[key]:
            mismatched.append(f"{key} {tuple(value.shape)} != {wanted[key]}")
        arrays[key] = value
    problems = []
    if mismatched:
        problems.append(f"shape mismatches ({len(mismatched)}): " + "; ".join(mismatched))
    if missing:
        problems.append(f"missing keys ({len(missing)}): {listed_keys(missing)}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {listed_keys(unexpected)}")
    if problems:
        raise StateDictMismatchError(
            f"{source} does not fit PacJointUpsample(factor={model.factor}): "
            + " | ".join(problems)
        )
    for path, var in nnx.to_flat_state(nnx.state(model, nnx.Param)):
        key = _torch_name(path)
        var.set_value(jnp.asarray(_to_hwio(key, arrays[key]), jnp.float32))
    return model


def load_pacnet_joint_upsampler(
    path: str | pathlib.Path | Mapping,
    factor: int,
    config: PacJointConfig = PacJointConfig(),
) -> PacJointUpsample:
    """pacnet's released joint-upsampling checkpoint (e.g. `x8_pac_weights_epoch_5000.pth`
    for factor 8, read with torch.load(weights_only=True) on the CPU) -> PacJointUpsample
    with its weights. Call the model as `model(target_low [B, h, w, C], image
    [B, factor*h, factor*w, 3] float in [0, 255]) -> [B, factor*h, factor*w, C]`."""
    model = nnx.eval_shape(lambda: PacJointUpsample(factor, config, rngs=nnx.Rngs(0)))
    return load_pacnet_weights(model, path)


__all__ = [
    "GUIDE_SCALE",
    "PacJointConfig",
    "PacJointUpsample",
    "load_pacnet_joint_upsampler",
    "load_pacnet_weights",
    "pacnet_state_shapes",
    "target_range",
    "torch_bilinear_downsample",
]
