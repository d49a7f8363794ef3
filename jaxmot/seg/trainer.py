"""Train a segmenter (linear probe, PAC upsampler or PAC joint upsampler), evaluate it.

    train_and_evaluate(get_config("synthetic_joint"), "runs/seg_joint")

`SegTask` is the loss (BCE of the logits against the full-resolution masks, or the
coarse masks for the linear probe; pacnet's L2 for the `pacnet` head); the arrays come
from jaxmot.seg.inputs.
`train_and_evaluate` trains (resuming from WORKDIR/checkpoints; with `train.eval_every`
> 0, foreground IoU on the held-out split every K steps), scores foreground IoU and mean
IoU over foreground and background on the held-out split and, when `data.eval_davis` is
set, on DAVIS (jaxmot.seg.evaluate) with the `train.export_weights` weights, writes
WORKDIR/eval.json and exports. `training_batches` builds the batches alone (e.g. to
measure the input pipeline).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import pathlib

from flax import nnx

from jaxmot.seg.batches import SegArrays, SegBatches
from jaxmot.seg.checkpoint import export_segmenter
from jaxmot.seg.configs import SegExperiment
from jaxmot.seg.data import load_davis
from jaxmot.seg.evaluate import evaluate_segmenter, format_scores
from jaxmot.seg.inputs import LowInputs, check_experiment, load_samples
from jaxmot.seg.model import (
    SegmenterConfig,
    build_segmenter,
    pacnet_l2_loss,
    segmentation_loss,
)
from jaxmot.train.experiment import (
    devices,
    export_run,
    train_and_pick,
    write_evaluation,
)
from jaxmot.train.loop import Evaluator
from jaxmot.train.precision import as_float32

HEADLINE = "fg_iou"  # the metric that picks WORKDIR/best/ (train.best_metric overrides it)

DAVIS_EVERY = 5  # every 5th frame of each DAVIS sequence is evaluated


class SegTask:
    """BCE of the segmenter's logits: against the full-resolution masks (pac, joint) or
    the coarse masks (the linear probe, which predicts at the patch grid). The `pacnet`
    head regresses the full-resolution mask with pacnet's L2 loss (`pacnet_l2_loss`)."""

    def __init__(self, config: SegmenterConfig, batches: SegBatches):
        self.config = config
        self.batches = batches

    def init_model(self, rngs: nnx.Rngs):
        return build_segmenter(self.config, rngs)

    def loss_fn(self, model, batch, rng):
        del rng
        if self.config.kind == "pacnet":
            loss, values = pacnet_l2_loss(model, batch["low"], batch["images"], batch["masks"])
            accuracy = ((values[..., 0] > 0.5) == (batch["masks"] > 0.5)).mean()
            return loss, {"pixel_accuracy": accuracy}
        logits = as_float32(model(batch["low"], batch["images"]))  # bfloat16 compute: f32 loss
        target = batch["coarse"] if self.config.kind == "linear" else batch["masks"]
        loss = segmentation_loss(logits, target)
        accuracy = ((logits[..., 0] > 0) == (target > 0.5)).mean()
        return loss, {"pixel_accuracy": accuracy}

    def batch(self, step: int):
        return self.batches.batch(step)


def training_batches(exp: SegExperiment, lows: LowInputs | None = None) -> SegBatches:
    """The batches `train_and_evaluate` trains `exp` on: `batch(step)` -> {"images"
    [B, H, W, 3] uint8, "masks" [B, H, W] bool, "coarse" [B, h, w] float32 (patch max-pool),
    "low" [B, h, w, C] float32} with B = train.batch_size (H, W: `data.crop` when set);
    `arrays` holds the whole training split.

    lows: the experiment's `LowInputs` (a new one, without progress bars, when None;
    pass the one the held-out split is computed with to share its frozen ViT).

    Raises ValueError for a PAC head whose patch differs from its features'.
    """
    check_experiment(exp)
    lows = LowInputs(exp, progress=False) if lows is None else lows
    arrays = lows(load_samples(exp.data, "train"))
    return SegBatches(arrays, exp.train.batch_size, crop=exp.data.crop, seed=exp.data.seed)


def validation_evaluator(exp: SegExperiment, val: SegArrays) -> Evaluator:
    """What `train` evaluates every `train.eval_every` steps: {"fg_iou",
    "mean_iou_fg_bg"} (dataset-level, the model at full resolution) on the held-out split
    `val` (headline foreground IoU).

    The held-out split is the one eval.json reports as `DATASET_val` (the synthetic
    validation images, DAVIS `data.val_sequences`, obj_seg's test folder): the datasets
    have no third split. DAVIS (`data.eval_davis`), the separate test, is never scored
    during training.
    """

    def evaluate(model) -> dict[str, float]:
        scores = evaluate_segmenter(model, exp.model.kind, val)["model"]
        return {"fg_iou": scores["fg_iou"], "mean_iou_fg_bg": scores["mean_iou_fg_bg"]}

    return Evaluator(evaluate, HEADLINE)


def evaluation_sets(exp: SegExperiment, lows: LowInputs, val: SegArrays) -> dict[str, SegArrays]:
    """{name: arrays}: the held-out split and, when data.eval_davis exists, DAVIS."""
    sets = {f"{exp.data.dataset}_val": val}
    davis = exp.data.eval_davis
    if davis:
        if not pathlib.Path(davis).is_dir():
            print(f"data.eval_davis {davis} not found: skipping the DAVIS evaluation")
        else:
            samples = load_davis(davis, every=DAVIS_EVERY)  # every sequence folder
            sets["davis"] = lows(samples)
    return sets


def train_and_evaluate(
    exp: SegExperiment,
    workdir: str | os.PathLike,
    *,
    export: str | os.PathLike | None = None,
    command: str | None = None,
    progress: bool = True,
) -> dict:
    """Train `exp` in `workdir`, evaluate, write WORKDIR/eval.json, export to `export`
    (with the evaluation, the experiment and `command`); returns the evaluation.
    `data.epochs`, when set, replaces train.steps.

    With `train.eval_every` > 0 the held-out split is scored during training
    (`validation_evaluator`, headline foreground IoU). The evaluation and the export use
    the weights `train.export_weights` names (`train_and_pick`); the evaluation records
    which (`"weights"`: "best", "ema" or "last"; with "best" also `"best_step"`).
    """
    lows = LowInputs(exp, progress)
    batches = training_batches(exp, lows)
    train_arrays = batches.arrays
    val_arrays = lows(load_samples(exp.data, "val"))
    if exp.data.epochs is not None:
        steps = math.ceil(exp.data.epochs * len(train_arrays) / exp.train.batch_size)
        exp = dataclasses.replace(exp, train=dataclasses.replace(exp.train, steps=steps))
    print(
        f"{exp.model.kind}: {len(train_arrays)} training images "
        f"{train_arrays.masks.shape[1:]}, {len(val_arrays)} held out; {lows.description}; "
        f"{exp.train.steps} steps of {exp.train.batch_size}; {devices()}"
    )
    result, model, chosen = train_and_pick(
        SegTask(exp.model, batches),
        exp.train,
        workdir,
        progress=progress,
        evaluator=lambda: validation_evaluator(exp, val_arrays),
    )
    evaluation = {"inputs": lows.description, **chosen}
    for name, arrays in evaluation_sets(exp, lows, val_arrays).items():
        scores = evaluate_segmenter(model, exp.model.kind, arrays)
        evaluation[name] = {"images": len(arrays), **scores}
        print(format_scores(scores, f"{name} ({len(arrays)} images; dataset-level IoU)"))
    write_evaluation(workdir, evaluation)
    save = functools.partial(export_segmenter, model)
    export_run(
        export, save, step=result.step, experiment=exp, evaluation=evaluation, command=command
    )
    return evaluation


__all__ = [
    "HEADLINE",
    "SegTask",
    "evaluation_sets",
    "train_and_evaluate",
    "training_batches",
    "validation_evaluator",
]
