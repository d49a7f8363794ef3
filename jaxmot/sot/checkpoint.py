"""Exported E.T.Track models: `jaxmot.train.export` with an ETTrackConfig (kind
"ettrack"), plus the online tracker's settings."""

from __future__ import annotations

import os
from typing import Any

from flax import nnx

from jaxmot.core.paths import shipped_checkpoint
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


def load_sot(
    directory: str | os.PathLike | None = None,
) -> tuple[ETTrack, SOTTrackerConfig, dict[str, Any]]:
    """(model in eval mode, tracker config, manifest); default: the shipped model. A
    missing tracker section gives the defaults."""
    directory = SOT_CHECKPOINT if directory is None else directory
    model, _, manifest = FORMAT.load(directory)
    tracker = config_from_manifest(manifest, SOTTrackerConfig, directory, "tracker", required=False)
    return model, tracker, manifest


def load_sot_tracker(directory: str | os.PathLike | None = None) -> SOTTracker:
    """A ready `SOTTracker` on an exported model (default: the shipped one)."""
    model, tracker, _ = load_sot(directory)
    return SOTTracker(model, tracker)


__all__ = ["FORMAT", "KIND", "SOT_CHECKPOINT", "export_sot", "load_sot", "load_sot_tracker"]
