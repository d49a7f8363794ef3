"""Official DINO ViT checkpoints -> `jaxmot.seg.vit.VisionTransformer`.

    model = nnx.eval_shape(lambda: vit_small(16, rngs=nnx.Rngs(0)))  # no random init
    load_dino_vit(model, "dino_deitsmall16_pretrain.pth")

The NNX ViT mirrors facebookresearch/dino `vision_transformer.py`, so every key maps by a
fixed rule:

    DINO key                          NNX path                          array
    cls_token, pos_embed              cls_token, pos_embed              as is
    patch_embed.proj.weight           patch_embed.proj.kernel           OIHW -> HWIO
    blocks.3.attn.qkv.weight          blocks[3].attn.qkv.kernel         [out, in] -> [in, out]
    blocks.3.norm1.weight / bias      blocks[3].norm1.scale / bias      as is
    *.bias                            *.bias                            as is

Prefixes: DINO's training checkpoints (`checkpoint.pth`) keep the student under
`module.backbone.*` (DistributedDataParallel) and the teacher under `backbone.*`; a
leading `module.` and then a leading `backbone.` are stripped from every key, so
`torch.load(path)["teacher"]` loads as is. `head.*` keys (the DINO projection head, a
training-only module) are skipped, as in the released `*_pretrain.pth` backbones, which
have none.

In a LoadResult, `loaded` and `missing` use the DINO (stripped) names, `skipped` and
`unexpected` the checkpoint's own names. Files are read locally with
`jaxmot.core.torch_io.read_state_dict` (torch.load with weights_only=True).
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.core.torch_io import (
    LoadResult,
    StateDictMismatchError,
    key_problems,
    listed_keys,
    read_state_dict,
)
from jaxmot.seg.vit import VisionTransformer

_LEAF_NAMES = {"kernel": "weight", "scale": "weight", "bias": "bias"}
_STRIPPED_PREFIXES = ("module.", "backbone.")  # in this order, each at most once
_SKIPPED_PREFIXES = ("head.",)


def dino_key(path: tuple) -> str:
    """NNX variable path -> DINO key, e.g. ('blocks', 0, 'attn', 'qkv', 'kernel') ->
    'blocks.0.attn.qkv.weight'; ('pos_embed',) -> 'pos_embed'."""
    *modules, leaf = path
    return ".".join([*map(str, modules), _LEAF_NAMES.get(leaf, leaf)])


def strip_prefixes(key: str) -> str:
    """'module.backbone.blocks.0.norm1.weight' -> 'blocks.0.norm1.weight'."""
    for prefix in _STRIPPED_PREFIXES:
        key = key.removeprefix(prefix)
    return key


def _variables(model: VisionTransformer) -> dict[str, nnx.Variable]:
    if not isinstance(model, VisionTransformer):
        raise TypeError(f"expected a jaxmot.seg.vit.VisionTransformer, got {type(model)}")
    return {
        dino_key(path): var for path, var in nnx.iter_graph(model) if isinstance(var, nnx.Param)
    }


def _torch_shape(key: str, nnx_shape: tuple[int, ...]) -> tuple[int, ...]:
    if key.endswith(".weight") and len(nnx_shape) == 4:  # HWIO -> OIHW
        return (nnx_shape[3], nnx_shape[2], nnx_shape[0], nnx_shape[1])
    if key.endswith(".weight") and len(nnx_shape) == 2:  # Linear [in, out] -> [out, in]
        return nnx_shape[::-1]
    return nnx_shape


def _to_nnx(value: np.ndarray) -> np.ndarray:
    if value.ndim == 4:
        return value.transpose(2, 3, 1, 0)  # OIHW -> HWIO
    if value.ndim == 2:
        return value.T  # Linear weight [out, in] -> kernel [in, out]
    return value


def dino_shapes(model: VisionTransformer) -> dict[str, tuple[int, ...]]:
    """DINO key -> torch-layout shape, for every parameter (works on an abstract model)."""
    return {key: _torch_shape(key, tuple(var.shape)) for key, var in _variables(model).items()}


def to_dino_state_dict(model: VisionTransformer) -> dict[str, np.ndarray]:
    """The model's parameters under DINO keys, in torch layouts (inverse of load_dino_vit)."""
    out = {}
    for key, var in _variables(model).items():
        value = np.asarray(var[...])
        if value.ndim == 4:
            value = value.transpose(3, 2, 0, 1)
        elif value.ndim == 2:
            value = value.T
        out[key] = value
    return out


def load_dino_vit(
    model: VisionTransformer,
    path_or_state_dict: str | pathlib.Path | Mapping[str, np.ndarray],
    *,
    strict: bool = True,
) -> LoadResult:
    """Fill a VisionTransformer in place from an official DINO state dict.

    Args:
      model: the ViT, concrete or abstract (`nnx.eval_shape`); its patch size, width, depth
        and pretraining grid must be the checkpoint's.
      path_or_state_dict: a local .pth/.pt, .safetensors or .npz file, or a mapping of
        DINO keys (optionally `module.` / `backbone.` prefixed) to numpy arrays or CPU
        torch tensors.
      strict: raise unless every parameter is filled and every key is used (head.*
        excepted). Shape mismatches always raise.

    Returns:
      a LoadResult naming the loaded, skipped, missing and unexpected keys.

    Raises:
      StateDictMismatchError naming the missing and unexpected keys, keys that collide
      once prefixes are stripped, or mismatched shapes (torch layout). Nothing is written
      when it raises.
    """
    targets = _variables(model)
    if isinstance(path_or_state_dict, Mapping):
        source, raw = "state dict", dict(path_or_state_dict)
    else:
        source, raw = str(path_or_state_dict), read_state_dict(path_or_state_dict)

    state: dict[str, object] = {}
    original: dict[str, str] = {}  # stripped -> checkpoint key
    collisions = []
    for key, value in raw.items():
        name = strip_prefixes(key)
        if name in original:
            collisions.append(f"{original[name]} and {key}")
        state[name], original[name] = value, key
    skipped = sorted(original[k] for k in state if k.startswith(_SKIPPED_PREFIXES))
    used = [k for k in state if k in targets]
    missing = sorted(set(targets) - set(state))
    unexpected = sorted(
        original[k] for k in state if k not in targets and not k.startswith(_SKIPPED_PREFIXES)
    )

    model_name = (
        f"DINO ViT (patch {model.patch_size}, dim {model.embed_dim}, depth {model.depth}, "
        f"pretraining grid {model.pretrain_grid}x{model.pretrain_grid})"
    )
    mismatched = []
    for key in used:
        got = tuple(np.shape(state[key]))
        want = _torch_shape(key, tuple(targets[key].shape))
        if got != want:
            mismatched.append(f"{original[key]}: checkpoint {list(got)} vs model {list(want)}")
    problems = []
    if collisions:
        problems.append(
            f"keys equal once 'module.'/'backbone.' is stripped ({len(collisions)}): "
            + listed_keys(collisions)
        )
    problems += key_problems(mismatched, missing, unexpected, targets, strict)
    if problems:
        hint = ""
        if any(isinstance(v, Mapping) for v in raw.values()):
            hint = " (a nested training checkpoint? pass its 'teacher' state dict)"
        raise StateDictMismatchError(
            f"{source} does not fit {model_name}{hint}: " + " | ".join(problems)
        )

    for key in used:
        var = targets[key]
        var.set_value(jnp.asarray(_to_nnx(np.asarray(state[key])), dtype=var.dtype))
    return LoadResult(
        loaded=tuple(sorted(used)),
        skipped=tuple(skipped),
        missing=tuple(missing),
        unexpected=tuple(unexpected),
    )


__all__ = ["dino_key", "dino_shapes", "load_dino_vit", "strip_prefixes", "to_dino_state_dict"]
