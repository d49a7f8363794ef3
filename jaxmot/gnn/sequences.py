"""The sequences of a GNN experiment: sources, labelled draws, tracking inputs.

A source is a sequence with ground truth (synthetic scenes or MOT17 gt folders); a draw
turns it into labelled detections (jaxmot.gnn.data) with a detector model and
embeddings: random detector noise / recall / false positives per training draw
(`random_detector`), the default `DetectorModel()` for evaluation. Training and the
held-out evaluation both go through `labelled`, so they see the same kind of input.
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from jaxmot.core.extractor import FeatureExtractor
from jaxmot.core.mot_io import Detections, MOTSequence, read_sequence
from jaxmot.core.synthetic import DetectorModel, SceneConfig, generate_sequence, scene_seed
from jaxmot.gnn import data as association
from jaxmot.gnn.configs import GNNExperiment

# scene_seed streams of the synthetic sources (ReID uses 0 and 1, gate tuning 2)
TRAIN_STREAM, VAL_STREAM = 3, 4


def random_detector(rng: np.random.Generator, exp: GNNExperiment) -> DetectorModel:
    """A detector with recall, box noise and false-positive rate drawn from exp.data's ranges."""
    d = exp.data
    return DetectorModel(
        p_max=float(rng.uniform(*d.recall)),
        center_std=float(rng.uniform(*d.center_std)),
        size_std=float(rng.uniform(*d.size_std)),
        fp_per_frame=float(rng.uniform(*d.fp_per_frame)),
    )


def embedding_model(exp: GNNExperiment, noise: float | None = None) -> association.EmbeddingModel:
    """Simulated embeddings of exp.data (noise drawn from its range, or fixed at `noise`)."""
    d = exp.data
    noise_range = d.embedding_noise if noise is None else (noise, noise)
    return association.EmbeddingModel(
        dim=d.embed_dim, noise_range=noise_range, drift=d.embedding_drift
    )


def source_sequences(exp: GNNExperiment, part: str, workdir: pathlib.Path) -> list[MOTSequence]:
    """The sequences (gt, no detections needed) of `part` ("train" or "val"); synthetic
    scenes are generated under `workdir`."""
    d = exp.data
    if d.dataset == "mot17":
        if d.data_dir is None:
            raise ValueError("dataset 'mot17' needs --set data.data_dir=PATH")
        names = d.train_sequences if part == "train" else d.val_sequences
        if not names:
            raise ValueError(f"dataset 'mot17' needs data.{part}_sequences")
        return [read_sequence(pathlib.Path(d.data_dir) / name) for name in names]
    if d.dataset != "synthetic":
        raise ValueError(f"unknown dataset {d.dataset!r}: synthetic or mot17")
    count = d.synthetic_train_scenes if part == "train" else d.synthetic_val_scenes
    stream = TRAIN_STREAM if part == "train" else VAL_STREAM
    out = workdir / "data" / part
    sequences = []
    for j in range(count):
        config = SceneConfig(seed=scene_seed(d.seed, stream, j), render=d.features == "reid")
        sequences.append(read_sequence(generate_sequence(out, config, name=f"SYN-{part}-{j:02d}")))
    return sequences


def labelled(
    sequence: MOTSequence,
    exp: GNNExperiment,
    detector: DetectorModel,
    embeddings: association.EmbeddingModel,
    rng: np.random.Generator,
    extractor: FeatureExtractor | None,
) -> association.LabelledDetections:
    """One draw of `sequence`: simulated embeddings, or the extractor's on the frames
    when exp.data.features is "reid"."""
    if exp.data.features == "reid":
        if extractor is None:
            raise ValueError("data.features='reid' needs the learned ReID model")
        return association.labelled_sequence_with_extractor(sequence, detector, extractor, rng)
    return association.labelled_sequence(sequence, detector, embeddings, rng)


def training_sequences(
    exp: GNNExperiment,
    sequences: list[MOTSequence],
    extractor: FeatureExtractor | None = None,
) -> list[association.LabelledDetections]:
    """`exp.data.draws` labelled draws of every source (named NAME#DRAW), each with its
    own random detector and embedding noise."""
    out = []
    for i, sequence in enumerate(sequences):
        for draw in range(exp.data.draws):
            rng = np.random.default_rng([exp.data.seed, i, draw])
            detector = random_detector(rng, exp)
            seq = labelled(sequence, exp, detector, embedding_model(exp), rng, extractor)
            out.append(dataclasses.replace(seq, name=f"{seq.name}#{draw}"))
    return out


def as_tracking_input(
    seq: association.LabelledDetections, sequence: MOTSequence
) -> tuple[MOTSequence, np.ndarray]:
    """A labelled sequence as (MOTSequence with these detections, features [K, D])."""
    dets = Detections(frames=seq.frames, boxes=seq.boxes, scores=seq.scores)
    info = dataclasses.replace(sequence.info, name=seq.name)
    return MOTSequence(info=info, detections=dets, gt=sequence.gt), seq.features


__all__ = [
    "TRAIN_STREAM",
    "VAL_STREAM",
    "as_tracking_input",
    "embedding_model",
    "labelled",
    "random_detector",
    "source_sequences",
    "training_sequences",
]
