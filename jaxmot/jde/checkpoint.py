"""Exported JDE models: `jaxmot.train.export` with a JDEConfig (kind "jde"), plus the
detector's and the tracker's settings the model was evaluated with.

Official checkpoints (Zhongdao/Towards-Realtime-MOT `jde.1088x608.uncertainty.pt`, ...)
become exports with `convert_official_jde` (`python -m pipelines.convert jde`), with the
official detector and tracker settings (the defaults of JDEDetectorConfig and
JDETrackerConfig) and a "source" record (jaxmot.core.converted). `load_jde` also takes
such a file directly: it is converted once and the export cached.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
from collections.abc import Mapping
from typing import Any

from flax import nnx

from jaxmot.core.converted import (
    converted_export,
    is_checkpoint_file,
    named_mismatch,
    read_official,
)
from jaxmot.core.paths import shipped_checkpoint
from jaxmot.core.torch_io import StateDictMismatchError, read_checkpoint
from jaxmot.jde.convert import load_official_jde, official_shapes
from jaxmot.jde.detector import JDEDetectorConfig
from jaxmot.jde.model import JDE, JDEConfig
from jaxmot.jde.tracker import JDETrackerConfig
from jaxmot.train.export import ModelFormat, config_from_manifest, export_with_config

KIND = "jde"
# The shipped small JDE, trained by `pipelines.train_jde --config synthetic_small`.
JDE_CHECKPOINT = shipped_checkpoint("jde_small_synthetic")


def export_jde(
    model: JDE,
    detector: JDEDetectorConfig,
    tracker: JDETrackerConfig,
    directory: str | os.PathLike,
    **extra: Any,
) -> None:
    """Export the model with a manifest holding its config, the detector's, the
    tracker's and `extra` (command, evaluation, experiment)."""
    export_with_config(
        model,
        directory,
        kind=KIND,
        config=model.config,
        detector=detector,
        tracker=tracker,
        **extra,
    )


def _build(config: JDEConfig):
    return JDE(config, rngs=nnx.Rngs(0))


FORMAT = ModelFormat(KIND, "a JDE export", JDEConfig, _build, JDE_CHECKPOINT)


def resolution_of(path: str | os.PathLike, default: str = "1088x608") -> str:
    """'WxH' named in an official file's name ('jde.576x320.uncertainty.pt' -> '576x320'),
    else `default` (the released files name theirs)."""
    found = re.search(r"(\d+)x(\d+)", pathlib.Path(path).name)
    return f"{found[1]}x{found[2]}" if found else default


def _config_at(preset: str, resolution: str, num_ids: int = 0) -> JDEConfig:
    """JDEConfig.full / .small at any 'WxH' of multiples of 32 (the network is fully
    convolutional; the official files were trained at 1088x608, 864x480, 576x320)."""
    base = JDEConfig() if preset == "full" else JDEConfig.small()
    try:
        width, height = (int(v) for v in resolution.lower().split("x"))
    except ValueError:
        raise ValueError(f"resolution must be 'WIDTHxHEIGHT', got {resolution!r}") from None
    return dataclasses.replace(base, width=width, height=height, num_ids=num_ids)


def official_config(
    state: Mapping,
    resolution: str = "1088x608",
    *,
    preset: str = "auto",
    keep_classifier: bool = False,
) -> JDEConfig:
    """The JDEConfig an official checkpoint (as loaded: `read_official`) fits.

    preset: "full" (the released Darknet-53 model), "small" (JDEConfig.small: files
      written by tests), or "auto": the one more of the file's keys and shapes fit (the
      identity classifier aside; full on a tie), so that a file that fits neither is
      reported against the closer one.
    resolution: the input size 'WxH' (`resolution_of(path)` reads it from a file name).
    keep_classifier: build the identity classifier (num_ids from the file's
      classifier.weight); otherwise num_ids=0, as the official tracker uses it.
    """
    if preset not in ("auto", "full", "small"):
        raise ValueError(f"JDE preset must be auto, full or small, got {preset!r}")
    _, weights, _ = read_checkpoint(state)
    num_ids = 0
    if keep_classifier:
        if "classifier.weight" not in weights:
            raise ValueError("the checkpoint has no classifier.weight to keep")
        num_ids = int(weights["classifier.weight"].shape[0])
    if preset != "auto":
        return _config_at(preset, resolution, num_ids)

    def body(shapes):
        return {
            k: tuple(v)
            for k, v in shapes.items()
            if not k.startswith("classifier.") and not k.endswith(".num_batches_tracked")
        }

    found = set(body({k: tuple(getattr(v, "shape", ())) for k, v in weights.items()}).items())
    configs = {name: _config_at(name, resolution, num_ids) for name in ("full", "small")}
    fits = {name: len(found & set(body(official_shapes(c)).items())) for name, c in configs.items()}
    return configs[max(configs, key=lambda name: fits[name])]  # full on a tie


def convert_official_jde(
    path: str | os.PathLike,
    directory: str | os.PathLike,
    *,
    resolution: str | None = None,
    preset: str = "auto",
    keep_classifier: bool = False,
    source: dict[str, Any] | None = None,
) -> JDE:
    """Export the official JDE checkpoint `path` to `directory` (kind "jde"), with the
    official detector and tracker settings; returns the model.

    resolution: 'WxH' (None: from the file name, else 1088x608); preset: see
    `official_config`; keep_classifier: load the identity classifier too, else it is
    skipped as the official tracker does; source: the manifest's "source" record.

    Raises:
      StateDictMismatchError (a ValueError) naming the file's missing and unexpected
      keys; FileNotFoundError, ImportError (no torch) or ValueError for an unreadable file.
    """
    resolution = resolution_of(path) if resolution is None else resolution
    state = read_official(path)
    config = official_config(state, resolution, preset=preset, keep_classifier=keep_classifier)
    try:
        model = load_official_jde(state, config, ignore_classifier=not keep_classifier)
    except StateDictMismatchError as err:
        raise named_mismatch(err, path) from None
    extra = {} if source is None else {"source": source}
    export_jde(model, JDEDetectorConfig(), JDETrackerConfig(), directory, **extra)
    return model


def cached_official_jde(path: str | os.PathLike) -> pathlib.Path:
    """The export of an official JDE file, converted on first use and cached
    (jaxmot.core.converted; the resolution comes from the file name)."""
    resolution = resolution_of(path)

    def convert(src, directory, record):
        convert_official_jde(src, directory, resolution=resolution, source=record)

    return converted_export(path, f"jde-{resolution}", convert)


def load_jde(
    directory: str | os.PathLike | None = None,
) -> tuple[JDE, JDEDetectorConfig, JDETrackerConfig, dict[str, Any]]:
    """(model in eval mode, detector config, tracker config, manifest); default: the
    shipped model. A missing detector or tracker section gives the defaults.

    `directory` may also be an official checkpoint file (.pt/.pth/...): it is converted
    once, with the official detector and tracker settings, and the export cached
    (`cached_official_jde`; stderr says so)."""
    directory = JDE_CHECKPOINT if directory is None else directory
    if is_checkpoint_file(directory):
        directory = cached_official_jde(directory)
    model, _, manifest = FORMAT.load(directory)
    detector = config_from_manifest(
        manifest, JDEDetectorConfig, directory, "detector", required=False
    )
    tracker = config_from_manifest(manifest, JDETrackerConfig, directory, "tracker", required=False)
    return model, detector, tracker, manifest


__all__ = [
    "FORMAT",
    "JDE_CHECKPOINT",
    "KIND",
    "cached_official_jde",
    "convert_official_jde",
    "export_jde",
    "load_jde",
    "official_config",
    "resolution_of",
]
