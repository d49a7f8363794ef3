"""Train a segmenter (linear probe, PAC upsampler or PAC joint upsampler), evaluate it.

    train_and_evaluate(get_config("synthetic_joint"), "runs/seg_joint")

`SegTask` is the loss (BCE of the logits against the full-resolution masks, or the
coarse masks for the linear probe); the arrays come from jaxmot.seg.inputs.
`train_and_evaluate` trains (resuming from WORKDIR/checkpoints), scores foreground IoU
and mean IoU over foreground and background on the held-out split and, when
`data.eval_davis` is set, on DAVIS (jaxmot.seg.evaluate), writes WORKDIR/eval.json and
exports.
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
from jaxmot.seg.model import SegmenterConfig, build_segmenter, segmentation_loss
from jaxmot.train import train
from jaxmot.train.experiment import devices, export_run, write_evaluation

DAVIS_EVERY = 5  # every 5th frame of each DAVIS sequence is evaluated


class SegTask:
    """BCE of the segmenter's logits: against the full-resolution masks (pac, joint) or
    the coarse masks (the linear probe, which predicts at the patch grid)."""

    def __init__(self, config: SegmenterConfig, batches: SegBatches):
        self.config = config
        self.batches = batches

    def init_model(self, rngs: nnx.Rngs):
        return build_segmenter(self.config, rngs)

    def loss_fn(self, model, batch, rng):
        del rng
        logits = model(batch["low"], batch["images"])
        target = batch["coarse"] if self.config.kind == "linear" else batch["masks"]
        loss = segmentation_loss(logits, target)
        accuracy = ((logits[..., 0] > 0) == (target > 0.5)).mean()
        return loss, {"pixel_accuracy": accuracy}

    def batch(self, step: int):
        return self.batches.batch(step)


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
    `data.epochs`, when set, replaces train.steps."""
    check_experiment(exp)
    lows = LowInputs(exp, progress)
    train_arrays = lows(load_samples(exp.data, "train"))
    val_arrays = lows(load_samples(exp.data, "val"))
    if exp.data.epochs is not None:
        steps = math.ceil(exp.data.epochs * len(train_arrays) / exp.train.batch_size)
        exp = dataclasses.replace(exp, train=dataclasses.replace(exp.train, steps=steps))
    print(
        f"{exp.model.kind}: {len(train_arrays)} training images "
        f"{train_arrays.masks.shape[1:]}, {len(val_arrays)} held out; {lows.description}; "
        f"{exp.train.steps} steps of {exp.train.batch_size}; {devices()}"
    )
    batches = SegBatches(train_arrays, exp.train.batch_size, crop=exp.data.crop, seed=exp.data.seed)
    result = train(SegTask(exp.model, batches), exp.train, workdir, progress=progress)

    evaluation = {"inputs": lows.description}
    for name, arrays in evaluation_sets(exp, lows, val_arrays).items():
        scores = evaluate_segmenter(result.model, exp.model.kind, arrays)
        evaluation[name] = {"images": len(arrays), **scores}
        print(format_scores(scores, f"{name} ({len(arrays)} images; dataset-level IoU)"))
    write_evaluation(workdir, evaluation)
    save = functools.partial(export_segmenter, result.model)
    export_run(
        export, save, step=result.step, experiment=exp, evaluation=evaluation, command=command
    )
    return evaluation


__all__ = ["SegTask", "evaluation_sets", "train_and_evaluate"]
