"""Train a ReID model on P x K batches, evaluate its retrieval, optionally export it.

    train_and_evaluate(get_config("synthetic_r18w16"), "runs/reid", export="checkpoints/x")

`ReIDTask` is the loss (identity cross-entropy on the BN-neck logits + batch-hard
triplet on the pre-neck features), `load_dataset` builds the experiment's splits
(synthetic crops, Market-1501 or MOTChallenge crops), and `train_and_evaluate` runs the
whole protocol `pipelines.train_reid` exposes: train (resuming from WORKDIR/checkpoints;
with `train.eval_every` > 0, rank-1 / mAP of the held-out split every K steps),
score rank-k / mAP on the held-out split and on extra crop folders (jaxmot.reid.evaluation)
with the `train.export_weights` weights, write WORKDIR/eval.json, export.
`training_batches` builds the batches alone (e.g. to measure the input pipeline).
Pieces from other systems come in as arguments: the training-free `baselines` scored
next to the model, and `tune_gate`, which picks the trackers' appearance gate for the
trained extractor before export.
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
from jaxmot.reid.evaluation import (
    embed_split,
    evaluate_embeddings,
    evaluate_sets,
    format_evaluation,
)
from jaxmot.reid.extractor import ReIDExtractor
from jaxmot.reid.metric_learning import batch_hard_triplet_loss, cross_entropy_with_label_smoothing
from jaxmot.reid.model import build_reid_model
from jaxmot.reid.resnet_convert import load_torchvision_resnet
from jaxmot.train.experiment import (
    devices,
    export_run,
    train_and_pick,
    write_evaluation,
)
from jaxmot.train.loop import Evaluator
from jaxmot.train.precision import as_float32

HEADLINE = "rank1"  # the metric that picks WORKDIR/best/ (train.best_metric overrides it)


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
        out = as_float32(model(batch["images"]))  # bfloat16 compute: f32 losses
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


def training_batches(exp: ReIDExperiment, dataset: ReIDDataset | None = None) -> ReIDBatches:
    """The P x K batches `train_and_evaluate` trains `exp` on.

    `batch(step)` -> {"images": [P*K, H, W, 3] float32 (augmented, normalised), "labels":
    [P*K] int32}: always P*K rows, which `with_pk_batch` makes `train.batch_size`;
    `num_classes` is the number of training identities.

    dataset: the splits of `load_dataset(exp)`, loaded (rendered, for synthetic) when None.
    """
    dataset = load_dataset(exp) if dataset is None else dataset
    augment = AugmentConfig(pad=exp.augment_pad)
    return ReIDBatches(dataset["train"], exp.p, exp.k, seed=exp.train.seed, config=augment)


def validation_evaluator(exp: ReIDExperiment, dataset: ReIDDataset) -> Evaluator:
    """What `train` evaluates every `train.eval_every` steps: {"rank1", "rank5", "mAP"}
    of the model's embeddings on the held-out query / gallery split of `dataset`
    (headline rank-1).

    ReID datasets have no validation split apart from that held-out split (Market-1501's
    query / gallery is its test set), so this is the same split eval.json reports as
    `DATASET_test`: a checkpoint picked by it (`train.export_weights=best`) has an
    optimistically selected score there. The baselines and `eval_crops` sets are not
    scored during training.
    """
    query, gallery = dataset["query"], dataset["gallery"]

    def evaluate(model) -> dict[str, float]:
        extractor = ReIDExtractor(model, exp.model.input_size, model.embed_dim)
        metrics = evaluate_embeddings(lambda s: embed_split(extractor, s), query, gallery)
        return {name: metrics[name] for name in ("rank1", "rank5", "mAP")}

    return Evaluator(evaluate, HEADLINE)


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

    With `train.eval_every` > 0 the held-out split is scored during training
    (`validation_evaluator`, headline rank-1). The evaluation and the export use the
    weights `train.export_weights` names (`train_and_pick`); the evaluation records which
    (`"weights"`: "best", "ema" or "last"; with "best" also `"best_step"`).
    """
    exp = with_pk_batch(exp)
    dataset = load_dataset(exp)
    train_split = dataset["train"]
    print(f"train: {len(train_split)} crops of {train_split.num_ids} ids; {devices()}")
    task = ReIDTask(exp, training_batches(exp, dataset), pretrained)
    result, model, evaluation = train_and_pick(
        task,
        exp.train,
        workdir,
        progress=progress,
        evaluator=lambda: validation_evaluator(exp, dataset),
    )
    extractor = ReIDExtractor(model, exp.model.input_size, model.embed_dim)
    sets = {f"{exp.dataset}_test": (dataset["query"], dataset["gallery"])}
    for folder in map(pathlib.Path, eval_crops):
        crops = load_crops_folder(folder, tuple(exp.model.input_size))
        sets[folder.name] = query_gallery_split(crops)
    scores = evaluate_sets(extractor, sets, baselines)
    print(format_evaluation(scores))
    evaluation.update(scores)
    write_evaluation(workdir, evaluation)
    extra = {}
    if export and tune_gate is not None:
        tuning = tune_gate(extractor)
        print(f"appearance gate of the longterm tracker:\n{tuning.table()}")
        extra["appearance_gate"] = tuning.to_json()
    save = functools.partial(export_reid_model, model, task.model_config, **extra)
    export_run(
        export, save, step=result.step, experiment=exp, evaluation=evaluation, command=command
    )
    return evaluation


__all__ = [
    "HEADLINE",
    "ReIDTask",
    "load_dataset",
    "train_and_evaluate",
    "training_batches",
    "validation_evaluator",
    "with_pk_batch",
]
