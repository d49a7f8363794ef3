"""Train E.T.Track on template/search pairs, then evaluate the tracker.

  python -m pipelines.train_sot --config synthetic_narrow --workdir runs/sot_narrow \
      [--steps N] [--set KEY=VALUE ...] [--export checkpoints/NAME]

Presets live in jaxmot/configs/sot.py (each with its command). The default data is
generated moving-object videos (no download); GOT-10k, LaSOT, TrackingNet, DAVIS, COCO
and MOTChallenge frames are added with `--set data.got10k=PATH` and the like. The loss
is the LightTrack recipe: weighted BCE on the score map + 1.2 x IoU loss inside the box.
With `train.ema_decay` > 0 the tracker is evaluated (and exported) with the EMA of the
weights. Running the same command again resumes from WORKDIR/checkpoints. Results:
WORKDIR/metrics.jsonl (training log) and WORKDIR/eval.json (success AUC, precision at
20 px on held-out generated videos and, when set, DAVIS).
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys

import jax
from flax import nnx

from jaxmot.core.atomic import atomic_write_json
from jaxmot.sot.benchmark import davis_sequences, run_benchmark, synthetic_sequences
from jaxmot.sot.checkpoint import export_sot
from jaxmot.sot.configs import PRESETS, SOTExperiment, get_config
from jaxmot.sot.geometry import score_grid
from jaxmot.sot.loss import sot_loss
from jaxmot.sot.model import ETTrack
from jaxmot.sot.pairs import PairSampler, sources_from_config
from jaxmot.sot.results_io import format_table
from jaxmot.sot.tracker import SOTTracker
from jaxmot.train import add_config_args, apply_args, train
from jaxmot.train.export import command_line

BATCH_KEYS = ("template", "search", "box", "valid")


class SOTTask:
    """E.T.Track on (template, search) pairs with the LightTrack loss."""

    def __init__(self, exp: SOTExperiment, sampler: PairSampler):
        self.exp = exp
        self.sampler = sampler
        search = exp.model.search_size
        self.grid = score_grid(exp.model.feature_size(search), exp.model.stride, search)

    def init_model(self, rngs: nnx.Rngs):
        return ETTrack(self.exp.model, rngs=rngs)

    def loss_fn(self, model, batch, rng):
        del rng  # dropout draws from the model's own rng stream
        out = model(batch["template"], batch["search"])
        return sot_loss(out["cls"], out["reg"], batch["box"], self.grid,
                        iou_weight=self.exp.iou_weight, valid=batch["valid"])  # fmt: skip

    def batch(self, step: int):
        batch = self.sampler.batch(step, self.exp.train.batch_size)
        return {k: batch[k] for k in BATCH_KEYS}


def evaluate(model, exp: SOTExperiment, progress=print) -> dict:
    sequences = synthetic_sequences(exp.data.eval_synthetic_videos)
    davis = exp.data.eval_davis
    if davis and pathlib.Path(davis).is_dir():
        sequences += davis_sequences(davis)
    elif davis:
        progress(f"data.eval_davis {davis} not found: skipping DAVIS")
    scores, _ = run_benchmark({"ettrack": lambda: SOTTracker(model, exp.tracker)}, sequences,
                              progress)  # fmt: skip
    return scores["ettrack"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="synthetic_narrow", choices=sorted(PRESETS))
    add_config_args(parser)
    parser.add_argument("--export", type=pathlib.Path, help="export the model to this folder")
    parser.add_argument("--no-eval", action="store_true", help="skip the tracking evaluation")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    exp = apply_args(get_config(args.config), args, steps_key="train.steps")
    workdir = pathlib.Path(args.workdir)

    sources = sources_from_config(exp.data)
    sampler = PairSampler(sources, seed=exp.data.seed)
    names = ", ".join(f"{s.kind} x{len(s)} (weight {w:g})" for s, w in sources)
    print(f"E.T.Track: {names}; {exp.train.steps} steps of {exp.train.batch_size}; "
          f"{jax.device_count()} {jax.default_backend()} device(s)")  # fmt: skip
    result = train(SOTTask(exp, sampler), exp.train, workdir, progress=not args.no_progress)
    model = result.ema_model if result.ema_model is not None else result.model

    evaluation = {"weights": "ema" if result.ema_model is not None else "last"}
    if not args.no_eval:
        scores = evaluate(model, exp)
        print(format_table({k: v for k, v in scores.items() if k != "fps"}))
        evaluation.update(scores)
        atomic_write_json(workdir / "eval.json", evaluation)
    if args.export:
        command = command_line("pipelines.train_sot", argv)
        export_sot(model, exp.tracker, args.export, step=result.step, evaluation=evaluation,
                   experiment=dataclasses.asdict(exp), command=command)  # fmt: skip
        print(f"exported -> {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
