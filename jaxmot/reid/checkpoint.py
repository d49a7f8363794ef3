"""Save and load exported ReID models (`jaxmot.train.export` with a ReIDModelConfig)."""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any

from flax import nnx

from jaxmot.reid.model import ReIDModel, ReIDModelConfig, build_reid_model
from jaxmot.train.export import export_model, load_model, read_manifest, update_manifest

KIND = "reid"
# The checkpoint shipped with the repository, trained by `pipelines.train_reid`.
DEFAULT_CHECKPOINT = (
    pathlib.Path(__file__).resolve().parents[2] / "checkpoints" / "reid_synthetic_r18w16"
)


def config_from_dict(values: dict[str, Any]) -> ReIDModelConfig:
    values = dict(values)
    values["input_size"] = tuple(values["input_size"])
    return ReIDModelConfig(**values)


def export_reid_model(
    model: ReIDModel, config: ReIDModelConfig, directory: str | os.PathLike, **extra: Any
) -> None:
    """Export with a manifest holding the model config and `extra` (metrics, command...)."""
    manifest = {"kind": KIND, "config": dataclasses.asdict(config), **extra}
    export_model(model, directory, manifest)


def load_reid_model(
    directory: str | os.PathLike = DEFAULT_CHECKPOINT,
) -> tuple[ReIDModel, ReIDModelConfig]:
    """(model in eval mode, its config) from an exported directory."""

    def build(manifest):
        if manifest.get("kind") != KIND:
            raise ValueError(f"{directory}: not a ReID model (kind {manifest.get('kind')!r})")
        return build_reid_model(config_from_dict(manifest["config"]), nnx.Rngs(0))

    model, manifest = load_model(directory, build)
    model.eval()
    return model, config_from_dict(manifest["config"])


__all__ = [
    "DEFAULT_CHECKPOINT",
    "export_reid_model",
    "load_reid_model",
    "read_manifest",
    "update_manifest",
]
