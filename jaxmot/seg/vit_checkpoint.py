"""Exported DINO ViTs: official DINO weights as a project export (kind "dino_vit").

    python -m pipelines.convert dino dino_deitsmall16_pretrain.pth checkpoints/dino_s16
    model, config, manifest = FORMAT.load("checkpoints/dino_s16")   # VisionTransformer

The export holds the ViT's parameters and a ViTConfig (patch size, width, depth, heads,
MLP ratio, pretraining grid) read from the file's shapes, plus the "source" record of
jaxmot.core.converted. Wherever a DINO .pth is taken (`pipelines.segment
--vit-checkpoint`, FrozenViTFeatures), `vit_weights` turns an export folder back into
the DINO state dict `load_dino_vit` reads, so both forms work.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
from collections.abc import Mapping
from typing import Any

from flax import nnx

from jaxmot.core.converted import named_mismatch, read_official
from jaxmot.core.torch_io import StateDictMismatchError
from jaxmot.seg.dino_convert import load_dino_vit, strip_prefixes, to_dino_state_dict
from jaxmot.seg.vit import PRETRAIN_SIZE, VisionTransformer
from jaxmot.train.export import ModelFormat, export_with_config

KIND = "dino_vit"
DINO_HEAD_DIM = 64  # every released DINO ViT (S: 384 / 6 heads, B: 768 / 12) has 64-d heads


@dataclasses.dataclass(frozen=True)
class ViTConfig:
    """A DINO VisionTransformer's architecture. Defaults: ViT-S/16 (`vit_small(16)`)."""

    patch_size: int = 16
    embed_dim: int = 384
    depth: int = 12
    num_heads: int = 6
    mlp_ratio: float = 4.0
    pretrain_grid: int = PRETRAIN_SIZE // 16

    def __post_init__(self):
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by {self.num_heads}")


def build_vit(config: ViTConfig, rngs: nnx.Rngs) -> VisionTransformer:
    return VisionTransformer(
        config.patch_size,
        config.embed_dim,
        config.depth,
        config.num_heads,
        config.mlp_ratio,
        pretrain_grid=config.pretrain_grid,
        rngs=rngs,
    )


FORMAT = ModelFormat(KIND, "a DINO ViT export", ViTConfig, lambda c: build_vit(c, nnx.Rngs(0)))


def export_vit(
    model: VisionTransformer, config: ViTConfig, directory: str | os.PathLike, **extra: Any
) -> None:
    """Export `model` with a manifest holding `config` and `extra` (source, command)."""
    export_with_config(model, directory, kind=KIND, config=config, **extra)


def vit_config_of(
    state: Mapping, patch_size: int | None = None, num_heads: int | None = None
) -> ViTConfig:
    """The ViTConfig a DINO state dict fits, from its shapes: patch from
    patch_embed.proj.weight [D, 3, P, P], width from cls_token, depth from the blocks,
    MLP ratio from fc1, pretraining grid from pos_embed [1, 1 + G*G, D]; heads D / 64
    unless given. `patch_size`, when given, must be the file's. A file without these
    keys gives ViT-S/`patch_size` (loading it then names the missing keys)."""
    shapes = {strip_prefixes(k): tuple(getattr(v, "shape", ())) for k, v in state.items()}
    proj = shapes.get("patch_embed.proj.weight")
    if proj is None or len(proj) != 4 or "pos_embed" not in shapes:
        return ViTConfig(
            patch_size=patch_size or 16, pretrain_grid=PRETRAIN_SIZE // (patch_size or 16)
        )
    dim, patch = proj[0], proj[2]
    if patch_size is not None and patch_size != patch:
        raise ValueError(f"the checkpoint is a ViT with patch size {patch}, not {patch_size}")
    depth = 1 + max(
        (int(m[1]) for k in shapes if (m := re.match(r"blocks\.(\d+)\.", k))), default=-1
    )
    hidden = shapes.get("blocks.0.mlp.fc1.weight", (4 * dim, dim))[0]
    grid = round((shapes["pos_embed"][1] - 1) ** 0.5)
    heads = num_heads or max(1, dim // DINO_HEAD_DIM)
    return ViTConfig(patch, dim, depth, heads, hidden / dim, grid)


def convert_official_dino(
    path: str | os.PathLike,
    directory: str | os.PathLike,
    *,
    patch_size: int | None = None,
    num_heads: int | None = None,
    source: dict[str, Any] | None = None,
) -> tuple[VisionTransformer, ViTConfig]:
    """Export the official DINO backbone `path` (dino_deitsmall16_pretrain.pth, ..., or a
    training checkpoint's teacher) to `directory`; returns (model, config).

    Raises:
      StateDictMismatchError (a ValueError) naming the file's missing and unexpected
      keys; FileNotFoundError, ImportError (no torch) or ValueError for an unreadable file.
    """
    state = read_official(path)
    if isinstance(state.get("teacher"), Mapping):  # DINO's training checkpoint.pth
        state = state["teacher"]
    config = vit_config_of(state, patch_size, num_heads)
    model = nnx.eval_shape(lambda: build_vit(config, nnx.Rngs(0)))
    try:
        load_dino_vit(model, state)
    except StateDictMismatchError as err:
        raise named_mismatch(err, path) from None
    model.eval()
    extra = {} if source is None else {"source": source}
    export_vit(model, config, directory, **extra)
    return model, config


class ExportedDinoWeights(dict):
    """A `convert dino` export read back as the DINO state dict (numpy arrays in torch
    layouts) that `load_dino_vit` takes; prints as its folder."""

    def __init__(self, directory: str | os.PathLike):
        model, config, _ = FORMAT.load(directory)
        super().__init__(to_dino_state_dict(model))
        self.directory = pathlib.Path(directory)
        self.config = config

    def __str__(self) -> str:
        return f"{self.directory} (converted export)"

    __repr__ = __str__


def vit_weights(checkpoint: str | os.PathLike | None):
    """What `load_dino_vit` / FrozenViTFeatures take for a `--vit-checkpoint`: a DINO file
    as it is, an export folder as its `ExportedDinoWeights`, None as None."""
    if checkpoint is None or not pathlib.Path(checkpoint).is_dir():
        return checkpoint
    return ExportedDinoWeights(checkpoint)


__all__ = [
    "FORMAT",
    "KIND",
    "ExportedDinoWeights",
    "ViTConfig",
    "build_vit",
    "convert_official_dino",
    "export_vit",
    "vit_config_of",
    "vit_weights",
]
