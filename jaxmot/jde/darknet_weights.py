"""Darknet's binary weights (`darknet53.conv.74`, `yolov3.weights`) -> a `JDE` model.

    model = JDE(JDEConfig.full("1088x608"), rngs=nnx.Rngs(0))
    load_darknet_weights(model, "darknet53.conv.74")   # the ImageNet backbone, 52 convs

The official JDE training (Towards-Realtime-MOT `train.py`) starts from the ImageNet
Darknet-53 backbone in this format: `Darknet.load_darknet_weights` reads it with a
cutoff of 75 layers when the file is named `darknet53.conv.74` (the backbone: layers
0-74 of the cfg, 52 of them convolutions). The format, as Darknet's `save_weights`
writes it:

    int32 major, minor, revision
    seen: int64 when major * 10 + minor >= 2 and major < 1000, else int32
    then, for each convolution of the cfg in order, float32:
      with batch norm:  bias (beta) [out], scale (gamma) [out], rolling mean [out],
                        rolling variance [out], kernel [out, in, k, k]
      without:          bias [out], kernel [out, in, k, k]

Layers are matched to `jaxmot.jde.model.darknet_layers` (the cfg's layer list), so the
model's widths must be Darknet's (`width_multiplier` 1): a file too short for the layers
before the cutoff, or with values left over, is an error naming the file and layer.
"""

from __future__ import annotations

import os
import pathlib

import jax.numpy as jnp
import numpy as np

from jaxmot.jde.model import JDE, darknet_layers

# The official loader's cutoff for the backbone file: layers 0..74 of the cfg.
BACKBONE_CUTOFF = 75
BACKBONE_FILE = "darknet53.conv.74"


def read_header(data: bytes, path: str | os.PathLike = "") -> tuple[tuple[int, int, int], int]:
    """((major, minor, revision), header size in bytes) of a Darknet weights file."""
    if len(data) < 16:
        raise ValueError(f"{path}: {len(data)} bytes is too short for a Darknet weights header")
    major, minor, revision = (int(v) for v in np.frombuffer(data, np.int32, count=3))
    wide_seen = major * 10 + minor >= 2 and major < 1000
    return (major, minor, revision), 12 + (8 if wide_seen else 4)


def load_darknet_weights(model: JDE, path: str | os.PathLike, cutoff: int | None = None) -> int:
    """Copy a Darknet weights file into `model`'s convolutions, in place.

    Args:
      model: a JDE whose layers up to `cutoff` have Darknet's shapes.
      path: the `.weights` / `.conv.N` file.
      cutoff: load the convolutions of cfg layers [0, cutoff); None: 75 for a file named
        `darknet53.conv.74` (as the official loader), else every layer.

    Returns:
      the number of convolutions loaded.

    Raises:
      FileNotFoundError: no file at `path`.
      ValueError: the file ends before the last layer (naming it and its shape), or has
        values left over after the cutoff.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no Darknet weights file at {path}")
    data = path.read_bytes()
    _, offset = read_header(data, path)
    values = np.frombuffer(data, np.float32, offset=offset)
    if cutoff is None:
        cutoff = BACKBONE_CUTOFF if path.name == BACKBONE_FILE else len(model.layers)
    position, loaded = 0, 0

    def take(shape: tuple[int, ...], what: str, index: int) -> np.ndarray:
        nonlocal position
        size = int(np.prod(shape))
        if position + size > len(values):
            raise ValueError(
                f"{path}: ends before the {what} {shape} of layer {index} (the file holds"
                f" {len(values)} values; is the model Darknet-53 at width 1?)"
            )
        array = values[position : position + size].reshape(shape)
        position += size
        return array

    for index, (layer, module) in enumerate(
        zip(darknet_layers(model.config), model.layers, strict=True)
    ):
        if index >= cutoff:
            break
        if layer.kind != "conv":
            continue
        out, kernel_shape = layer.out_channels, (layer.out_channels, layer.in_channels)
        kernel_shape += (layer.size, layer.size)
        if layer.batch_norm:
            bias, scale, mean, var = (take((out,), n, index) for n in ("bias", "scale",
                                      "rolling mean", "rolling variance"))  # fmt: skip
            kernel = take(kernel_shape, "kernel", index)
            module.bn.bias[...] = jnp.asarray(bias)
            module.bn.scale[...] = jnp.asarray(scale)
            module.bn.mean[...] = jnp.asarray(mean)
            module.bn.var[...] = jnp.asarray(var)
        else:
            module.conv.bias[...] = jnp.asarray(take((out,), "bias", index))
            kernel = take(kernel_shape, "kernel", index)
        module.conv.kernel[...] = jnp.asarray(kernel.transpose(2, 3, 1, 0))  # OIHW -> HWIO
        loaded += 1
    if position != len(values):
        raise ValueError(
            f"{path}: {len(values) - position} values left after layer {cutoff - 1}: the file"
            " is for another network, or the cutoff is too small"
        )
    return loaded


__all__ = ["BACKBONE_CUTOFF", "BACKBONE_FILE", "load_darknet_weights", "read_header"]
