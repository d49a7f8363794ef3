"""Exported GNN association models: `jaxmot.train.export` with a GNNConfig (kind "gnn").

Besides the config, train_gnn records the tracker patience it tuned for the model
(model.json "tracker.patience"; `tuned_patience`).
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

from flax import nnx

from jaxmot.core.paths import shipped_checkpoint
from jaxmot.gnn.model import AssociationGNN, GNNConfig
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


def tuned_patience(directory: str | os.PathLike | None = None) -> int | None:
    """The `gnn` tracker patience train_gnn tuned for this model (model.json
    "tracker.patience"), or None for exports that have none."""
    directory = DEFAULT_CHECKPOINT if directory is None else directory
    patience = read_manifest(directory).get("tracker", {}).get("patience")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ValueError(
            f"{pathlib.Path(directory) / MANIFEST}: tracker.patience must be an int >= 1, "
            f"got {patience!r}"
        )
    return patience


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
]
