"""torchvision ResNet checkpoints -> `jaxmot.models.resnet.ResNet` (ImageNet initialisation).

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

import dataclasses
import pathlib
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.models.resnet import ResNet

# NNX variable name -> torch parameter/buffer name.
TORCH_LEAF_NAMES = {
    "kernel": "weight",
    "scale": "weight",
    "bias": "bias",
    "mean": "running_mean",
    "var": "running_var",
}
_SKIPPED_PREFIXES = ("fc.",)
_SKIPPED_SUFFIXES = (".num_batches_tracked",)
_MAX_LISTED = 20  # keys named in an error message before "... and N more"


class StateDictMismatchError(ValueError):
    """A checkpoint's keys or shapes do not match the model."""


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """What `load_torchvision_resnet` did (the keys are torchvision names)."""

    loaded: tuple[str, ...]
    skipped: tuple[str, ...]  # fc.* and num_batches_tracked, present in the file, ignored
    missing: tuple[str, ...]  # wanted by the model, absent (only when strict=False)
    unexpected: tuple[str, ...]  # in the file, unknown to the model (only when strict=False)


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


def torch_load(path: str | pathlib.Path, hint: str = ""):
    """`torch.load(path, weights_only=True)` on the CPU (never unpickles arbitrary
    objects), with an ImportError that says how to get torch when it is missing."""
    try:
        import torch
    except ImportError as e:
        raise ImportError(f"reading {path} needs PyTorch: pip install torch==2.13.0{hint}") from e
    return torch.load(path, map_location="cpu", weights_only=True)


def read_state_dict(path: str | pathlib.Path) -> dict[str, np.ndarray]:
    """A local .pth/.pt (torch), .safetensors or .npz file -> {key: numpy array}."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".pth", ".pt"):
        hint = " (or convert the file to .npz or .safetensors where torch is installed)"
        state = torch_load(path, hint)
        import torch  # torch_load succeeded, so torch is there

        if not isinstance(state, Mapping):
            raise ValueError(f"{path}: expected a state dict, got {type(state).__name__}")
        out = {}
        for key, value in state.items():
            if not isinstance(value, torch.Tensor):
                raise ValueError(
                    f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor; is this "
                    "a training checkpoint? Pass its model state dict instead."
                )
            # float32 first: numpy has no bfloat16/float16-safe path for every tensor.
            value = value.detach().float() if value.is_floating_point() else value.detach()
            out[key] = value.numpy()
        return out
    if suffix == ".safetensors":
        try:
            from safetensors.numpy import load_file
        except ImportError as e:
            raise ImportError(f"reading {path} needs safetensors: pip install safetensors") from e
        return dict(load_file(path))
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    raise ValueError(
        f"{path}: unsupported checkpoint type {suffix!r} (.pth, .pt, .safetensors, .npz)"
    )


def unwrap_checkpoint(
    checkpoint: Mapping, wrapper_keys: tuple[str, ...] = ("model",)
) -> tuple[dict, dict[str, str]]:
    """A loaded checkpoint -> ({stripped key: value}, {stripped key: original key}).

    Takes the weights out of the first `wrapper_keys` entry that holds a mapping (e.g.
    `{'model': state_dict, 'epoch': ..., 'optimizer': ...}`), else uses the checkpoint
    as a bare state dict, and strips a leading `module.` (DataParallel) from every key.
    """
    prefix = ""
    for name in wrapper_keys:
        inner = checkpoint.get(name)
        if isinstance(inner, Mapping):
            checkpoint, prefix = inner, f"{name}/"
            break
    state, original = {}, {}
    for key, value in checkpoint.items():
        name = key.removeprefix("module.")
        if name in state:
            raise StateDictMismatchError(
                f"keys {original[name]!r} and {prefix + key!r} are equal once 'module.' is stripped"
            )
        state[name], original[name] = value, prefix + key
    return state, original


def read_checkpoint(
    path_or_state_dict, wrapper_keys: tuple[str, ...] = ("model",)
) -> tuple[str, dict, dict[str, str]]:
    """(source name, state, original keys) of a checkpoint given as a loaded mapping or
    a file: .pth/.pt/.tar through `torch_load` (weights_only), else `read_state_dict`
    (.npz, .safetensors); unwrapped by `unwrap_checkpoint`."""
    if isinstance(path_or_state_dict, Mapping):
        return ("state dict", *unwrap_checkpoint(path_or_state_dict, wrapper_keys))
    path = pathlib.Path(path_or_state_dict)
    if path.suffix.lower() in (".pth", ".pt", ".tar"):
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint not found: {path}")
        raw = torch_load(path)
        if not isinstance(raw, Mapping):
            raise ValueError(f"{path}: expected a (wrapped) state dict, got {type(raw).__name__}")
        return (str(path), *unwrap_checkpoint(raw, wrapper_keys))
    return (str(path), *unwrap_checkpoint(read_state_dict(path), wrapper_keys))


def as_numpy(value, key: str, source: str) -> np.ndarray:
    """A state-dict entry (torch tensor, array, list) as a NumPy array (float32 for
    floating tensors, e.g. bf16 ones); `key` and `source` name it in errors."""
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach()
        return (value.float() if value.is_floating_point() else value).numpy()
    if isinstance(value, Mapping):
        raise ValueError(f"{source}: entry {key!r} is a nested mapping, not an array")
    return np.asarray(value)


def _listed(keys: list[str]) -> str:
    more = f" ... and {len(keys) - _MAX_LISTED} more" if len(keys) > _MAX_LISTED else ""
    return ", ".join(keys[:_MAX_LISTED]) + more


def key_problems(
    mismatched: list[str], missing: list[str], unexpected: list[str], targets: dict, strict: bool
) -> list[str]:
    """The lines of a StateDictMismatchError: shape mismatches, missing keys (always when
    the model is abstract, since its variables have no value to keep) and, when
    `strict`, unexpected keys. `targets` maps the missing keys to their nnx.Variable."""
    problems = []
    if mismatched:
        problems.append(
            f"shape mismatches ({len(mismatched)}): " + "; ".join(mismatched[:_MAX_LISTED])
        )
    # An abstract model (nnx.eval_shape) cannot keep its initial values: it has none.
    abstract = any(isinstance(targets[k].get_value(), jax.ShapeDtypeStruct) for k in missing)
    if missing and (strict or abstract):
        note = " (the model is abstract: every variable needs a value)" if abstract else ""
        problems.append(f"missing keys ({len(missing)}){note}: {_listed(missing)}")
    if strict and unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {_listed(unexpected)}")
    return problems


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
