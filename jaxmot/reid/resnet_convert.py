"""torchvision ResNet checkpoints -> `jaxmot.reid.resnet.ResNet` (ImageNet initialisation).

    backbone = ResNet(50, rngs=nnx.Rngs(0))
    load_torchvision_resnet(backbone, "resnet50-11ad3fa6.pth")   # or a ReIDModel

The NNX ResNet mirrors torchvision's module names, so every key maps by a fixed rule:

    torchvision key                       NNX path                       array
    conv1.weight                          conv1.kernel                   OIHW -> HWIO
    bn1.weight / bias                     bn1.scale / bias               as is
    bn1.running_mean / running_var        bn1.mean / var                 as is
    layer1.0.downsample.0.weight          layer1[0].downsample[0].kernel OIHW -> HWIO
    *.num_batches_tracked                 (skipped: flax BatchNorm uses a fixed momentum)
    fc.weight / fc.bias                   (skipped: the 1000-class ImageNet classifier is
                                           task specific; heads are trained from scratch)

Only width-64 models have torchvision's shapes; anything else is reported as a shape
mismatch. Files are read locally, never downloaded.

Loading into an abstract model skips the random initialisation (seconds of compilation on
a CPU), since every variable is overwritten anyway:

    backbone = nnx.eval_shape(lambda: ResNet(50, rngs=nnx.Rngs(0)))
    load_torchvision_resnet(backbone, path)   # strict: every variable gets a real array
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.core.torch_io import (
    TORCH_LEAF_NAMES,
    LoadResult,
    StateDictMismatchError,
    key_problems,
    read_state_dict,
)
from jaxmot.reid.resnet import ResNet

_SKIPPED_PREFIXES = ("fc.",)
_SKIPPED_SUFFIXES = (".num_batches_tracked",)


def torchvision_key(path: tuple) -> str:
    """NNX variable path, e.g. ('layer1', 0, 'downsample', 1, 'mean') -> torchvision key
    'layer1.0.downsample.1.running_mean'."""
    *modules, leaf = path
    return ".".join([*map(str, modules), TORCH_LEAF_NAMES[leaf]])


def _backbone_of(model: nnx.Module) -> ResNet:
    if isinstance(model, ResNet):
        return model
    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, ResNet):
        return backbone
    raise TypeError(f"expected a ResNet or a model with a ResNet .backbone, got {type(model)}")


def _variables(backbone: ResNet) -> dict[str, nnx.Variable]:
    """torchvision key -> the NNX Param / BatchStat it fills."""
    return {
        torchvision_key(path): var
        for path, var in nnx.iter_graph(backbone)
        if isinstance(var, nnx.Param | nnx.BatchStat)
    }


def _torch_shape(nnx_shape: tuple[int, ...]) -> tuple[int, ...]:
    # HWIO -> OIHW; vectors unchanged.
    return (
        (nnx_shape[3], nnx_shape[2], nnx_shape[0], nnx_shape[1])
        if len(nnx_shape) == 4
        else nnx_shape
    )


def torchvision_shapes(model: nnx.Module) -> dict[str, tuple[int, ...]]:
    """torchvision key -> torch-layout shape, for every variable of the backbone.

    Works on an abstract model too: `torchvision_shapes(nnx.eval_shape(lambda: ResNet(...)))`.
    """
    return {
        key: _torch_shape(tuple(var.shape)) for key, var in _variables(_backbone_of(model)).items()
    }


def to_torchvision_state_dict(model: nnx.Module) -> dict[str, np.ndarray]:
    """The backbone's parameters and statistics under torchvision keys, in torch layouts."""
    out = {}
    for key, var in _variables(_backbone_of(model)).items():
        value = np.asarray(var[...])
        out[key] = value.transpose(3, 2, 0, 1) if value.ndim == 4 else value
    return out


def load_torchvision_resnet(
    model_or_backbone: nnx.Module,
    path_or_state_dict: str | pathlib.Path | Mapping[str, np.ndarray],
    *,
    strict: bool = True,
) -> LoadResult:
    """Fill a ResNet (or a model's `.backbone`) in place from a torchvision state dict.

    Args:
      model_or_backbone: a `ResNet`, or a module with a ResNet `.backbone` (e.g. ReIDModel);
        only the backbone is written.
      path_or_state_dict: a local .pth/.pt, .safetensors or .npz file, or a mapping of
        torchvision keys to arrays (numpy or CPU torch tensors).
      strict: raise unless every backbone variable is filled and every key is used (fc.*
        and num_batches_tracked excepted). Shape mismatches always raise.

    Returns:
      a LoadResult naming the loaded, skipped, missing and unexpected keys.

    Raises:
      StateDictMismatchError naming the missing and unexpected keys, or the mismatched
      shapes (both, in torch layout). Nothing is written when it raises.
    """
    backbone = _backbone_of(model_or_backbone)
    if isinstance(path_or_state_dict, Mapping):
        source, state = "state dict", dict(path_or_state_dict)
    else:
        source, state = str(path_or_state_dict), read_state_dict(path_or_state_dict)

    targets = _variables(backbone)
    skipped = sorted(
        k for k in state if k.startswith(_SKIPPED_PREFIXES) or k.endswith(_SKIPPED_SUFFIXES)
    )
    used = [k for k in state if k in targets]
    missing = sorted(set(targets) - set(state))
    unexpected = sorted(set(state) - set(targets) - set(skipped))

    model_name = f"ResNet-{backbone.depth} (width {backbone.width})"
    mismatched = []
    for key in used:
        got, want = tuple(np.shape(state[key])), _torch_shape(tuple(targets[key].shape))
        if got != want:
            mismatched.append(f"{key}: checkpoint {list(got)} vs model {list(want)}")
    problems = key_problems(mismatched, missing, unexpected, targets, strict)
    if problems:
        hint = ""
        if any(k.startswith("module.") for k in state):
            hint = " (keys start with 'module.': strip the DataParallel prefix first)"
        raise StateDictMismatchError(
            f"{source} does not fit {model_name}{hint}: " + " | ".join(problems)
        )

    for key in used:
        value = np.asarray(state[key])
        if value.ndim == 4:
            value = value.transpose(2, 3, 1, 0)  # OIHW -> HWIO
        var = targets[key]
        var.set_value(jnp.asarray(value, dtype=var.dtype))
    return LoadResult(
        loaded=tuple(sorted(used)),
        skipped=tuple(skipped),
        missing=tuple(missing),
        unexpected=tuple(unexpected),
    )
