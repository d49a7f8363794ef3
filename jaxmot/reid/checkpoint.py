"""Exported ReID models: `jaxmot.train.export` with a ReIDModelConfig (kind "reid")."""

from __future__ import annotations

import os
from typing import Any

from flax import nnx

from jaxmot.core.paths import shipped_checkpoint
from jaxmot.reid.model import ReIDModel, ReIDModelConfig, build_reid_model
from jaxmot.train.export import (
    ModelFormat,
    export_with_config,
)

KIND = "reid"
# The checkpoint shipped with the package, trained by `pipelines.train_reid`.
DEFAULT_CHECKPOINT = shipped_checkpoint("reid_synthetic_r18w16")


def _build(config: ReIDModelConfig):
    return build_reid_model(config, nnx.Rngs(0))


FORMAT = ModelFormat(KIND, "a ReID model", ReIDModelConfig, _build, DEFAULT_CHECKPOINT)


def export_reid_model(
    model: ReIDModel, config: ReIDModelConfig, directory: str | os.PathLike, **extra: Any
) -> None:
    """Export with a manifest holding the model config and `extra` (metrics, command...)."""
    export_with_config(model, directory, kind=KIND, config=config, **extra)


def load_reid_model(
    directory: str | os.PathLike = DEFAULT_CHECKPOINT,
) -> tuple[ReIDModel, ReIDModelConfig]:
    """(model in eval mode, its config) from an exported directory."""
    model, config, _ = FORMAT.load(directory)
    return model, config


__all__ = [
    "FORMAT",
    "DEFAULT_CHECKPOINT",
    "KIND",
    "export_reid_model",
    "load_reid_model",
]
