"""Train JDE (joint detection and embedding), then evaluate detector, embedding, tracker.

    train_and_evaluate(get_config("synthetic_small"), "runs/jde_small")

`JDETask` is JDE's loss (SmoothL1 boxes, cross-entropy confidence with ignore, identity
cross-entropy through a linear classifier, combined with learned uncertainty weights
per scale: jaxmot.jde.ops.jde_loss) on letterboxed images. `training_sources` builds
the data the config names: generated MOT scenes, the JDE dataset mixture
(`data.jde_root`, `data.jde_lists`) and MOTChallenge sequences with frames
(`data.mot_sequences`). `train_and_evaluate` trains (resuming from WORKDIR/checkpoints),
evaluates on held-out generated scenes (jaxmot.jde.benchmark.evaluate_jde: detection AP
at IoU 0.5, embedding TPR at FAR 0.1, MOTA / IDF1 / HOTA of the jde tracker), writes
WORKDIR/eval.json and exports.
"""

from __future__ import annotations

import dataclasses
import functools
import os

import jax.numpy as jnp
from flax import nnx

from jaxmot.core.synthetic import SceneConfig
from jaxmot.jde.benchmark import MIN_VISIBILITY, evaluate_jde, format_jde_eval
from jaxmot.jde.checkpoint import export_jde
from jaxmot.jde.configs import JDEExperiment
from jaxmot.jde.data import JDEBatches
from jaxmot.jde.model import JDE
from jaxmot.jde.ops import anchors_for_size, jde_loss
from jaxmot.jde.sources import JDEListSource, MOTSource, SyntheticSource
from jaxmot.train import train
from jaxmot.train.experiment import devices, export_run, final_model, write_evaluation


class JDETask:
    """JDE on letterboxed images with padded boxes and identities."""

    def __init__(self, exp: JDEExperiment, batches: JDEBatches):
        self.exp = exp
        self.batches = batches
        self.model_config = dataclasses.replace(exp.model, num_ids=batches.num_ids)
        self.anchors = jnp.asarray(anchors_for_size(exp.model.width, exp.model.height))

    def init_model(self, rngs: nnx.Rngs):
        return JDE(self.model_config, rngs=rngs)

    def loss_fn(self, model, batch, rng):
        del rng  # no dropout in JDE
        outputs = model(batch["images"])
        classifier = model.classifier  # None without identities: no ID loss
        kernel = None if classifier is None else classifier.kernel[...]
        bias = None if classifier is None else classifier.bias[...]
        return jde_loss(
            outputs,
            batch,
            self.anchors,
            kernel,
            bias,
            model.uncertainty[...],
            self.model_config.num_ids,
        )

    def batch(self, step: int):
        return self.batches.batch(step)


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
    experiment and `command`). Returns the evaluation ({"weights": "ema" or "last", ...}).

    Raises ValueError / FileNotFoundError for bad data or config.
    """
    # Asynchronous dispatch (JAX's default) lets the next batch be prepared on the host
    # while the device runs the step.
    m, d = exp.model, exp.data
    batches = JDEBatches(
        training_sources(exp),
        m.width,
        m.height,
        exp.train.batch_size,
        max_boxes=d.max_boxes,
        augment=d.augment,
        seed=d.seed,
        workers=workers,
    )
    names = ", ".join(
        f"{s['name']} ({s['samples']} images, {s['num_ids']} ids)" for s in batches.summary()
    )
    print(
        f"JDE {m.width}x{m.height}: {names}; {exp.train.steps} steps of "
        f"{exp.train.batch_size}; {devices()}"
    )
    result = train(JDETask(exp, batches), exp.train, workdir, progress=progress)
    model, weights = final_model(result)

    evaluation = {"weights": weights}
    if evaluate:
        evaluation.update(evaluate_jde(model, exp, progress=progress))
        print(format_jde_eval(evaluation))
        write_evaluation(workdir, evaluation)
    save = functools.partial(export_jde, model, exp.detector, exp.tracker)
    export_run(
        export, save, step=result.step, experiment=exp, evaluation=evaluation, command=command
    )
    return evaluation


__all__ = ["JDETask", "train_and_evaluate", "training_sources"]
