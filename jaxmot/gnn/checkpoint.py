"""Exported GNN association models: `jaxmot.train.export` with a GNNConfig (kind "gnn").

Besides the config, train_gnn records the tracker settings it tuned for the model
(model.json "tracker": "patience", and "lost_box" where it tried more than one;
`tuned_tracker`).
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

from flax import nnx

from jaxmot.core.paths import shipped_checkpoint
from jaxmot.gnn.model import AssociationGNN, GNNConfig
from jaxmot.gnn.tracker import LOST_BOXES
from jaxmot.train.export import MANIFEST, ModelFormat, export_with_config, read_manifest

KIND = "gnn"
# The checkpoints shipped with the package, trained by `pipelines.train_gnn`.
DEFAULT_CHECKPOINT = shipped_checkpoint("gnn_mot17_sim")  # simulated embeddings, MOT17 gt
REID_FEATURES_CHECKPOINT = shipped_checkpoint("gnn_synthetic_reid")  # the shipped ReID features


def _build(config: GNNConfig):
    return AssociationGNN(config, nnx.Rngs(0))


FORMAT = ModelFormat(KIND, "a GNN model", GNNConfig, _build, DEFAULT_CHECKPOINT)


def export_gnn_model(model: AssociationGNN, directory: str | os.PathLike, **extra: Any) -> None:
    """Export with a manifest holding the model config and `extra` (metrics, command...)."""
    export_with_config(model, directory, kind=KIND, config=model.config, **extra)


def tuned_tracker(directory: str | os.PathLike | None = None) -> dict[str, Any]:
    """The `gnn` tracker settings train_gnn tuned for this model (model.json "tracker":
    {"patience": int, "lost_box": str}, either absent in older exports); a ValueError
    naming the file and key for a malformed value."""
    directory = DEFAULT_CHECKPOINT if directory is None else directory
    tracker = read_manifest(directory).get("tracker", {})
    patience = tracker.get("patience")
    where = pathlib.Path(directory) / MANIFEST
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ValueError(f"{where}: tracker.patience must be an int >= 1, got {patience!r}")
    lost_box = tracker.get("lost_box")
    if lost_box is not None and lost_box not in LOST_BOXES:
        raise ValueError(f"{where}: tracker.lost_box must be one of {LOST_BOXES}, got {lost_box!r}")
    return {key: value for key, value in tracker.items() if key in ("patience", "lost_box")}


def tuned_patience(directory: str | os.PathLike | None = None) -> int | None:
    """The `gnn` tracker patience train_gnn tuned for this model (model.json
    "tracker.patience"), or None for exports that have none."""
    return tuned_tracker(directory).get("patience")


def load_gnn_model(directory: str | os.PathLike | None = None) -> AssociationGNN:
    """The exported model (eval mode) in `directory` (default: the shipped checkpoint)."""
    return FORMAT.load(directory)[0]


__all__ = [
    "FORMAT",
    "DEFAULT_CHECKPOINT",
    "KIND",
    "REID_FEATURES_CHECKPOINT",
    "export_gnn_model",
    "load_gnn_model",
    "tuned_patience",
    "tuned_tracker",
]
