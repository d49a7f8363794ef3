"""Train E.T.Track on template/search pairs, then evaluate the tracker.

    train_and_evaluate(get_config("synthetic_narrow"), "runs/sot_narrow")

`SOTTask` is the LightTrack recipe: weighted BCE on the score map + `iou_weight` x IoU
loss inside the box (jaxmot.sot.loss), over pairs from jaxmot.sot.pairs. After training
the tracker (with the EMA of the weights when `train.ema_decay` > 0) is run on held-out
generated videos and, when `data.eval_davis` is set, DAVIS (jaxmot.sot.benchmark):
success AUC and precision at 20 px go to WORKDIR/eval.json and the export.
"""

from __future__ import annotations

import functools
import os
import pathlib
from collections.abc import Callable

from flax import nnx

from jaxmot.sot.benchmark import davis_sequences, run_benchmark, synthetic_sequences
from jaxmot.sot.checkpoint import export_sot
from jaxmot.sot.configs import SOTExperiment
from jaxmot.sot.geometry import score_grid
from jaxmot.sot.loss import sot_loss
from jaxmot.sot.model import ETTrack
from jaxmot.sot.pairs import PairSampler, sources_from_config
from jaxmot.sot.results_io import format_table
from jaxmot.sot.tracker import SOTTracker
from jaxmot.train import train
from jaxmot.train.experiment import devices, export_run, final_model, write_evaluation

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
        return sot_loss(
            out["cls"],
            out["reg"],
            batch["box"],
            self.grid,
            iou_weight=self.exp.iou_weight,
            valid=batch["valid"],
        )

    def batch(self, step: int):
        batch = self.sampler.batch(step, self.exp.train.batch_size)
        return {k: batch[k] for k in BATCH_KEYS}


def evaluate_tracker(model: ETTrack, exp: SOTExperiment, progress: Callable = print) -> dict:
    """Success AUC, precision and fps of the tracker on the held-out generated videos
    (and DAVIS when data.eval_davis is a folder)."""
    sequences = synthetic_sequences(exp.data.eval_synthetic_videos)
    davis = exp.data.eval_davis
    if davis and pathlib.Path(davis).is_dir():
        sequences += davis_sequences(davis)
    elif davis:
        progress(f"data.eval_davis {davis} not found: skipping DAVIS")
    trackers = {"ettrack": lambda: SOTTracker(model, exp.tracker)}
    scores, _ = run_benchmark(trackers, sequences, progress)
    return scores["ettrack"]


def train_and_evaluate(
    exp: SOTExperiment,
    workdir: str | os.PathLike,
    *,
    evaluate: bool = True,
    export: str | os.PathLike | None = None,
    command: str | None = None,
    progress: bool = True,
) -> dict:
    """Train `exp` in `workdir`; with `evaluate`, evaluate and write
    WORKDIR/eval.json; export to `export` (with the evaluation, the experiment and
    `command`). Returns the evaluation ({"weights": "ema" or "last", scores...})."""
    sources = sources_from_config(exp.data)
    sampler = PairSampler(sources, seed=exp.data.seed)
    names = ", ".join(f"{s.kind} x{len(s)} (weight {w:g})" for s, w in sources)
    print(f"E.T.Track: {names}; {exp.train.steps} steps of {exp.train.batch_size}; {devices()}")
    result = train(SOTTask(exp, sampler), exp.train, workdir, progress=progress)
    model, weights = final_model(result)

    evaluation = {"weights": weights}
    if evaluate:
        scores = evaluate_tracker(model, exp)
        print(format_table({k: v for k, v in scores.items() if k != "fps"}))
        evaluation.update(scores)
        write_evaluation(workdir, evaluation)
    save = functools.partial(export_sot, model, exp.tracker)
    export_run(
        export, save, step=result.step, experiment=exp, evaluation=evaluation, command=command
    )
    return evaluation


__all__ = ["BATCH_KEYS", "SOTTask", "evaluate_tracker", "train_and_evaluate"]
