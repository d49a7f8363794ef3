"""Exported JDE models: `jaxmot.train.export` with a JDEConfig (kind "jde"), plus the
detector's and the tracker's settings the model was evaluated with."""

from __future__ import annotations

import os
from typing import Any

from flax import nnx

from jaxmot.core.paths import shipped_checkpoint
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


def load_jde(
    directory: str | os.PathLike | None = None,
) -> tuple[JDE, JDEDetectorConfig, JDETrackerConfig, dict[str, Any]]:
    """(model in eval mode, detector config, tracker config, manifest); default: the
    shipped model. A missing detector or tracker section gives the defaults."""
    directory = JDE_CHECKPOINT if directory is None else directory
    model, _, manifest = FORMAT.load(directory)
    detector = config_from_manifest(
        manifest, JDEDetectorConfig, directory, "detector", required=False
    )
    tracker = config_from_manifest(manifest, JDETrackerConfig, directory, "tracker", required=False)
    return model, detector, tracker, manifest


__all__ = ["FORMAT", "JDE_CHECKPOINT", "KIND", "export_jde", "load_jde"]
