"""Train JDE (joint detection and embedding), then evaluate detector, embedding, tracker.

    train_and_evaluate(get_config("synthetic_small"), "runs/jde_small")

`JDETask` is JDE's loss (SmoothL1 boxes, cross-entropy confidence with ignore, identity
cross-entropy through a linear classifier, combined with learned uncertainty weights
per scale: jaxmot.jde.ops.jde_loss) on letterboxed images. `training_sources` builds
the data the config names: generated MOT scenes, the JDE dataset mixture
(`data.jde_root`, `data.jde_lists`) and MOTChallenge sequences with frames
(`data.mot_sequences`); `training_batches` the batches `train_and_evaluate` trains on.
`train_and_evaluate` trains (resuming from WORKDIR/checkpoints; with `train.eval_every`
> 0, AP and the jde tracker's IDF1 on generated validation scenes every K steps),
evaluates the `train.export_weights` weights on held-out generated scenes
(jaxmot.jde.benchmark.evaluate_jde: detection AP at IoU 0.5, embedding TPR at FAR 0.1,
MOTA / IDF1 / HOTA of the jde tracker), writes WORKDIR/eval.json and exports.
"""

from __future__ import annotations

import dataclasses
import functools
import os

import jax.numpy as jnp
from flax import nnx

from jaxmot.core.synthetic import SceneConfig
from jaxmot.jde.benchmark import (
    MIN_VISIBILITY,
    evaluate_jde,
    format_jde_eval,
    validation_scenes,
)
from jaxmot.jde.checkpoint import export_jde
from jaxmot.jde.configs import JDEExperiment
from jaxmot.jde.darknet_weights import load_darknet_weights
from jaxmot.jde.data import JDEBatches
from jaxmot.jde.model import JDE
from jaxmot.jde.ops import anchors_for_size, jde_loss
from jaxmot.jde.sources import JDEListSource, MOTSource, SyntheticSource
from jaxmot.train.experiment import (
    devices,
    export_run,
    train_and_pick,
    write_evaluation,
)
from jaxmot.train.freeze import batchnorm_affine_paths
from jaxmot.train.loop import Evaluator
from jaxmot.train.precision import as_float32

# The metric that picks WORKDIR/best/ (train.best_metric overrides it): the jde tracker's
# IDF1, which needs both heads (detection and embedding), as the exported model does in
# the tracker; detection AP ignores the embedding (`--set train.best_metric=ap50`).
HEADLINE = "idf1"


class JDETask:
    """JDE on letterboxed images with padded boxes and identities."""

    def __init__(self, exp: JDEExperiment, batches: JDEBatches):
        self.exp = exp
        self.batches = batches
        self.model_config = dataclasses.replace(exp.model, num_ids=batches.num_ids)
        self.anchors = jnp.asarray(anchors_for_size(exp.model.width, exp.model.height))

    def init_model(self, rngs: nnx.Rngs):
        model = JDE(self.model_config, rngs=rngs)
        if self.exp.darknet_weights:
            load_darknet_weights(model, self.exp.darknet_weights)
        return model

    def frozen_params(self, model) -> frozenset[tuple]:
        """BatchNorm scale and bias with `freeze_batchnorm` (the loop never updates them)."""
        return batchnorm_affine_paths(model) if self.exp.freeze_batchnorm else frozenset()

    def loss_fn(self, model, batch, rng):
        del rng  # no dropout in JDE
        # bfloat16 compute: the loss (and the classifier, applied inside it) in float32.
        outputs = as_float32(model(batch["images"]))
        classifier = model.classifier  # None without identities: no ID loss
        kernel = None if classifier is None else as_float32(classifier.kernel[...])
        bias = None if classifier is None else as_float32(classifier.bias[...])
        return jde_loss(
            outputs,
            batch,
            self.anchors,
            kernel,
            bias,
            as_float32(model.uncertainty[...]),
            self.model_config.num_ids,
        )

    def batch(self, step: int):
        return self.batches.batch(step)

    def batch_rows(self, step: int, rows: slice):
        """This host's rows of `batch(step)` (jaxmot.train.loop, several hosts)."""
        return self.batches.batch(step, rows)


def training_sources(exp: JDEExperiment) -> list:
    """The sources the data config names (at least one)."""
    d = exp.data
    sources = []
    if d.synthetic_scenes > 0:
        width, height = d.synthetic_size
        base = SceneConfig(width=width, height=height, num_frames=d.synthetic_frames)
        seeds = [1000 * d.seed + i for i in range(d.synthetic_scenes)]
        sources.append(SyntheticSource.from_seeds(seeds, base, min_visibility=MIN_VISIBILITY))
    if d.jde_lists:
        if d.jde_root is None:
            raise ValueError("data.jde_lists needs data.jde_root (the folder they are relative to)")
        sources.append(JDEListSource(d.jde_root, list(d.jde_lists)))
    if d.mot_sequences:
        sources.append(MOTSource(list(d.mot_sequences)))
    if not sources:
        raise ValueError(
            "no training data: set data.synthetic_scenes > 0, data.jde_lists or data.mot_sequences"
        )
    return sources


def training_batches(exp: JDEExperiment, workers: int = 1) -> JDEBatches:
    """The batches `train_and_evaluate` trains `exp` on: `batch(step)` -> {"images"
    [B, height, width, 3] float32 in [0, 1], "boxes" [B, G, 4] cxcywh px, "ids" [B, G],
    "valid" [B, G]} with B = train.batch_size and G = data.max_boxes
    (jaxmot.jde.data.JDEBatches; `num_ids` is the identities over all sources).
    `workers` threads prepare the samples of one batch (train_and_evaluate passes its
    own `workers`; the arrays do not depend on it).

    Raises ValueError / FileNotFoundError for bad data or config.
    """
    m, d = exp.model, exp.data
    return JDEBatches(
        training_sources(exp),
        m.width,
        m.height,
        exp.train.batch_size,
        max_boxes=d.max_boxes,
        augment=d.augment,
        seed=d.seed,
        workers=workers,
    )


def validation_evaluator(exp: JDEExperiment) -> Evaluator:
    """What `train` evaluates every `train.eval_every` steps: {"ap50", "recall", "idf1",
    "mota", "hota"} (detection AP at IoU 0.5 and the jde tracker's OVERALL metrics, plus
    "tpr_at_far_0.1" when it is defined) on `data.eval_scenes` generated validation
    scenes (`validation_scenes`: other seeds than the training scenes and the held-out
    scenes eval.json reports). Headline: the jde tracker's IDF1 (see HEADLINE). The
    `longterm` baseline of the final evaluation is not run."""
    scenes = validation_scenes(exp.data)

    def evaluate(model) -> dict[str, float]:
        result = evaluate_jde(model, exp, scenes=scenes, trackers=("jde",))
        jde = result["tracking"]["jde"]
        scores = {"ap50": result["ap50"], "recall": result["recall"]}
        scores.update(idf1=jde["IDF1"], mota=jde["MOTA"], hota=jde["HOTA"])
        if "0.1" in result.get("tpr_at_far", {}):
            scores["tpr_at_far_0.1"] = result["tpr_at_far"]["0.1"]
        return {k: float(v) for k, v in scores.items()}

    return Evaluator(evaluate, HEADLINE)


def train_and_evaluate(
    exp: JDEExperiment,
    workdir: str | os.PathLike,
    *,
    evaluate: bool = True,
    workers: int = 2,
    export: str | os.PathLike | None = None,
    command: str | None = None,
    progress: bool = True,
) -> dict:
    """Train `exp` in `workdir` (`workers` threads prepare each batch); with `evaluate`,
    evaluate and write WORKDIR/eval.json; export to `export` (with the evaluation, the
    experiment and `command`). Returns the evaluation ({"weights": "best", "ema" or
    "last", with "best" "best_step", ...}).

    With `train.eval_every` > 0 the validation scenes are scored during training
    (`validation_evaluator`, headline the jde tracker's IDF1); the evaluation and the
    export use the weights `train.export_weights` names (`train_and_pick`).

    Raises ValueError / FileNotFoundError for bad data or config.
    """
    m = exp.model
    batches = training_batches(exp, workers)
    names = ", ".join(
        f"{s['name']} ({s['samples']} images, {s['num_ids']} ids)" for s in batches.summary()
    )
    print(
        f"JDE {m.width}x{m.height}: {names}; {exp.train.steps} steps of "
        f"{exp.train.batch_size}; {devices()}"
    )
    result, model, evaluation = train_and_pick(
        JDETask(exp, batches),
        exp.train,
        workdir,
        progress=progress,
        evaluator=lambda: validation_evaluator(exp),
    )
    if evaluate:
        evaluation.update(evaluate_jde(model, exp, progress=progress))
        print(format_jde_eval(evaluation))
        write_evaluation(workdir, evaluation)
    save = functools.partial(export_jde, model, exp.detector, exp.tracker)
    export_run(
        export, save, step=result.step, experiment=exp, evaluation=evaluation, command=command
    )
    return evaluation


__all__ = [
    "HEADLINE",
    "JDETask",
    "train_and_evaluate",
    "training_batches",
    "training_sources",
    "validation_evaluator",
]
