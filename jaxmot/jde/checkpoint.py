"""Save and load exported JDE models with their detector and tracker settings."""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any

from flax import nnx

from jaxmot.jde.detector import JDEDetector, JDEDetectorConfig
from jaxmot.jde.model import JDE, JDEConfig
from jaxmot.jde.tracker import JDETrackerConfig
from jaxmot.train.export import export_model, load_model
from jaxmot.train.overrides import config_from_dict

KIND = "jde"
# The shipped small JDE, trained by `pipelines.train_jde --config synthetic_small`.
JDE_CHECKPOINT = pathlib.Path(__file__).resolve().parents[2] / "checkpoints" / "jde_small_synthetic"


def export_jde(
    model: JDE,
    detector: JDEDetectorConfig,
    tracker: JDETrackerConfig,
    directory: str | os.PathLike,
    **extra: Any,
) -> None:
    """Export the model with a manifest holding its config, the detector's, the
    tracker's and `extra` (command, evaluation, experiment)."""
    manifest = {
        "kind": KIND,
        "config": dataclasses.asdict(model.config),
        "detector": dataclasses.asdict(detector),
        "tracker": dataclasses.asdict(tracker),
        **extra,
    }
    export_model(model, directory, manifest)


def load_jde(
    directory: str | os.PathLike | None = None,
) -> tuple[JDE, JDEDetectorConfig, JDETrackerConfig, dict[str, Any]]:
    """(model in eval mode, detector config, tracker config, manifest); default: the
    shipped model."""
    directory = JDE_CHECKPOINT if directory is None else directory

    def build(manifest):
        if manifest.get("kind") != KIND:
            raise ValueError(f"{directory}: not a JDE export (kind {manifest.get('kind')!r})")
        return JDE(config_from_dict(JDEConfig, manifest["config"]), rngs=nnx.Rngs(0))

    model, manifest = load_model(directory, build)
    model.eval()
    detector = config_from_dict(JDEDetectorConfig, manifest.get("detector", {}))
    tracker = config_from_dict(JDETrackerConfig, manifest.get("tracker", {}))
    return model, detector, tracker, manifest


def load_jde_detector(directory: str | os.PathLike | None = None) -> JDEDetector:
    """A ready `JDEDetector` on an exported model (default: the shipped one)."""
    model, detector, _, _ = load_jde(directory)
    return JDEDetector(model, detector)


__all__ = ["JDE_CHECKPOINT", "export_jde", "load_jde", "load_jde_detector"]
