"""Official E.T.Track checkpoints (pblatter/ettrack `ET_Tracker`) -> `ETTrack`.

    model = nnx.eval_shape(lambda: ETTrack(ETTrackConfig(), rngs=nnx.Rngs(0)))  # no init
    load_ettrack(model, "checkpoints/et_tracker/checkpoint_e35.pth")
    model.eval()

Key names are the official module names; each NNX variable maps by a fixed rule:

    official key                                  NNX path                      array
    backbone_net.conv_stem.weight                 backbone.conv_stem.kernel     OIHW -> HWIO
    backbone_net.blocks.2.1.se.conv_reduce.bias   backbone.blocks[2][1].se...   as is
    *.bn*.weight / bias / running_mean / var      *.scale / bias / mean / var   as is
    neck.BN_z.0.* / neck.BN_x.0.*                 neck_template_bn / neck_search_bn
    feature_fusor.pw_corr.0.CA_layer.fc1/fc2.*    channel_attention.fc1/fc2     OIHW -> HWIO
    feature_fusor.adj_layer.0.*                   adjust
    cls_branch_{1..6}.*, bbreg_branch_{1..8}.*    cls_tower[0..5], reg_tower[0..7]
    separable conv layers:
      conv1 / pointwise / BN                      depthwise / pointwise / bn    OIHW -> HWIO
    E.T. layers:
      average_pooler.fc1.weight                   query.kernel                  transposed
      K                                           keys                          as is
      V_dw [E, C*1*k*k]                           dw_kernels [E, k, k, C]       reshaped
      V_pw [E, C_out*C_in]                        pw_kernels [E, C_in, C_out]   reshaped
      se.conv_reduce / conv_expand.weight         se.reduce / expand.kernel     [o,i,1,1] -> [i,o]
      linear1 / linear2.weight                    ffn1 / ffn2.kernel            transposed
      dw_bn, pw_bn, norm1, norm2                  same names
    cls_pred_head.cls_pred.*                      cls_pred
    reg_pred_head.bbox_pred.*                     reg_pred
    *.num_batches_tracked                         (skipped: momentum is fixed)

Checkpoint wrapping, as the official loader (`supernet_backbone/lib_back/utils/helpers.py`
`load_state_dict`) accepts it: the weights may sit under a `state_dict` key (also
`state_dict_ema`, `net` or `model` here) next to epoch / optimizer entries, and keys may
carry the DataParallel `module.` prefix, which is stripped. Files are read with
`jaxmot.core.torch_io.torch_load` (weights_only=True) or, for .npz / .safetensors,
`read_state_dict`. In a LoadResult `loaded` and `missing` use the stripped names,
`skipped` and `unexpected` the checkpoint's own.

An abstract model (`nnx.eval_shape`) also has abstract dropout RNG streams in its E.T.
layers; the checkpoint holds none, so they are seeded from `rng_seed`.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.core.torch_io import TORCH_LEAF_NAMES as _LEAF_NAMES
from jaxmot.core.torch_io import (
    LoadResult,
    StateDictMismatchError,
    as_numpy,
    key_problems,
    read_checkpoint,
)
from jaxmot.sot.model import ETTrack

_PREFIXES = {
    "backbone": "backbone_net",
    "neck_template_bn": "neck.BN_z.0",
    "neck_search_bn": "neck.BN_x.0",
    "channel_attention": "feature_fusor.pw_corr.0.CA_layer",
    "adjust": "feature_fusor.adj_layer.0",
    "cls_pred": "cls_pred_head.cls_pred",
    "reg_pred": "reg_pred_head.bbox_pred",
}
_TOWERS = {"cls_tower": "cls_branch", "reg_tower": "bbreg_branch"}
_SEPARABLE = {"depthwise": "conv1", "pointwise": "pointwise", "bn": "BN"}
# E.T. layer: NNX sub-path -> (official name, layout).
_EXEMPLAR = {
    ("query", "kernel"): ("average_pooler.fc1.weight", "linear"),
    ("query", "bias"): ("average_pooler.fc1.bias", "same"),
    ("keys",): ("K", "same"),
    ("dw_kernels",): ("V_dw", "exemplar_dw"),
    ("pw_kernels",): ("V_pw", "exemplar_pw"),
    ("se", "reduce", "kernel"): ("se.conv_reduce.weight", "dense_as_conv"),
    ("se", "reduce", "bias"): ("se.conv_reduce.bias", "same"),
    ("se", "expand", "kernel"): ("se.conv_expand.weight", "dense_as_conv"),
    ("se", "expand", "bias"): ("se.conv_expand.bias", "same"),
    ("ffn1", "kernel"): ("linear1.weight", "linear"),
    ("ffn1", "bias"): ("linear1.bias", "same"),
    ("ffn2", "kernel"): ("linear2.weight", "linear"),
    ("ffn2", "bias"): ("linear2.bias", "same"),
}
_WRAPPER_KEYS = ("state_dict", "state_dict_ema", "net", "model")
_SKIPPED_SUFFIXES = (".num_batches_tracked",)


def official_key(path: tuple) -> tuple[str, str]:
    """NNX variable path -> (official key, layout), e.g.
    ('cls_tower', 1, 'pw_kernels') -> ('cls_branch_2.V_pw', 'exemplar_pw')."""
    head, *rest = path
    if head in _TOWERS:
        index, *sub = rest
        prefix = f"{_TOWERS[head]}_{index + 1}"
        if tuple(sub) in _EXEMPLAR:
            name, layout = _EXEMPLAR[tuple(sub)]
            return f"{prefix}.{name}", layout
        if sub[0] in _SEPARABLE:
            sub = [_SEPARABLE[sub[0]], *sub[1:]]
        modules, leaf = sub[:-1], sub[-1]
    else:
        modules, leaf = [_PREFIXES[head], *rest[:-1]], rest[-1]
        prefix = None
    layout = "conv" if leaf == "kernel" else "same"
    key = ".".join([*([prefix] if prefix else []), *map(str, modules), _LEAF_NAMES[leaf]])
    return key, layout


def _torch_shape(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    if layout == "conv":  # HWIO -> OIHW
        return (shape[3], shape[2], shape[0], shape[1])
    if layout == "linear":
        return shape[::-1]
    if layout == "dense_as_conv":  # [in, out] -> [out, in, 1, 1]
        return (shape[1], shape[0], 1, 1)
    if layout in ("exemplar_dw", "exemplar_pw"):  # [E, ...] -> [E, prod(...)]
        return (shape[0], int(np.prod(shape[1:])))
    return shape


def _to_torch(value: np.ndarray, layout: str) -> np.ndarray:
    if layout == "conv":
        return value.transpose(3, 2, 0, 1)
    if layout == "linear":
        return value.T
    if layout == "dense_as_conv":
        return value.T[:, :, None, None]
    if layout == "exemplar_dw":  # [E, k, k, C] -> torch (C, 1, k, k) flattened
        return value.transpose(0, 3, 1, 2).reshape(value.shape[0], -1)
    if layout == "exemplar_pw":  # [E, C_in, C_out] -> torch (C_out, C_in) flattened
        return value.transpose(0, 2, 1).reshape(value.shape[0], -1)
    return value


def _to_nnx(value: np.ndarray, layout: str, shape: tuple[int, ...]) -> np.ndarray:
    if layout == "conv":
        return value.transpose(2, 3, 1, 0)
    if layout == "linear":
        return value.T
    if layout == "dense_as_conv":
        return value[:, :, 0, 0].T
    if layout == "exemplar_dw":
        e, k, _, c = shape
        return value.reshape(e, c, k, k).transpose(0, 2, 3, 1)
    if layout == "exemplar_pw":
        e, c_in, c_out = shape
        return value.reshape(e, c_out, c_in).transpose(0, 2, 1)
    return value


def _variables(model: ETTrack) -> dict[str, tuple[nnx.Variable, str]]:
    if not isinstance(model, ETTrack):
        raise TypeError(f"expected a jaxmot.sot.model.ETTrack, got {type(model)}")
    out = {}
    for path, var in nnx.iter_graph(model):
        if isinstance(var, nnx.Param | nnx.BatchStat):
            key, layout = official_key(path)
            out[key] = (var, layout)
    return out


def ettrack_shapes(model: ETTrack) -> dict[str, tuple[int, ...]]:
    """Official key -> torch-layout shape for every parameter and BN statistic (works on
    an abstract model)."""
    return {k: _torch_shape(tuple(v.shape), lay) for k, (v, lay) in _variables(model).items()}


def to_official_state_dict(model: ETTrack) -> dict[str, np.ndarray]:
    """The model under official keys in torch layouts (inverse of `load_ettrack`; no
    num_batches_tracked entries)."""
    return {
        k: np.ascontiguousarray(_to_torch(np.asarray(v[...]), lay))
        for k, (v, lay) in _variables(model).items()
    }


def _seed_abstract_rngs(model: ETTrack, seed: int) -> None:
    """Give the abstract dropout streams of an `nnx.eval_shape` model real values."""
    key = jax.random.key(seed)
    for i, (_, var) in enumerate(nnx.iter_graph(model)):
        if not isinstance(var, nnx.RngKey | nnx.RngCount):
            continue
        if not isinstance(var.get_value(), jax.ShapeDtypeStruct):
            continue
        if isinstance(var, nnx.RngKey):
            var.set_value(jax.random.fold_in(key, i))
        else:
            var.set_value(jnp.zeros((), jnp.uint32))


def load_ettrack(
    model: ETTrack,
    path_or_state_dict: str | pathlib.Path | Mapping,
    *,
    strict: bool = True,
    rng_seed: int = 0,
) -> LoadResult:
    """Fill an ETTrack in place from an official E.T.Track checkpoint.

    Args:
      model: the ETTrack, concrete or abstract (`nnx.eval_shape`); its config must be the
        checkpoint's (the shipped tracker: `ETTrackConfig()`).
      path_or_state_dict: a local .pth / .pt (torch.load, weights_only=True), .npz or
        .safetensors file, or a mapping; optionally wrapped under `state_dict` / `net` /
        `model` and with `module.`-prefixed keys.
      strict: raise unless every parameter and BN statistic is filled and every key is
        used (num_batches_tracked excepted). Shape mismatches always raise.
      rng_seed: seeds the dropout streams of an abstract model.

    Returns:
      a LoadResult naming the loaded, skipped, missing and unexpected keys.

    Raises:
      StateDictMismatchError naming the missing and unexpected keys or the mismatched
      shapes (torch layout). Nothing is written when it raises.
    """
    targets = _variables(model)
    source, state, original = read_checkpoint(path_or_state_dict, _WRAPPER_KEYS)

    skipped = sorted(original[k] for k in state if k.endswith(_SKIPPED_SUFFIXES))
    used = [k for k in state if k in targets]
    missing = sorted(set(targets) - set(state))
    unexpected = sorted(
        original[k] for k in state if k not in targets and not k.endswith(_SKIPPED_SUFFIXES)
    )
    arrays = {k: as_numpy(state[k], original[k], source) for k in used}
    mismatched = []
    for key in used:
        var, layout = targets[key]
        got, want = arrays[key].shape, _torch_shape(tuple(var.shape), layout)
        if tuple(got) != want:
            mismatched.append(f"{original[key]}: checkpoint {list(got)} vs model {list(want)}")
    variables = {k: v for k, (v, _) in targets.items()}
    problems = key_problems(mismatched, missing, unexpected, variables, strict)
    if problems:
        cfg = model.config
        raise StateDictMismatchError(
            f"{source} does not fit E.T.Track (backbone width {cfg.backbone_width}, heads "
            f"{cfg.cls_channels}/{cfg.reg_channels}, E.T. query {cfg.exemplar.query_dim}, "
            f"FFN {cfg.exemplar.ffn_dim}): " + " | ".join(problems)
        )

    for key in used:
        var, layout = targets[key]
        value = _to_nnx(arrays[key], layout, tuple(var.shape))
        var.set_value(jnp.asarray(value, dtype=var.dtype))
    _seed_abstract_rngs(model, rng_seed)
    return LoadResult(
        loaded=tuple(sorted(used)),
        skipped=tuple(skipped),
        missing=tuple(missing),
        unexpected=tuple(unexpected),
    )


__all__ = [
    "ettrack_shapes",
    "load_ettrack",
    "official_key",
    "to_official_state_dict",
]
