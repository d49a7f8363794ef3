"""Exported ReID models: `jaxmot.train.export` with a ReIDModelConfig (kind "reid").

`convert_official_reid` (`python -m pipelines.convert resnet|reid`) exports a torchvision
ImageNet ResNet (an appearance baseline, not a trained ReID model) or a "Bag of tricks"
strong-baseline checkpoint (jaxmot.reid.strong_baseline_convert), with a "source"
record (jaxmot.core.converted); either export is a `--reid-checkpoint`.
"""

from __future__ import annotations

import os
from typing import Any

from flax import nnx

from jaxmot.core.converted import named_mismatch, read_official
from jaxmot.core.paths import shipped_checkpoint
from jaxmot.core.torch_io import StateDictMismatchError
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


# pipelines.convert kind -> what the file is.
OFFICIAL_KINDS = {
    "resnet": "a torchvision ImageNet ResNet-18/34/50",
    "reid": "a 'Bag of tricks' strong-baseline ReID model",
}


def convert_official_reid(
    kind: str,
    path: str | os.PathLike,
    directory: str | os.PathLike,
    *,
    depth: int | None = None,
    last_stride: int = 1,
    input_size: tuple[int, int] = (256, 128),
    source: dict[str, Any] | None = None,
) -> tuple[ReIDModel, ReIDModelConfig, list[str]]:
    """Export an official checkpoint of `kind` (OFFICIAL_KINDS) as a ReID model; returns
    (model, config, notes on anything dropped or folded).

    depth: the ResNet depth (None: from the keys); last_stride: 1 (re-ID) or 2
    (torchvision); input_size: (height, width) of the crops the extractor feeds.

    Raises:
      StateDictMismatchError (a ValueError) naming the file's missing and unexpected
      keys; FileNotFoundError, ImportError (no torch) or ValueError for an unreadable file.
    """
    from jaxmot.reid.strong_baseline_convert import load_imagenet_reid, load_strong_baseline

    if kind not in OFFICIAL_KINDS:
        raise ValueError(f"ReID kind must be one of {', '.join(OFFICIAL_KINDS)}, got {kind!r}")
    state = read_official(path)
    options = {"depth": depth, "last_stride": last_stride, "input_size": input_size}
    try:
        if kind == "resnet":
            model, config = load_imagenet_reid(state, **options)
            notes = ["an ImageNet baseline: the backbone is not trained for re-identification"]
        else:
            model, config, notes = load_strong_baseline(state, **options)
    except StateDictMismatchError as err:
        raise named_mismatch(err, path) from None
    extra = {} if source is None else {"source": source}
    export_reid_model(model, config, directory, **extra)
    return model, config, notes


__all__ = [
    "FORMAT",
    "OFFICIAL_KINDS",
    "convert_official_reid",
    "DEFAULT_CHECKPOINT",
    "KIND",
    "export_reid_model",
    "load_reid_model",
]
