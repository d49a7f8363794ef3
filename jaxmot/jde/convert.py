"""Official JDE checkpoints (Zhongdao/Towards-Realtime-MOT `Darknet`) -> `JDE`.

    model = load_official_jde(
        "jde.1088x608.uncertainty.pt", JDEConfig.full("1088x608"), ignore_classifier=True
    )
    out8, out16, out32 = model(images)    # eval mode, images [B, 608, 1088, 3] in [0, 1]

The official `train.py` saves `{'epoch', 'model': Darknet.state_dict(), 'optimizer'}`;
the tracker reads `['model']`. Both that and a bare state dict are accepted, keys with
or without the DataParallel `module.` prefix. Keys follow the cfg's layer list
(`jaxmot.jde.model.darknet_layers`, layer i = `module_list.{i}`):

    official key                                   NNX variable                 array
    module_list.{i}.conv_{i}.weight                layers[i].conv.kernel        OIHW -> HWIO
    module_list.{i}.conv_{i}.bias  (linear convs)  layers[i].conv.bias          as is
    module_list.{i}.batch_norm_{i}.weight / bias   layers[i].bn.scale / bias    as is
    module_list.{i}.batch_norm_{i}.running_mean    layers[i].bn.mean            as is
    module_list.{i}.batch_norm_{i}.running_var     layers[i].bn.var             as is
    module_list.{i}.batch_norm_{i}.num_batches_tracked   (skipped: fixed momentum)
    module_list.{i}.yolo_{i}.s_r / s_c / s_id [1]  uncertainty[row, 0 / 1 / 2]  row: stride
                                                   order (yolo layers 85, 100, 115 are
                                                   strides 32, 16, 8 -> rows 2, 1, 0)
    classifier.weight [nID, E] / classifier.bias   classifier.kernel [E, nID] / .bias

Nothing else is registered: the YOLO layers keep their anchors, grids and loss modules
as plain attributes (not buffers), and routes, shortcuts and upsampling have no state.
The checkpoint's identity classifier only matters for training; to track with
`num_ids=0`, pass `ignore_classifier=True` (its keys are then reported as skipped).
Files are read locally with `torch.load(weights_only=True)` (.pt / .pth / .tar) or as
.npz / .safetensors; nothing is downloaded.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.core.torch_io import (
    LoadResult,
    StateDictMismatchError,
    as_numpy,
    key_problems,
    read_checkpoint,
)
from jaxmot.jde.model import JDE, JDEConfig, darknet_layers
from jaxmot.jde.ops import STRIDES

_SKIPPED_SUFFIXES = (".num_batches_tracked",)
_BN_LEAVES = {"scale": "weight", "bias": "bias", "mean": "running_mean", "var": "running_var"}
_UNCERTAINTY_COLUMNS = ("s_r", "s_c", "s_id")


class _Target(NamedTuple):
    """Where an official key goes: a variable, its layout, and for the uncertainty
    cells the (row, column) inside it."""

    var: nnx.Variable
    layout: str  # conv | linear | same | cell
    cell: tuple[int, int] | None = None


def _targets(model: JDE) -> dict[str, _Target]:
    """Official key -> target, for every parameter and BN statistic of `model`."""
    if not isinstance(model, JDE):
        raise TypeError(f"expected a jaxmot.jde.model.JDE, got {type(model)}")
    out = {}
    for i, (layer, module) in enumerate(
        zip(darknet_layers(model.config), model.layers, strict=True)
    ):
        prefix = f"module_list.{i}"
        if layer.kind == "conv":
            out[f"{prefix}.conv_{i}.weight"] = _Target(module.conv.kernel, "conv")
            if module.conv.bias is not None:
                out[f"{prefix}.conv_{i}.bias"] = _Target(module.conv.bias, "same")
            if module.bn is not None:
                for leaf, name in _BN_LEAVES.items():
                    out[f"{prefix}.batch_norm_{i}.{name}"] = _Target(
                        getattr(module.bn, leaf), "same"
                    )
        elif layer.kind == "yolo":
            row = STRIDES.index(layer.stride)
            for col, name in enumerate(_UNCERTAINTY_COLUMNS):
                out[f"{prefix}.yolo_{i}.{name}"] = _Target(model.uncertainty, "cell", (row, col))
    if model.classifier is not None:
        out["classifier.weight"] = _Target(model.classifier.kernel, "linear")
        out["classifier.bias"] = _Target(model.classifier.bias, "same")
    return out


def _torch_shape(target: _Target) -> tuple[int, ...]:
    shape = tuple(target.var.shape)
    if target.layout == "conv":  # HWIO -> OIHW
        return (shape[3], shape[2], shape[0], shape[1])
    if target.layout == "linear":
        return shape[::-1]
    if target.layout == "cell":
        return (1,)
    return shape


def jde_shapes(model: JDE) -> dict[str, tuple[int, ...]]:
    """Official key -> torch-layout shape of every variable of `model` (works on an
    abstract model); equals `official_shapes(model.config)` less num_batches_tracked."""
    return {key: _torch_shape(target) for key, target in _targets(model).items()}


def official_shapes(config: JDEConfig) -> dict[str, tuple[int, ...]]:
    """Official key -> torch shape for every entry `Darknet(cfg).state_dict()` holds for
    `config` (num_batches_tracked, shape (), included), from the layer list alone."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, layer in enumerate(darknet_layers(config)):
        prefix = f"module_list.{i}"
        if layer.kind == "conv":
            k = layer.size
            shapes[f"{prefix}.conv_{i}.weight"] = (layer.out_channels, layer.in_channels, k, k)
            if not layer.batch_norm:
                shapes[f"{prefix}.conv_{i}.bias"] = (layer.out_channels,)
            else:
                for name in _BN_LEAVES.values():
                    shapes[f"{prefix}.batch_norm_{i}.{name}"] = (layer.out_channels,)
                shapes[f"{prefix}.batch_norm_{i}.num_batches_tracked"] = ()
        elif layer.kind == "yolo":
            for name in ("s_c", "s_r", "s_id"):  # registration order of YOLOLayer
                shapes[f"{prefix}.yolo_{i}.{name}"] = (1,)
    if config.num_ids > 0:
        shapes["classifier.weight"] = (config.num_ids, config.embedding_dim)
        shapes["classifier.bias"] = (config.num_ids,)
    return shapes


def to_official_state_dict(model: JDE) -> dict[str, np.ndarray]:
    """The model under official keys in torch layouts (inverse of `convert_state_dict`;
    no num_batches_tracked entries)."""
    out = {}
    for key, target in _targets(model).items():
        value = np.asarray(target.var[...])
        if target.layout == "conv":
            value = value.transpose(3, 2, 0, 1)
        elif target.layout == "linear":
            value = value.T
        elif target.layout == "cell":
            value = value[target.cell].reshape(1)
        out[key] = np.ascontiguousarray(value)
    return out


def convert_state_dict(
    state_dict: str | pathlib.Path | Mapping,
    model: JDE,
    *,
    strict: bool = True,
    ignore_classifier: bool = False,
) -> LoadResult:
    """Fill `model` (concrete or `nnx.eval_shape`-abstract) in place from an official
    checkpoint: a path, a `{'model': state_dict}` mapping or a bare state dict.

    Args:
      strict: raise unless every parameter and BN statistic is filled and every key
        is used (num_batches_tracked excepted). Shape mismatches always raise.
      ignore_classifier: skip the checkpoint's classifier.* (a model with num_ids=0
        loading a training checkpoint); otherwise they are unexpected there.

    Returns:
      a LoadResult (loaded / missing: official names; skipped / unexpected: the
      checkpoint's own names).

    Raises:
      StateDictMismatchError naming the missing and unexpected keys and the mismatched
      shapes (torch layout). Nothing is written when it raises.
    """
    targets = _targets(model)
    source, state, original = read_checkpoint(state_dict)

    def skip(key: str) -> bool:
        return key.endswith(_SKIPPED_SUFFIXES) or (
            ignore_classifier and key.startswith("classifier.") and key not in targets
        )

    skipped = sorted(original[k] for k in state if skip(k))
    used = [k for k in state if k in targets]
    missing = sorted(set(targets) - set(state))
    unexpected = sorted(original[k] for k in state if k not in targets and not skip(k))
    arrays = {k: as_numpy(state[k], original[k], source) for k in used}
    mismatched = []
    for key in used:
        got, want = tuple(arrays[key].shape), _torch_shape(targets[key])
        if got != want:
            mismatched.append(f"{original[key]}: checkpoint {list(got)} vs model {list(want)}")
    variables = {k: t.var for k, t in targets.items()}
    problems = key_problems(mismatched, missing, unexpected, variables, strict)
    if problems:
        cfg = model.config
        hint = ""
        if model.classifier is None and "classifier.weight" in state:
            n = state["classifier.weight"].shape[0]
            hint = (
                f" (the checkpoint has an identity classifier of {n} ids: build the model "
                f"with num_ids={n} or pass ignore_classifier=True)"
            )
        raise StateDictMismatchError(
            f"{source} does not fit JDE (width x{cfg.width_multiplier}, blocks {cfg.blocks}, "
            f"embedding {cfg.embedding_dim}, {cfg.num_anchors} anchors, num_ids "
            f"{cfg.num_ids}){hint}: " + " | ".join(problems)
        )

    cells = {}
    for key in used:
        target, value = targets[key], arrays[key]
        if target.layout == "cell":
            cells[target.cell] = float(value.reshape(()))
            continue
        if target.layout == "conv":
            value = value.transpose(2, 3, 1, 0)
        elif target.layout == "linear":
            value = value.T
        target.var.set_value(jnp.asarray(value, dtype=target.var.dtype))
    if cells:
        current = model.uncertainty.get_value()
        # An abstract model has no values to keep; strict loading has filled all nine.
        values = np.zeros((3, 3), np.float32) if len(cells) == 9 else np.array(current)
        for cell, v in cells.items():
            values[cell] = v
        model.uncertainty.set_value(jnp.asarray(values, jnp.float32))
    return LoadResult(
        loaded=tuple(sorted(used)),
        skipped=tuple(skipped),
        missing=tuple(missing),
        unexpected=tuple(unexpected),
    )


def load_official_jde(
    path_or_state_dict: str | pathlib.Path | Mapping,
    config: JDEConfig,
    *,
    ignore_classifier: bool = False,
) -> JDE:
    """A JDE of `config`, strictly filled from an official checkpoint, in eval mode.

    Built abstract (`nnx.eval_shape`), so no random initialisation is compiled; every
    variable must come from the file. The official releases are 1088x608, 864x480 and
    576x320 models of identical structure: `JDEConfig.full(resolution)`. Their
    identity classifier is the training set's (14455 ids in the paper): build with that
    `num_ids` to fine-tune, or pass `ignore_classifier=True` to track (the official
    tracker drops it too, loading with strict=False).
    """
    model = nnx.eval_shape(lambda: JDE(config, rngs=nnx.Rngs(0)))
    convert_state_dict(path_or_state_dict, model, ignore_classifier=ignore_classifier)
    model.eval()
    return model


__all__ = [
    "convert_state_dict",
    "jde_shapes",
    "load_official_jde",
    "official_shapes",
    "to_official_state_dict",
]
