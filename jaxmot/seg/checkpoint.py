"""Save and load exported segmenters (`jaxmot.train.export` + SegmenterConfig)."""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any

from flax import nnx

from jaxmot.seg.model import LinearProbe, PacUpsampler, SegmenterConfig, build_segmenter
from jaxmot.train.export import export_model, load_model

KIND = "segmenter"
_CHECKPOINTS = pathlib.Path(__file__).resolve().parents[2] / "checkpoints"
# The shipped PAC joint upsampler, trained by `pipelines.train_seg --config synthetic_joint`.
JOINT_CHECKPOINT = _CHECKPOINTS / "seg_joint_synthetic"


def export_segmenter(
    model: LinearProbe | PacUpsampler, directory: str | os.PathLike, **extra: Any
) -> None:
    """Export with a manifest holding the segmenter config and `extra` (metrics, command)."""
    config = dataclasses.asdict(model.config)
    export_model(model, directory, {"kind": KIND, "config": config, **extra})


def load_segmenter(
    directory: str | os.PathLike | None = None,
) -> tuple[LinearProbe | PacUpsampler, dict[str, Any]]:
    """(model in eval mode, manifest) from an exported directory (default: the shipped
    joint upsampler)."""
    directory = JOINT_CHECKPOINT if directory is None else directory

    def build(manifest):
        if manifest.get("kind") != KIND:
            raise ValueError(f"{directory}: not a segmenter (kind {manifest.get('kind')!r})")
        config = dict(manifest["config"])
        config["channels"] = tuple(config["channels"])
        return build_segmenter(SegmenterConfig(**config), nnx.Rngs(0))

    model, manifest = load_model(directory, build)
    model.eval()
    return model, manifest


__all__ = ["JOINT_CHECKPOINT", "export_segmenter", "load_segmenter"]
