"""Save and load exported GNN association models (`jaxmot.train.export` + GNNConfig)."""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any

from flax import nnx

from jaxmot.gnn.model import AssociationGNN, GNNConfig
from jaxmot.train.export import export_model, load_model, read_manifest

KIND = "gnn"
# The checkpoint shipped with the repository, trained by `pipelines.train_gnn`.
_CHECKPOINTS = pathlib.Path(__file__).resolve().parents[2] / "checkpoints"
DEFAULT_CHECKPOINT = _CHECKPOINTS / "gnn_mot17_sim"  # simulated embeddings, MOT17 gt
REID_FEATURES_CHECKPOINT = _CHECKPOINTS / "gnn_synthetic_reid"  # the shipped ReID features


def export_gnn_model(model: AssociationGNN, directory: str | os.PathLike, **extra: Any) -> None:
    """Export with a manifest holding the model config and `extra` (metrics, command...)."""
    manifest = {"kind": KIND, "config": dataclasses.asdict(model.config), **extra}
    export_model(model, directory, manifest)


def tuned_patience(directory: str | os.PathLike | None = None) -> int | None:
    """The `gnn` tracker patience train_gnn tuned for this model (model.json
    "tracker.patience"), or None for exports that have none."""
    directory = DEFAULT_CHECKPOINT if directory is None else directory
    patience = read_manifest(directory).get("tracker", {}).get("patience")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ValueError(f"{directory}/model.json: tracker.patience must be an int >= 1, "
                         f"got {patience!r}")  # fmt: skip
    return patience


def load_gnn_model(directory: str | os.PathLike | None = None) -> AssociationGNN:
    """The exported model (eval mode) in `directory` (default: the shipped checkpoint)."""
    directory = DEFAULT_CHECKPOINT if directory is None else directory

    def build(manifest):
        if manifest.get("kind") != KIND:
            raise ValueError(f"{directory}: not a GNN model (kind {manifest.get('kind')!r})")
        return AssociationGNN(GNNConfig(**manifest["config"]), nnx.Rngs(0))

    model, _ = load_model(directory, build)
    model.eval()
    return model


__all__ = [
    "DEFAULT_CHECKPOINT",
    "REID_FEATURES_CHECKPOINT",
    "export_gnn_model",
    "load_gnn_model",
    "tuned_patience",
]
