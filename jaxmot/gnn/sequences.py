"""The sequences of a GNN experiment: sources, labelled draws, tracking inputs.

A source is a sequence with ground truth (synthetic scenes or MOT17 gt folders); a draw
turns it into labelled detections (jaxmot.gnn.data) with a detector model and
embeddings: random detector noise / recall / false positives per training draw
(`random_detector`), the default `DetectorModel()` for evaluation. Training and the
held-out evaluation both go through `labelled`, so they see the same kind of input.

Dataset "features" (one's own detections and features, jaxmot.gnn.feature_data) has
nothing to draw: a source is a sequence folder and its one "draw" is its files,
labelled by IoU with its gt (`labelled` ignores the detector and the embeddings).
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from jaxmot.core.extractor import FeatureExtractor
from jaxmot.core.mot_io import Detections, MOTSequence, read_sequence
from jaxmot.core.synthetic import DetectorModel, SceneConfig, generate_sequence, scene_seed
from jaxmot.gnn import data as association
from jaxmot.gnn import feature_data
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
    if d.dataset in ("mot17", "features"):
        return [read_sequence(path) for path in sequence_dirs(exp, part)]
    if d.dataset != "synthetic":
        raise ValueError(f"unknown dataset {d.dataset!r}: synthetic, mot17 or features")
    count = d.synthetic_train_scenes if part == "train" else d.synthetic_val_scenes
    stream = TRAIN_STREAM if part == "train" else VAL_STREAM
    out = workdir / "data" / part
    sequences = []
    for j in range(count):
        config = SceneConfig(seed=scene_seed(d.seed, stream, j), render=d.features == "reid")
        sequences.append(read_sequence(generate_sequence(out, config, name=f"SYN-{part}-{j:02d}")))
    return sequences


def sequence_dirs(exp: GNNExperiment, part: str) -> list[pathlib.Path]:
    """The folders `data_dir/<name>` of `part` ("train" or "val") of a dataset read
    from disk ("mot17" or "features"); a ValueError saying which setting is missing."""
    d = exp.data
    if d.data_dir is None:
        raise ValueError(f"dataset {d.dataset!r} needs --set data.data_dir=PATH")
    names = d.train_sequences if part == "train" else d.val_sequences
    if not names:
        raise ValueError(f"dataset {d.dataset!r} needs --set data.{part}_sequences=NAME[,NAME...]")
    return [pathlib.Path(d.data_dir) / name for name in names]


def check_features_dataset(exp: GNNExperiment) -> None:
    """A ValueError for settings dataset "features" cannot honour."""
    d = exp.data
    if d.dataset != "features":
        if d.features == "files":
            raise ValueError('data.features="files" needs data.dataset="features"')
        return
    if d.features != "files":
        raise ValueError(f'dataset "features" reads its features from files: data.features '
                         f'must be "files", got {d.features!r}')  # fmt: skip
    if d.draws != 1:
        raise ValueError(f'dataset "features" has one draw per sequence: data.draws must be 1, '
                         f"got {d.draws}")  # fmt: skip


def labelled(
    sequence: MOTSequence,
    exp: GNNExperiment,
    detector: DetectorModel,
    embeddings: association.EmbeddingModel,
    rng: np.random.Generator,
    extractor: FeatureExtractor | None,
) -> association.LabelledDetections:
    """One draw of `sequence`: simulated embeddings, the extractor's on the frames when
    exp.data.features is "reid", or the sequence folder's own files (dataset
    "features": detector, embeddings and rng unused)."""
    if exp.data.dataset == "features":
        return feature_data.read_feature_sequence(sequence.info.path)[1]
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
    "check_features_dataset",
    "embedding_model",
    "labelled",
    "random_detector",
    "sequence_dirs",
    "source_sequences",
    "training_sequences",
]
