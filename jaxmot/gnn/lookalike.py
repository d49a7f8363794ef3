"""A simulated ReID model unlike `jaxmot.gnn.data.EmbeddingModel`: people who look alike.

The shipped simulation gives every identity its own random unit prototype (in 128-d,
random prototypes are nearly orthogonal: strangers never look alike) that drifts
slowly, plus per-sequence noise. A real ReID model behaves otherwise, and a GNN that has
only seen that simulation has not learned what its distances mean. `LookalikeReID` is a
second, deliberately different appearance model, used to check that training on one's
own features (`train_gnn --config mot_features`) works for a model the GNN has never
seen:

  clusters    identities are drawn around a few shared appearance modes (`clusters`
              centres, shared by every sequence: dark coats, jeans and white shirts...):
              prototype = unit(centre + spread * unit(random)), so two people of one
              mode have prototypes at cosine ~1 / (1 + spread^2) (0.89 at spread 0.35).
  noise       every detection adds Gaussian noise of norm `noise` (heavier than the
              shipped 0.2-0.8), and `occlusion_noise` * (1 - visibility) more, since a
              crop of a half-hidden person shows its occluder too.
  changes     each identity changes appearance (turns round, takes off a coat) at rate
              `change_rate` per frame: its prototype is redrawn around the same centre.
  output      not unit vectors: ReLU(scale * (x + bias)), non-negative like the pooled
              activations of a CNN, so even strangers have a positive cosine similarity.
  false       false positives embed like a random person of a random mode (a patch of
  positives   background looks like something), with the same noise.

Reproducible: the centres come from `seed`, the rest from the rng the caller passes.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import numpy as np

from jaxmot.core.mot_io import read_sequence
from jaxmot.core.synthetic import DetectorModel
from jaxmot.gnn.data import detections_from_gt
from jaxmot.gnn.feature_data import write_feature_sequence


@dataclasses.dataclass(frozen=True)
class LookalikeReID:
    """The appearance model of the module doc (dim: the feature size D)."""

    dim: int = 256
    clusters: int = 6
    spread: float = 0.35
    noise: float = 0.9
    occlusion_noise: float = 0.6
    change_rate: float = 1 / 300
    bias: float = 0.5  # in units of the per-component scale 1/sqrt(dim), before the ReLU
    scale: float = 4.0
    seed: int = 0

    def __post_init__(self):
        if self.dim < 1 or self.clusters < 1:
            raise ValueError(f"dim and clusters must be >= 1, got {self.dim}, {self.clusters}")
        for name in ("spread", "noise", "occlusion_noise", "change_rate", "scale"):
            if getattr(self, name) < 0:
                raise ValueError(f"LookalikeReID.{name} must be >= 0, got {getattr(self, name)}")

    def centres(self) -> np.ndarray:
        """[clusters, dim] unit appearance modes, the same for every sequence."""
        return _unit(
            np.random.default_rng([self.seed, 7]).standard_normal((self.clusters, self.dim))
        )


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def lookalike_features(
    ids: np.ndarray,
    frames: np.ndarray,
    visibility: np.ndarray,
    model: LookalikeReID,
    rng: np.random.Generator,
) -> np.ndarray:
    """ids [K] (-1: false positive), frames [K], visibility [K] -> [K, dim] float32
    non-negative features (module doc)."""
    ids, frames = np.asarray(ids, np.int64), np.asarray(frames, np.int64)
    visibility = np.clip(np.asarray(visibility, np.float64), 0.0, 1.0)
    if not ids.shape == frames.shape == visibility.shape or ids.ndim != 1:
        raise ValueError(
            f"ids, frames and visibility must be [K], got {ids.shape}, {frames.shape}, "
            f"{visibility.shape}"
        )
    d, centres = model.dim, model.centres()

    def around_a_centre(mode: np.ndarray) -> np.ndarray:
        offset = _unit(rng.standard_normal((len(mode), d)))
        return _unit(centres[mode] + model.spread * offset)

    base = np.zeros((len(ids), d))
    for identity in np.unique(ids[ids >= 0]):
        rows = np.flatnonzero(ids == identity)
        first, last = frames[rows].min(), frames[rows].max()
        # Appearance changes: event frames in (first, last]; version v holds from the
        # v-th event on, all versions around the identity's own mode.
        events = np.flatnonzero(rng.random(last - first) < model.change_rate) + first + 1
        mode = np.full(len(events) + 1, rng.integers(model.clusters))
        versions = around_a_centre(mode)
        base[rows] = versions[np.searchsorted(events, frames[rows], side="right")]
    fp = np.flatnonzero(ids < 0)
    base[fp] = around_a_centre(rng.integers(model.clusters, size=len(fp)))
    sigma = (model.noise + model.occlusion_noise * (1.0 - visibility)) / np.sqrt(d)
    x = base + sigma[:, None] * rng.standard_normal(base.shape)
    return np.maximum(model.scale * (x + model.bias / np.sqrt(d)), 0.0).astype(np.float32)


def write_lookalike_sequences(
    gt_dir: str | os.PathLike,
    names: list[str],
    out_dir: str | os.PathLike,
    model: LookalikeReID | None = None,
    detector: DetectorModel | None = None,
    seed: int = 0,
) -> list[pathlib.Path]:
    """For each sequence `gt_dir/<name>` (gt only): detections made from gt by `detector`
    (jaxmot.gnn.data.detections_from_gt) embedded by `model`, written as the feature
    sequence folder `out_dir/<name>` (jaxmot.gnn.feature_data). Sequence i draws from
    `np.random.default_rng([seed, i])`. None: LookalikeReID() and DetectorModel()."""
    model = LookalikeReID() if model is None else model
    detector = DetectorModel() if detector is None else detector
    written = []
    for i, name in enumerate(names):
        source = read_sequence(pathlib.Path(gt_dir) / name)
        rng = np.random.default_rng([seed, i])
        dets, ids, vis = detections_from_gt(source, detector, rng)
        features = lookalike_features(ids, dets.frames, vis, model, rng)
        written.append(write_feature_sequence(pathlib.Path(out_dir) / name, source, dets, features))
    return written


__all__ = ["LookalikeReID", "lookalike_features", "write_lookalike_sequences"]
