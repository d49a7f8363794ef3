"""Reading official PyTorch checkpoints: the part every converter shares.

`torch_load` (always `weights_only=True`, on the CPU), `read_state_dict` / `read_checkpoint`
(.pth/.pt, .safetensors or .npz -> NumPy arrays), and the key/shape problem report
(`key_problems`, `StateDictMismatchError`) the converters of each system raise. Files are
read locally, never downloaded. The per-model rules live with each system:
`jaxmot.reid.resnet_convert` (torchvision ResNets), `jaxmot.jde.convert`,
`jaxmot.sot.convert`, `jaxmot.seg.dino_convert`.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping

import jax
import numpy as np

# NNX variable name -> torch parameter/buffer name.
TORCH_LEAF_NAMES = {
    "kernel": "weight",
    "scale": "weight",
    "bias": "bias",
    "mean": "running_mean",
    "var": "running_var",
}
_MAX_LISTED = 20  # keys named in an error message before "... and N more"


class StateDictMismatchError(ValueError):
    """A checkpoint's keys or shapes do not match the model."""


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """What a converter did: the keys (in the checkpoint's own names) it loaded, skipped
    (present but deliberately unused), found missing or unexpected."""

    loaded: tuple[str, ...]
    skipped: tuple[str, ...]  # present in the file, ignored by design (e.g. a classifier)
    missing: tuple[str, ...]  # wanted by the model, absent (only when strict=False)
    unexpected: tuple[str, ...]  # in the file, unknown to the model (only when strict=False)


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


def listed_keys(keys: list[str]) -> str:
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
        problems.append(f"missing keys ({len(missing)}){note}: {listed_keys(missing)}")
    if strict and unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {listed_keys(unexpected)}")
    return problems
