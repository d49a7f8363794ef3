"""Train a ReID model on P x K batches, evaluate its retrieval, optionally export it.

    train_and_evaluate(get_config("synthetic_r18w16"), "runs/reid", export="checkpoints/x")

`ReIDTask` is the loss (identity cross-entropy on the BN-neck logits + batch-hard
triplet on the pre-neck features), `load_dataset` builds the experiment's splits
(synthetic crops, Market-1501 or MOTChallenge crops), and `train_and_evaluate` runs the
whole protocol `pipelines.train_reid` exposes: train (resuming from WORKDIR/checkpoints),
score rank-k / mAP on the held-out split and on extra crop folders (jaxmot.reid.evaluation),
write WORKDIR/eval.json, export. Pieces from other systems come in as arguments: the
training-free `baselines` scored next to the model, and `tune_gate`, which picks the
trackers' appearance gate for the trained extractor before export.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
from flax import nnx

from jaxmot.core.extractor import FeatureExtractor
from jaxmot.reid.checkpoint import export_reid_model
from jaxmot.reid.configs import ReIDExperiment
from jaxmot.reid.data.market import read_market
from jaxmot.reid.data.mot_crops import (
    find_sequences,
    load_crops_folder,
    mot_reid_dataset,
    query_gallery_split,
)
from jaxmot.reid.data.sampler import ReIDBatches
from jaxmot.reid.data.split import ReIDDataset
from jaxmot.reid.data.synthetic_crops import synthetic_reid_dataset
from jaxmot.reid.data.transforms import AugmentConfig
from jaxmot.reid.evaluation import evaluate_sets, format_evaluation
from jaxmot.reid.extractor import ReIDExtractor
from jaxmot.reid.metric_learning import batch_hard_triplet_loss, cross_entropy_with_label_smoothing
from jaxmot.reid.model import build_reid_model
from jaxmot.reid.resnet_convert import load_torchvision_resnet
from jaxmot.train import train
from jaxmot.train.experiment import devices, export_run, write_evaluation


class ReIDTask:
    """Identity cross-entropy (label smoothing) on the BN-neck logits plus batch-hard
    triplet loss on the pre-neck features, over P x K batches."""

    def __init__(self, experiment: ReIDExperiment, batches: ReIDBatches, pretrained=None):
        self.experiment = experiment
        self.batches = batches
        self.model_config = dataclasses.replace(experiment.model, num_classes=batches.num_classes)
        self.pretrained = pretrained

    def init_model(self, rngs: nnx.Rngs):
        model = build_reid_model(self.model_config, rngs)
        if self.pretrained is not None:
            load_torchvision_resnet(model.backbone, self.pretrained)
        return model

    def loss_fn(self, model, batch, rng):
        del rng
        exp = self.experiment
        out = model(batch["images"])
        labels = batch["labels"]
        id_loss = cross_entropy_with_label_smoothing(out["logits"], labels, exp.label_smoothing)
        triplet = batch_hard_triplet_loss(out["features"], labels, margin=exp.triplet_margin)
        accuracy = jnp.mean(jnp.argmax(out["logits"], axis=-1) == labels)
        loss = id_loss + exp.triplet_weight * triplet
        return loss, {"id_loss": id_loss, "triplet": triplet, "accuracy": accuracy}

    def batch(self, step: int):
        return self.batches.batch(step)


def load_dataset(exp: ReIDExperiment) -> ReIDDataset:
    """The train / query / gallery splits of `exp.dataset`, crops at the model's input size."""
    size = tuple(exp.model.input_size)
    if exp.dataset == "synthetic":
        s = exp.synthetic
        print(f"rendering synthetic ReID crops ({s.num_train_scenes} + {s.num_test_scenes} scenes)")
        return synthetic_reid_dataset(
            s.num_train_scenes,
            s.num_test_scenes,
            size,
            s.seed,
            frames=s.frames,
            objects_per_scene=s.objects_per_scene,
            max_per_id=s.max_per_id,
            train_boxes=s.train_boxes,
        )
    if exp.data_dir is None:
        raise ValueError(f"dataset {exp.dataset!r} needs --set data_dir=PATH")
    if exp.dataset == "market1501":
        return read_market(exp.data_dir, size)
    if exp.dataset == "mot":
        return mot_reid_dataset(find_sequences(exp.data_dir), size, seed=exp.train.seed)
    raise ValueError(f"unknown dataset {exp.dataset!r}: synthetic, market1501 or mot")


def with_pk_batch(exp: ReIDExperiment) -> ReIDExperiment:
    """`exp` with train.batch_size = p * k (the global batch is always P x K)."""
    return dataclasses.replace(exp, train=dataclasses.replace(exp.train, batch_size=exp.p * exp.k))


def train_and_evaluate(
    exp: ReIDExperiment,
    workdir: str | os.PathLike,
    *,
    pretrained: str | os.PathLike | None = None,
    eval_crops: Sequence[str | os.PathLike] = (),
    baselines: dict[str, FeatureExtractor] | None = None,
    export: str | os.PathLike | None = None,
    tune_gate: Callable[[ReIDExtractor], Any] | None = None,
    command: str | None = None,
    progress: bool = True,
) -> dict:
    """Train `exp` in `workdir`, evaluate, write WORKDIR/eval.json; returns the evaluation.

    pretrained: ImageNet ResNet weights the backbone starts from (torchvision format).
    eval_crops: Market-named crop folders (crops_index.csv) evaluated besides the
      held-out split of the dataset.
    baselines: {label: frame-level extractor} scored on the same sets (rows `SET/label`).
    export: a folder the trained model is exported to (with the evaluation, the
      experiment and `command`); tune_gate(extractor) -> a tuning result (`.gate`,
      `.table()`, `.to_json()`), run before the export and stored as its
      `appearance_gate`.
    """
    exp = with_pk_batch(exp)
    dataset = load_dataset(exp)
    train_split = dataset["train"]
    print(f"train: {len(train_split)} crops of {train_split.num_ids} ids; {devices()}")
    augment = AugmentConfig(pad=exp.augment_pad)
    batches = ReIDBatches(train_split, exp.p, exp.k, seed=exp.train.seed, config=augment)
    task = ReIDTask(exp, batches, pretrained)
    result = train(task, exp.train, workdir, progress=progress)

    extractor = ReIDExtractor(result.model, exp.model.input_size, result.model.embed_dim)
    sets = {f"{exp.dataset}_test": (dataset["query"], dataset["gallery"])}
    for folder in map(pathlib.Path, eval_crops):
        crops = load_crops_folder(folder, tuple(exp.model.input_size))
        sets[folder.name] = query_gallery_split(crops)
    evaluation = evaluate_sets(extractor, sets, baselines)
    print(format_evaluation(evaluation))
    write_evaluation(workdir, evaluation)
    extra = {}
    if export and tune_gate is not None:
        tuning = tune_gate(extractor)
        print(f"appearance gate of the longterm tracker:\n{tuning.table()}")
        extra["appearance_gate"] = tuning.to_json()
    save = functools.partial(export_reid_model, result.model, task.model_config, **extra)
    export_run(
        export, save, step=result.step, experiment=exp, evaluation=evaluation, command=command
    )
    return evaluation


__all__ = ["ReIDTask", "load_dataset", "train_and_evaluate", "with_pk_batch"]
