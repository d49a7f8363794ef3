"""Exported segmenters: `jaxmot.train.export` with a SegmenterConfig (kind "segmenter")."""

from __future__ import annotations

import os
from typing import Any

from flax import nnx

from jaxmot.core.paths import shipped_checkpoint
from jaxmot.seg.model import Segmenter, SegmenterConfig, build_segmenter
from jaxmot.train.export import ModelFormat, export_with_config

KIND = "segmenter"
# The shipped PAC joint upsampler, trained by `pipelines.train_seg --config synthetic_joint`.
JOINT_CHECKPOINT = shipped_checkpoint("seg_joint_synthetic")


def export_segmenter(model: Segmenter, directory: str | os.PathLike, **extra: Any) -> None:
    """Export with a manifest holding the segmenter config and `extra` (metrics, command)."""
    export_with_config(model, directory, kind=KIND, config=model.config, **extra)


def _build(config: SegmenterConfig):
    return build_segmenter(config, nnx.Rngs(0))


FORMAT = ModelFormat(KIND, "a segmenter", SegmenterConfig, _build, JOINT_CHECKPOINT)


def load_segmenter(
    directory: str | os.PathLike | None = None,
) -> tuple[Segmenter, dict[str, Any]]:
    """(model in eval mode, manifest) from an exported directory (default: the shipped
    joint upsampler)."""
    model, _, manifest = FORMAT.load(directory)
    return model, manifest


__all__ = ["FORMAT", "JOINT_CHECKPOINT", "KIND", "export_segmenter", "load_segmenter"]
