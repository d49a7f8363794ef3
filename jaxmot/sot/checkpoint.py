"""Exported E.T.Track models: `jaxmot.train.export` with an ETTrackConfig (kind
"ettrack"), plus the online tracker's settings.

Official checkpoints (pblatter/ettrack `checkpoint_e35.pth`) become exports with
`convert_official_ettrack` (`python -m pipelines.convert ettrack`), with the official
tracker settings (SOTTrackerConfig's defaults) and a "source" record
(jaxmot.core.converted). `load_sot` also takes such a file directly: converted once,
the export cached.
"""

from __future__ import annotations

import os
import pathlib
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
from jaxmot.sot.convert import _WRAPPER_KEYS as WRAPPER_KEYS  # where official files nest weights
from jaxmot.sot.convert import ettrack_shapes, load_ettrack
from jaxmot.sot.model import ETTrack, ETTrackConfig
from jaxmot.sot.tracker import SOTTracker, SOTTrackerConfig
from jaxmot.train.export import ModelFormat, config_from_manifest, export_with_config

KIND = "ettrack"
# The shipped narrow E.T.Track, trained by `pipelines.train_sot --config synthetic_narrow`.
SOT_CHECKPOINT = shipped_checkpoint("sot_ettrack_narrow")


def export_sot(
    model: ETTrack, tracker: SOTTrackerConfig, directory: str | os.PathLike, **extra: Any
) -> None:
    """Export the model with a manifest holding its config, the tracker's and `extra`."""
    export_with_config(model, directory, kind=KIND, config=model.config, tracker=tracker, **extra)


def _build(config: ETTrackConfig):
    return ETTrack(config, rngs=nnx.Rngs(0))


FORMAT = ModelFormat(KIND, "an E.T.Track export", ETTrackConfig, _build, SOT_CHECKPOINT)


# Architectures an official-layout file is tried against, in this order ("auto").
PRESETS = {"full": ETTrackConfig, "narrow": ETTrackConfig.narrow}


def load_official_ettrack(state: Mapping, preset: str = "auto") -> ETTrack:
    """An ETTrack filled strictly from an official checkpoint (as loaded:
    `read_official`), in eval mode. preset: "full" (the released tracker,
    ETTrackConfig()), "narrow" (ETTrackConfig.narrow(): files written by tests) or
    "auto": the one more of the file's keys and shapes fit (full on a tie), so that a
    file that fits neither is reported against the closer one.

    Raises StateDictMismatchError naming the missing and unexpected keys."""
    if preset != "auto" and preset not in PRESETS:
        raise ValueError(f"E.T.Track preset must be auto, {' or '.join(PRESETS)}, got {preset!r}")

    def abstract(name):  # no random initialisation: every variable comes from the file
        return nnx.eval_shape(lambda: ETTrack(PRESETS[name](), rngs=nnx.Rngs(0)))

    if preset == "auto":
        _, weights, _ = read_checkpoint(state, WRAPPER_KEYS)
        found = {(k, tuple(getattr(v, "shape", ()))) for k, v in weights.items()}
        models = {name: abstract(name) for name in PRESETS}
        fits = {n: len(found & set(ettrack_shapes(m).items())) for n, m in models.items()}
        preset = max(PRESETS, key=lambda n: fits[n])  # max keeps the first (full) on a tie
        model = models[preset]
    else:
        model = abstract(preset)
    load_ettrack(model, state)
    model.eval()
    return model


def convert_official_ettrack(
    path: str | os.PathLike,
    directory: str | os.PathLike,
    *,
    preset: str = "auto",
    source: dict[str, Any] | None = None,
) -> ETTrack:
    """Export the official E.T.Track checkpoint `path` to `directory` (kind "ettrack",
    the official tracker settings) and return the model.

    Raises:
      StateDictMismatchError (a ValueError) naming the file's missing and unexpected
      keys; FileNotFoundError, ImportError (no torch) or ValueError for an unreadable file.
    """
    state = read_official(path)
    try:
        model = load_official_ettrack(state, preset)
    except StateDictMismatchError as err:
        raise named_mismatch(err, path) from None
    extra = {} if source is None else {"source": source}
    export_sot(model, SOTTrackerConfig(), directory, **extra)
    return model


def cached_official_ettrack(path: str | os.PathLike) -> pathlib.Path:
    """The export of an official E.T.Track file, converted on first use and cached."""

    def convert(src, directory, record):
        convert_official_ettrack(src, directory, source=record)

    return converted_export(path, KIND, convert)


def load_sot(
    directory: str | os.PathLike | None = None,
) -> tuple[ETTrack, SOTTrackerConfig, dict[str, Any]]:
    """(model in eval mode, tracker config, manifest); default: the shipped model. A
    missing tracker section gives the defaults. `directory` may also be an official
    checkpoint file (.pth/...): converted once and the export cached (stderr says so)."""
    directory = SOT_CHECKPOINT if directory is None else directory
    if is_checkpoint_file(directory):
        directory = cached_official_ettrack(directory)
    model, _, manifest = FORMAT.load(directory)
    tracker = config_from_manifest(manifest, SOTTrackerConfig, directory, "tracker", required=False)
    return model, tracker, manifest


def load_sot_tracker(directory: str | os.PathLike | None = None) -> SOTTracker:
    """A ready `SOTTracker` on an exported model (default: the shipped one)."""
    model, tracker, _ = load_sot(directory)
    return SOTTracker(model, tracker)


__all__ = [
    "FORMAT",
    "KIND",
    "PRESETS",
    "SOT_CHECKPOINT",
    "cached_official_ettrack",
    "convert_official_ettrack",
    "export_sot",
    "load_official_ettrack",
    "load_sot",
    "load_sot_tracker",
]
