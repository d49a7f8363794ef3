"""Train JDE (joint detection and embedding), then evaluate detector, embedding, tracker.

  python -m pipelines.train_jde --config synthetic_small --workdir runs/jde_small \
      [--steps N] [--set KEY=VALUE ...] [--export checkpoints/NAME]

Presets live in jaxmot/configs/jde.py (each with its command). The default data is
generated MOT scenes (no download); the JDE dataset mixture (`data.jde_root`,
`data.jde_lists`) and MOTChallenge sequences with frames (`data.mot_sequences`) are
added with `--set`. The loss is JDE's: SmoothL1 boxes, cross-entropy confidence with
ignore, identity cross-entropy through a linear classifier, combined with learned
uncertainty weights per scale (jaxmot.jde.ops.jde_loss). Running the same command again
resumes from WORKDIR/checkpoints. Results: WORKDIR/metrics.jsonl (training log) and
WORKDIR/eval.json (detection AP at IoU 0.5, embedding TPR at FAR 0.1, and MOTA / IDF1 /
HOTA of the jde tracker on held-out generated scenes).
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys

import jax
import jax.numpy as jnp
from flax import nnx

from jaxmot.core.atomic import atomic_write_json
from jaxmot.core.synthetic import SceneConfig
from jaxmot.jde.benchmark import MIN_VISIBILITY, evaluate_jde, format_jde_eval
from jaxmot.jde.checkpoint import export_jde
from jaxmot.jde.configs import PRESETS, JDEExperiment, get_config
from jaxmot.jde.data import JDEBatches
from jaxmot.jde.model import JDE
from jaxmot.jde.ops import anchors_for_size, jde_loss
from jaxmot.jde.sources import JDEListSource, MOTSource, SyntheticSource
from jaxmot.train import add_config_args, apply_args, train
from jaxmot.train.export import command_line


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
        return jde_loss(outputs, batch, self.anchors, kernel, bias, model.uncertainty[...],
                        self.model_config.num_ids)  # fmt: skip

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
        raise ValueError("no training data: set data.synthetic_scenes > 0, data.jde_lists "
                         "or data.mot_sequences")  # fmt: skip
    return sources


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="synthetic_small", choices=sorted(PRESETS))
    add_config_args(parser)
    parser.add_argument("--export", type=pathlib.Path, help="export the model to this folder")
    parser.add_argument("--no-eval", action="store_true", help="skip the evaluation")
    parser.add_argument("--workers", type=int, default=2, help="threads preparing a batch")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        return run(args, argv)
    except (ValueError, FileNotFoundError) as err:  # bad data or config: no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace, argv) -> int:
    # Asynchronous dispatch (JAX's default) lets the next batch be prepared on the host
    # while the device runs the step.
    exp = apply_args(get_config(args.config), args, steps_key="train.steps")
    workdir = pathlib.Path(args.workdir)
    progress = not args.no_progress

    m, d = exp.model, exp.data
    batches = JDEBatches(training_sources(exp), m.width, m.height, exp.train.batch_size,
                         max_boxes=d.max_boxes, augment=d.augment, seed=d.seed,
                         workers=args.workers)  # fmt: skip
    names = ", ".join(f"{s['name']} ({s['samples']} images, {s['num_ids']} ids)"
                      for s in batches.summary())  # fmt: skip
    devices = f"{jax.device_count()} {jax.default_backend()} device(s)"
    print(f"JDE {m.width}x{m.height}: {names}; {exp.train.steps} steps of "
          f"{exp.train.batch_size}; {devices}")  # fmt: skip
    result = train(JDETask(exp, batches), exp.train, workdir, progress=progress)
    model = result.ema_model if result.ema_model is not None else result.model

    evaluation = {"weights": "ema" if result.ema_model is not None else "last"}
    if not args.no_eval:
        evaluation.update(evaluate_jde(model, exp, progress=progress))
        print(format_jde_eval(evaluation))
        atomic_write_json(workdir / "eval.json", evaluation)
    if args.export:
        command = command_line("pipelines.train_jde", argv)
        export_jde(model, exp.detector, exp.tracker, args.export, step=result.step,
                   evaluation=evaluation, experiment=dataclasses.asdict(exp),
                   command=command)  # fmt: skip
        print(f"exported -> {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
