"""Train the GNN association model, evaluate it as a tracker, optionally export it.

  python -m pipelines.train_gnn --config synthetic_sim --workdir runs/gnn \
      [--steps N] [--set KEY=VALUE ...] [--export checkpoints/NAME] [--lost-min-hits K]

Presets live in jaxmot/configs/gnn.py (each with its command). Without a dataset the run
uses synthetic scenes (no download). Training data are labelled detections
(jaxmot.data.association): every training sequence is drawn `data.draws` times with its
own detector noise / recall / false positives and embedding noise. Running the same
command again resumes from the last checkpoint in WORKDIR/checkpoints.

After training, the held-out sequences are tracked with `iou`, `longterm` and `gnn` on
the same detections and features, with the documented default detector
(`DetectorModel()`) and embeddings at three noise levels; `longterm`'s appearance gate
is tuned on the training sequences (first draw of each) first. Results:
WORKDIR/metrics.jsonl (training log) and WORKDIR/eval.json (MOTA, IDF1, HOTA, ID
switches per tracker and noise level).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.appearance.calibration import sweep_gates
from jaxmot.configs.gnn import PRESETS, GNNExperiment, get_config
from jaxmot.data import association
from jaxmot.data.atomic import atomic_write_text
from jaxmot.data.mot import Detections, MOTSequence, read_sequence
from jaxmot.data.reid.synthetic_crops import scene_seed
from jaxmot.data.synthetic import DetectorModel, SceneConfig, generate_sequence
from jaxmot.eval import evaluate
from jaxmot.models.gnn import AssociationGNN, pair_labels
from jaxmot.models.gnn_checkpoint import export_gnn_model
from jaxmot.ops.message_passing import association_loss
from jaxmot.trackers import make_tracker, track_sequence
from jaxmot.trackers.gnn_tracker import GNNTracker, GNNTrackerConfig
from jaxmot.train import add_config_args, apply_args, train
from jaxmot.train.export import command_line
from jaxmot.utils.runtime import prefer_synchronous_cpu_dispatch

EVAL_NOISE = (0.3, 0.5, 0.7)  # embedding noise levels of the held-out evaluation
EVAL_TRACKERS = ("iou", "longterm", "gnn")
_TRAIN_PART, _VAL_PART = 3, 4  # scene_seed streams (ReID uses 0, 1; gate tuning 2)


class GNNTask:
    """Weighted BCE (pos_weight) over all steps and valid pairs, averaged over graphs."""

    def __init__(self, experiment: GNNExperiment, batches):
        self.experiment = experiment
        self.batches = batches

    def init_model(self, rngs: nnx.Rngs):
        return AssociationGNN(self.experiment.model, rngs)

    def loss_fn(self, model, batch, rng):
        logits = model.score_batch(batch, rng)  # [B, S, N, M]
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


def random_detector(rng: np.random.Generator, exp: GNNExperiment) -> DetectorModel:
    d = exp.data
    return DetectorModel(
        p_max=float(rng.uniform(*d.recall)),
        center_std=float(rng.uniform(*d.center_std)),
        size_std=float(rng.uniform(*d.size_std)),
        fp_per_frame=float(rng.uniform(*d.fp_per_frame)),
    )


def embedding_model(exp: GNNExperiment, noise=None) -> association.EmbeddingModel:
    d = exp.data
    noise_range = d.embedding_noise if noise is None else (noise, noise)
    return association.EmbeddingModel(
        dim=d.embed_dim, noise_range=noise_range, drift=d.embedding_drift
    )


def source_sequences(exp: GNNExperiment, part: str, workdir: pathlib.Path) -> list[MOTSequence]:
    """The sequences (gt, no detections needed) of `part` ("train" or "val")."""
    d = exp.data
    if d.dataset == "mot17":
        if d.data_dir is None:
            raise ValueError("dataset 'mot17' needs --set data.data_dir=PATH")
        names = d.train_sequences if part == "train" else d.val_sequences
        if not names:
            raise ValueError(f"dataset 'mot17' needs data.{part}_sequences")
        return [read_sequence(pathlib.Path(d.data_dir) / name) for name in names]
    if d.dataset != "synthetic":
        raise ValueError(f"unknown dataset {d.dataset!r}: synthetic or mot17")
    count = d.synthetic_train_scenes if part == "train" else d.synthetic_val_scenes
    stream = _TRAIN_PART if part == "train" else _VAL_PART
    out = workdir / "data" / part
    sequences = []
    for j in range(count):
        config = SceneConfig(seed=scene_seed(d.seed, stream, j), render=d.features == "reid")
        sequences.append(read_sequence(generate_sequence(out, config, name=f"SYN-{part}-{j:02d}")))
    return sequences


def labelled(sequence: MOTSequence, exp: GNNExperiment, detector, embeddings, rng, extractor):
    if exp.data.features == "reid":
        if extractor is None:
            raise ValueError("data.features='reid' needs the learned ReID model")
        return association.labelled_sequence_with_extractor(sequence, detector, extractor, rng)
    return association.labelled_sequence(sequence, detector, embeddings, rng)


def training_sequences(exp, sequences, extractor=None) -> list:
    out = []
    for i, sequence in enumerate(sequences):
        for draw in range(exp.data.draws):
            rng = np.random.default_rng([exp.data.seed, i, draw])
            detector = random_detector(rng, exp)
            seq = labelled(sequence, exp, detector, embedding_model(exp), rng, extractor)
            out.append(dataclasses.replace(seq, name=f"{seq.name}#{draw}"))
    return out


def as_tracking_input(seq, sequence: MOTSequence) -> tuple[MOTSequence, np.ndarray]:
    """A labelled sequence as (MOTSequence with these detections, features)."""
    dets = Detections(frames=seq.frames, boxes=seq.boxes, scores=seq.scores)
    info = dataclasses.replace(sequence.info, name=seq.name)
    return MOTSequence(info=info, detections=dets, gt=sequence.gt), seq.features


def evaluate_trackers(model, exp, train_inputs, val_sequences, extractor=None, progress=True,
                      gnn_config: GNNTrackerConfig | None = None):  # fmt: skip
    """{noise level: {tracker: OVERALL metrics}} on the held-out sequences, with
    `longterm`'s gate tuned on `train_inputs`; the gnn tracker runs with `gnn_config`
    (None: its defaults)."""
    gate = sweep_gates(train_inputs, progress=progress).gate
    print(f"longterm appearance gate tuned on the training sequences: {gate:.2f}")
    return {"longterm_gate": gate,
            **track_held_out(model, exp, val_sequences, gate, extractor, gnn_config)}  # fmt: skip


def track_held_out(model, exp, val_sequences, gate, extractor=None, gnn_config=None,
                   trackers=EVAL_TRACKERS) -> dict:  # fmt: skip
    """{"noise_X": {tracker: OVERALL metrics}}: `trackers` on the held-out sequences at
    each embedding noise level (the same detections and features for every tracker);
    `gate` is longterm's appearance gate (other appearance trackers ignore it)."""
    gnn_config = gnn_config or GNNTrackerConfig()
    results = {}
    for noise in EVAL_NOISE:
        inputs = []
        for i, sequence in enumerate(val_sequences):
            rng = np.random.default_rng([exp.data.seed, 10_000 + i, int(noise * 100)])
            seq = labelled(sequence, exp, DetectorModel(), embedding_model(exp, noise), rng,
                           extractor)  # fmt: skip
            inputs.append(as_tracking_input(seq, sequence))
        rows = {}
        for name in trackers:
            pairs = {}
            for sequence, features in inputs:
                if name == "gnn":
                    tracker = GNNTracker(model, gnn_config, sequence.info.frame_rate)
                elif name == "longterm":
                    tracker = make_tracker(name, sequence.info.frame_rate, appearance_gate=gate)
                else:
                    tracker = make_tracker(name, sequence.info.frame_rate)
                run = track_sequence(tracker, sequence, features=features)
                pairs[sequence.info.name] = (sequence.gt, run.results)
            rows[name] = evaluate(pairs)["OVERALL"]
        results[f"noise_{noise}"] = rows
        print(format_rows(rows, f"held-out sequences, embedding noise {noise}"))
    return results


def format_rows(rows: dict, title: str) -> str:
    lines = [title, f"{'tracker':10s} {'MOTA':>6s} {'IDF1':>6s} {'HOTA':>6s} {'IDs':>6s}"]
    for name, m in rows.items():
        lines.append(f"{name:10s} {100 * m['MOTA']:6.1f} {100 * m['IDF1']:6.1f} "
                     f"{100 * m['HOTA']:6.1f} {m['IDs']:6d}")  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="synthetic_sim", choices=sorted(PRESETS))
    add_config_args(parser)
    parser.add_argument("--export", type=pathlib.Path,
                        help="export the trained model here (e.g. checkpoints/NAME)")  # fmt: skip
    parser.add_argument("--no-eval", action="store_true", help="skip the tracking evaluation")
    parser.add_argument(
        "--lost-min-hits", type=int, default=GNNTrackerConfig.lost_min_hits,
        help="the gnn tracker's lost_min_hits in the evaluation (1: every lost track)",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    prefer_synchronous_cpu_dispatch()
    exp = apply_args(get_config(args.config), args, steps_key="train.steps")
    if exp.model.reid_dim != exp.data.embed_dim and exp.data.features == "simulated":
        model = dataclasses.replace(exp.model, reid_dim=exp.data.embed_dim)
        exp = dataclasses.replace(exp, model=model)
    workdir = pathlib.Path(args.workdir)
    progress = not args.no_progress

    extractor = None
    if exp.data.features == "reid":
        from jaxmot.appearance.reid_extractor import ReIDExtractor

        extractor = ReIDExtractor.from_checkpoint()
        exp = dataclasses.replace(exp, model=dataclasses.replace(exp.model, reid_dim=extractor.dim))
    with tempfile.TemporaryDirectory(prefix="jaxmot-gnn-") as tmp:
        scratch = pathlib.Path(tmp)
        train_sources = source_sequences(exp, "train", scratch)
        val_sources = source_sequences(exp, "val", scratch)
        train_seqs = training_sequences(exp, train_sources, extractor)
        d = exp.data
        batches = association.AssociationBatches(
            train_seqs, exp.train.batch_size, seed=exp.train.seed, past_frames=d.past_frames,
            min_visibility=d.min_visibility, drop_p=d.drop_p, jitter=d.jitter,
            past_false_positives=d.past_false_positives,
        )  # fmt: skip
        detections = sum(len(s.frames) for s in train_seqs)
        print(f"train: {len(train_seqs)} labelled sequences ({len(train_sources)} sources x "
              f"{d.draws} draws), {detections} detections; {jax.device_count()} "
              f"{jax.default_backend()} device(s)")  # fmt: skip
        result = train(GNNTask(exp, batches), exp.train, workdir, progress=progress)

        evaluation = {}
        if not args.no_eval:
            # longterm's gate is tuned on the first draw of each training source: the
            # other draws only vary the noise and would repeat the same sweep.
            first_draws = train_seqs[:: exp.data.draws]
            train_inputs = [
                as_tracking_input(seq, source)
                for seq, source in zip(first_draws, train_sources, strict=True)
            ]
            gnn_config = GNNTrackerConfig(lost_min_hits=args.lost_min_hits)
            evaluation = evaluate_trackers(result.model, exp, train_inputs, val_sources,
                                           extractor, progress, gnn_config)  # fmt: skip
            atomic_write_text(workdir / "eval.json", json.dumps(evaluation, indent=2) + "\n")
    if args.export:
        command = command_line("pipelines.train_gnn", argv)
        export_gnn_model(result.model, args.export, step=result.step, evaluation=evaluation,
                         experiment=dataclasses.asdict(exp), command=command)  # fmt: skip
        print(f"exported -> {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
