"""Save and load exported E.T.Track models with their tracker settings."""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any

from flax import nnx

from jaxmot.sot.model import ETTrack, ETTrackConfig
from jaxmot.sot.tracker import SOTTracker, SOTTrackerConfig
from jaxmot.train.export import export_model, load_model
from jaxmot.train.overrides import config_from_dict

KIND = "ettrack"
# The shipped narrow E.T.Track, trained by `pipelines.train_sot --config synthetic_narrow`.
SOT_CHECKPOINT = pathlib.Path(__file__).resolve().parents[2] / "checkpoints" / "sot_ettrack_narrow"


def export_sot(
    model: ETTrack, tracker: SOTTrackerConfig, directory: str | os.PathLike, **extra: Any
) -> None:
    """Export the model with a manifest holding its config, the tracker's and `extra`."""
    manifest = {
        "kind": KIND,
        "config": dataclasses.asdict(model.config),
        "tracker": dataclasses.asdict(tracker),
        **extra,
    }
    export_model(model, directory, manifest)


def load_sot(
    directory: str | os.PathLike | None = None,
) -> tuple[ETTrack, SOTTrackerConfig, dict[str, Any]]:
    """(model in eval mode, tracker config, manifest); default: the shipped model."""
    directory = SOT_CHECKPOINT if directory is None else directory

    def build(manifest):
        if manifest.get("kind") != KIND:
            raise ValueError(
                f"{directory}: not an E.T.Track export (kind {manifest.get('kind')!r})"
            )
        return ETTrack(config_from_dict(ETTrackConfig, manifest["config"]), rngs=nnx.Rngs(0))

    model, manifest = load_model(directory, build)
    model.eval()
    tracker = config_from_dict(SOTTrackerConfig, manifest.get("tracker", {}))
    return model, tracker, manifest


def load_sot_tracker(directory: str | os.PathLike | None = None) -> SOTTracker:
    """A ready `SOTTracker` on an exported model (default: the shipped one)."""
    model, tracker, _ = load_sot(directory)
    return SOTTracker(model, tracker)


__all__ = ["SOT_CHECKPOINT", "export_sot", "load_sot", "load_sot_tracker"]
