"""Train E.T.Track on template/search pairs, then evaluate the tracker.

    train_and_evaluate(get_config("synthetic_narrow"), "runs/sot_narrow")

`SOTTask` is the LightTrack recipe: weighted BCE on the score map + `iou_weight` x IoU
loss inside the box (jaxmot.sot.loss), over pairs from jaxmot.sot.pairs
(`training_batches`). With `train.eval_every` > 0 the tracker is scored on generated
validation videos every K steps (`validation_evaluator`). After training the tracker
(with the `train.export_weights` weights: the last, their EMA when `train.ema_decay` >
0, or the best evaluated) is run on held-out generated videos and, when
`data.eval_davis` is set, DAVIS (jaxmot.sot.benchmark): success AUC and precision at
20 px go to WORKDIR/eval.json and the export.
"""

from __future__ import annotations

import functools
import os
import pathlib
from collections.abc import Callable

import numpy as np
from flax import nnx

from jaxmot.sot.benchmark import (
    VALIDATION_SEED,
    davis_sequences,
    run_benchmark,
    synthetic_sequences,
)
from jaxmot.sot.checkpoint import export_sot
from jaxmot.sot.configs import SOTExperiment
from jaxmot.sot.geometry import score_grid
from jaxmot.sot.loss import sot_loss
from jaxmot.sot.model import ETTrack
from jaxmot.sot.pairs import PairSampler, sources_from_config
from jaxmot.sot.results_io import format_table
from jaxmot.sot.tracker import SOTTracker
from jaxmot.train.experiment import (
    devices,
    export_run,
    train_and_pick,
    write_evaluation,
)
from jaxmot.train.loop import Evaluator
from jaxmot.train.precision import as_float32

BATCH_KEYS = ("template", "search", "box", "valid")
HEADLINE = "auc"  # the metric that picks WORKDIR/best/ (train.best_metric overrides it)


class PairBatches:
    """`batch(step)` -> the BATCH_KEYS arrays of `batch_size` pairs of `sampler`
    (`PairSampler.batch`: template [B, 127, 127, 3], search [B, S, S, 3], box [B, 4],
    valid [B]); `sources` names what the sampler draws from."""

    def __init__(self, sampler: PairSampler, batch_size: int, sources: str = ""):
        self.sampler, self.batch_size, self.sources = sampler, int(batch_size), sources

    def batch(self, step: int, rows: slice | None = None) -> dict[str, np.ndarray]:
        """The global batch of `step`, or only its `rows` (one host's share)."""
        batch = self.sampler.batch(step, self.batch_size, rows)
        return {k: batch[k] for k in BATCH_KEYS}


def training_batches(exp: SOTExperiment) -> PairBatches:
    """The pairs `train_and_evaluate` trains `exp` on: `batch(step)` with
    train.batch_size rows from the sources `exp.data` names (jaxmot.sot.pairs).

    Raises ValueError / FileNotFoundError for a missing or malformed source.
    """
    sources = sources_from_config(exp.data)
    names = ", ".join(f"{s.kind} x{len(s)} (weight {w:g})" for s, w in sources)
    sampler = PairSampler(sources, seed=exp.data.seed)
    return PairBatches(sampler, exp.train.batch_size, names)


class SOTTask:
    """E.T.Track on (template, search) pairs with the LightTrack loss."""

    def __init__(self, exp: SOTExperiment, batches: PairBatches):
        self.exp = exp
        self.batches = batches
        search = exp.model.search_size
        self.grid = score_grid(exp.model.feature_size(search), exp.model.stride, search)

    def init_model(self, rngs: nnx.Rngs):
        return ETTrack(self.exp.model, rngs=rngs)

    def loss_fn(self, model, batch, rng):
        del rng  # dropout draws from the model's own rng stream
        out = as_float32(model(batch["template"], batch["search"]))  # bfloat16: f32 loss
        return sot_loss(
            out["cls"],
            out["reg"],
            batch["box"],
            self.grid,
            iou_weight=self.exp.iou_weight,
            valid=batch["valid"],
        )

    def batch(self, step: int):
        return self.batches.batch(step)

    def batch_rows(self, step: int, rows: slice):
        """This host's rows of `batch(step)` (jaxmot.train.loop, several hosts)."""
        return self.batches.batch(step, rows)


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


def validation_evaluator(exp: SOTExperiment) -> Evaluator:
    """What `train` evaluates every `train.eval_every` steps: {"auc", "precision20",
    "norm_precision"} (OVERALL, averaged over videos) of the tracker on
    `data.eval_synthetic_videos` generated validation videos of 100 frames (headline
    success AUC).

    The validation videos have their own seeds (VALIDATION_SEED + i), apart from the
    training videos and from the held-out videos eval.json reports; DAVIS is never
    scored during training. The videos are rendered at each evaluation (about 1.5 ms a
    frame) rather than held in memory for the whole run (8 videos: 180 MB).
    """

    def evaluate(model) -> dict[str, float]:
        sequences = synthetic_sequences(exp.data.eval_synthetic_videos, seed=VALIDATION_SEED)
        trackers = {"ettrack": lambda: SOTTracker(model, exp.tracker)}
        scores, _ = run_benchmark(trackers, sequences, progress=lambda _: None)
        overall = scores["ettrack"]["OVERALL"]
        return {k: float(overall[k]) for k in ("auc", "precision20", "norm_precision")}

    return Evaluator(evaluate, HEADLINE)


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
    `command`). Returns the evaluation ({"weights": "best", "ema" or "last", with
    "best" "best_step", scores...}).

    With `train.eval_every` > 0 the tracker is scored on the validation videos during
    training (`validation_evaluator`, headline success AUC); the evaluation and the
    export use the weights `train.export_weights` names (`train_and_pick`).
    """
    batches = training_batches(exp)
    print(
        f"E.T.Track: {batches.sources}; {exp.train.steps} steps of {exp.train.batch_size}; "
        f"{devices()}"
    )
    result, model, evaluation = train_and_pick(
        SOTTask(exp, batches),
        exp.train,
        workdir,
        progress=progress,
        evaluator=lambda: validation_evaluator(exp),
    )
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


__all__ = [
    "BATCH_KEYS",
    "HEADLINE",
    "PairBatches",
    "SOTTask",
    "evaluate_tracker",
    "train_and_evaluate",
    "training_batches",
    "validation_evaluator",
]
