"""Train the GNN association model, evaluate it as a tracker, optionally export it.

    train_and_evaluate(get_config("synthetic_sim"), "runs/gnn", tune_gate=..., oracle=...)

`GNNTask` is the loss (weighted BCE over all message-passing steps and valid pairs);
the training data are labelled draws of the experiment's sources (jaxmot.gnn.sequences):
every training sequence drawn `data.draws` times with its own detector noise / recall /
false positives and embedding noise (`training_batches`). `train_and_evaluate` trains
(resuming from WORKDIR/checkpoints; with `train.eval_every` > 0, the gnn tracker's IDF1
on the validation sequences every K steps), runs the evaluation protocol of
jaxmot.gnn.evaluation on the `train.export_weights` weights (gate and patience tuned on
the first draw of each training sequence, then the held-out sequences tracked by every
baseline), writes WORKDIR/eval.json and exports the model with its tuned patience
(model.json `"tracker": {"patience": P}`, which `make_tracker("gnn", gnn_checkpoint=...)`
uses).

What other systems provide comes in as arguments: the ReID `extractor` when
`data.features` is "reid", and the evaluation's `tune_gate` and `oracle`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
import tempfile
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from jaxmot.core.extractor import FeatureExtractor
from jaxmot.gnn import data as association
from jaxmot.gnn.checkpoint import export_gnn_model
from jaxmot.gnn.configs import GNNExperiment
from jaxmot.gnn.evaluation import (
    Oracle,
    TrackingInputs,
    evaluate_trackers,
    held_out_inputs,
    level_key,
    track_gnn,
)
from jaxmot.gnn.feature_data import feature_dim
from jaxmot.gnn.message_passing import association_loss
from jaxmot.gnn.model import AssociationGNN, pair_labels
from jaxmot.gnn.sequences import (
    as_tracking_input,
    check_features_dataset,
    sequence_dirs,
    source_sequences,
    training_sequences,
)
from jaxmot.gnn.tracker import GNNTrackerConfig
from jaxmot.train.experiment import (
    devices,
    export_run,
    train_and_pick,
    write_evaluation,
)
from jaxmot.train.loop import Evaluator
from jaxmot.train.precision import as_float32

HEADLINE = "idf1"  # the metric that picks WORKDIR/best/ (train.best_metric overrides it)


class GNNTask:
    """Weighted BCE (pos_weight) over all steps and valid pairs, averaged over graphs."""

    def __init__(self, experiment: GNNExperiment, batches):
        self.experiment = experiment
        self.batches = batches

    def init_model(self, rngs: nnx.Rngs):
        return AssociationGNN(self.experiment.model, rngs)

    def loss_fn(self, model, batch, rng):
        logits = as_float32(model.score_batch(batch, rng))  # [B, S, N, M]; f32 under bf16
        labels, valid = pair_labels(batch)
        pos_weight = self.experiment.pos_weight
        losses = jax.vmap(lambda x, y, v: association_loss(x, y, v, pos_weight))(
            logits, labels, valid
        )
        has_pairs = valid.any(axis=(1, 2))
        loss = jnp.sum(losses * has_pairs) / jnp.maximum(has_pairs.sum(), 1)
        predicted = logits[:, -1] > 0  # sigmoid > 0.5
        positive = labels > 0
        tp = jnp.sum(predicted & positive & valid)
        metrics = {
            "accuracy": jnp.sum((predicted == positive) & valid) / jnp.maximum(valid.sum(), 1),
            "precision": tp / jnp.maximum(jnp.sum(predicted & valid), 1),
            "recall": tp / jnp.maximum(jnp.sum(positive), 1),
        }
        return loss, metrics

    def batch(self, step: int):
        return self.batches.batch(step)


def fit_embedding_dim(exp: GNNExperiment, extractor: FeatureExtractor | None) -> GNNExperiment:
    """`exp` with model.reid_dim equal to the features' size: the extractor's dim for
    "reid" features, data.embed_dim for simulated ones, the size D of the features.npz
    files for dataset "features" (all of its sequences must agree)."""
    check_features_dataset(exp)
    dim = None
    if exp.data.dataset == "features":
        dim = feature_dim(sequence_dirs(exp, "train") + sequence_dirs(exp, "val"))
    elif exp.data.features == "reid" and extractor is not None:
        dim = extractor.dim
    elif exp.data.features == "simulated":
        dim = exp.data.embed_dim
    if dim is None or dim == exp.model.reid_dim:
        return exp
    return dataclasses.replace(exp, model=dataclasses.replace(exp.model, reid_dim=dim))


@dataclasses.dataclass
class GNNTrainingData:
    """What the GNN trains on: `batch(step)` -> the AssociationBatches batch of
    train.batch_size graphs (jaxmot.gnn.data); `sources` are the training sequences (gt),
    `sequences` their `data.draws` labelled draws each (source i's draws at i * draws ...)."""

    batches: association.AssociationBatches
    sources: list
    sequences: list

    def batch(self, step: int) -> dict:
        return self.batches.batch(step)


def training_batches(
    exp: GNNExperiment,
    scratch_dir: str | os.PathLike,
    extractor: FeatureExtractor | None = None,
) -> GNNTrainingData:
    """The batches `train_and_evaluate` trains `exp` on, with the sequences they come from.

    scratch_dir: a folder the synthetic scenes are generated into (keep it while the
      batches are used; train_and_evaluate uses a temporary one).
    extractor: the ReID extractor embedding the frames when data.features is "reid"
      (None is fine for "simulated" features).

    Raises ValueError for a missing dataset or a "reid" run without the extractor.
    """
    sources = source_sequences(exp, "train", pathlib.Path(scratch_dir))
    sequences = training_sequences(exp, sources, extractor)
    d = exp.data
    batches = association.AssociationBatches(
        sequences,
        exp.train.batch_size,
        seed=exp.train.seed,
        past_frames=d.past_frames,
        min_visibility=d.min_visibility,
        drop_p=d.drop_p,
        jitter=d.jitter,
        past_false_positives=d.past_false_positives,
        past_visibility=d.past_visibility,
        drop=d.drop,
        keep_one=d.keep_one,
    )
    return GNNTrainingData(batches, sources, sequences)


def validation_evaluator(
    exp: GNNExperiment,
    val_sources: list,
    extractor: FeatureExtractor | None = None,
    gnn_config: GNNTrackerConfig | None = None,
) -> Evaluator:
    """What `train` evaluates every `train.eval_every` steps: the gnn tracker (with
    `gnn_config`: its default patience 20 unless the config says otherwise) on the
    validation sequences `val_sources` at each embedding noise of EVAL_NOISE, the inputs
    the held-out evaluation uses (`held_out_inputs`, drawn once here): {"idf1" (mean over
    the noise levels, the headline), "mota", "hota" (means), "idf1_noise_X" (with several
    levels; dataset "features" has one, its own files)}.

    Only the gnn is tracked and nothing is tuned: the full protocol (longterm's gate
    and the gnn's patience swept on the training sequences, then every baseline and the
    oracle on the held-out sequences) takes too long to run every K steps. The validation
    sequences are the held-out sequences eval.json reports (the GNN datasets have no
    third split), so a checkpoint picked by them has an optimistically selected score
    there.
    """
    gnn_config = gnn_config or GNNTrackerConfig()
    inputs = held_out_inputs(exp, val_sources, extractor)

    def evaluate(model) -> dict[str, float]:
        rows = {noise: track_gnn(model, gnn_config, x) for noise, x in inputs.items()}
        scores = {
            name: float(sum(m[key] for m in rows.values()) / len(rows))
            for name, key in (("idf1", "IDF1"), ("mota", "MOTA"), ("hota", "HOTA"))
        }
        if len(rows) > 1:  # one level (dataset "features"): the means say it all
            scores.update({f"idf1_{level_key(n)}": float(m["IDF1"]) for n, m in rows.items()})
        return scores

    return Evaluator(evaluate, HEADLINE)


def train_and_evaluate(
    exp: GNNExperiment,
    workdir: str | os.PathLike,
    *,
    evaluate: bool = True,
    tune_gate: Callable[[TrackingInputs], float] | None = None,
    oracle: Oracle | None = None,
    extractor: FeatureExtractor | None = None,
    lost_min_hits: int = GNNTrackerConfig.lost_min_hits,
    export: str | os.PathLike | None = None,
    command: str | None = None,
    progress: bool = True,
) -> dict:
    """Train `exp` in `workdir`, evaluate, export; returns the evaluation ({"weights"} alone
    without one).

    evaluate: run the tracking evaluation (jaxmot.gnn.evaluation), which needs
      tune_gate(inputs) -> longterm's appearance gate on (sequence, features) pairs and
      the oracle (perfect association); both come from jaxmot.mot.
    extractor: the ReID extractor embedding the frames when data.features is "reid".
    lost_min_hits: the gnn tracker's lost_min_hits in the evaluation (1: every lost track).
    export: a folder the model is exported to, with the evaluation, the experiment,
      `command` and the tuned patience.

    With `train.eval_every` > 0 the gnn is scored on the validation sequences during
    training (`validation_evaluator`, headline IDF1, with `lost_min_hits`). The
    evaluation and the export use the weights `train.export_weights` names
    (`train_and_pick`); the evaluation records which (`"weights"`: "best", "ema" or "last";
    with "best" also `"best_step"`).
    """
    if evaluate and (tune_gate is None or oracle is None):
        raise ValueError("the evaluation needs tune_gate and oracle (or evaluate=False)")
    exp = fit_embedding_dim(exp, extractor)
    gnn_config = GNNTrackerConfig(lost_min_hits=lost_min_hits)
    with tempfile.TemporaryDirectory(prefix="jaxmot-gnn-") as tmp:
        scratch = pathlib.Path(tmp)
        data = training_batches(exp, scratch, extractor)
        train_sources, train_seqs = data.sources, data.sequences
        val_sources = source_sequences(exp, "val", scratch)
        detections = sum(len(s.frames) for s in train_seqs)
        print(
            f"train: {len(train_seqs)} labelled sequences ({len(train_sources)} sources x "
            f"{exp.data.draws} draws), {detections} detections; {devices()}"
        )
        result, model, evaluation = train_and_pick(
            GNNTask(exp, data),
            exp.train,
            workdir,
            progress=progress,
            evaluator=lambda: validation_evaluator(exp, val_sources, extractor, gnn_config),
        )

        if evaluate:
            # The gate and patience are tuned on the first draw of each training source:
            # the other draws only vary the noise and would repeat the same sweep.
            first_draws = train_seqs[:: exp.data.draws]
            train_inputs = [
                as_tracking_input(seq, source)
                for seq, source in zip(first_draws, train_sources, strict=True)
            ]
            evaluation |= evaluate_trackers(
                model,
                exp,
                train_inputs,
                val_sources,
                tune_gate=tune_gate,
                oracle=oracle,
                extractor=extractor,
                progress=progress,
                gnn_config=gnn_config,
            )
            write_evaluation(workdir, evaluation)
    # The tracker settings tuned for this model (none without the evaluation).
    tracker = {}
    if evaluate:
        tracker = {"patience": evaluation["gnn_patience"]}
        if len(exp.lost_boxes) > 1:  # exports of one-box presets stay as they were
            tracker["lost_box"] = evaluation["gnn_lost_box"]
    save = functools.partial(export_gnn_model, model, tracker=tracker)
    export_run(
        export, save, step=result.step, experiment=exp, evaluation=evaluation, command=command
    )
    return evaluation


__all__ = [
    "HEADLINE",
    "GNNTask",
    "GNNTrainingData",
    "fit_embedding_dim",
    "train_and_evaluate",
    "training_batches",
    "validation_evaluator",
]
