"""Train the GNN association model, evaluate it as a tracker, optionally export it.

  python -m pipelines.train_gnn --config synthetic_sim --workdir runs/gnn \
      [--steps N] [--set KEY=VALUE ...] [--export checkpoints/NAME] [--lost-min-hits K]

Presets live in jaxmot/configs/gnn.py (each with its command). Without a dataset the run
uses synthetic scenes (no download). Training data are labelled detections
(jaxmot.gnn.data): every training sequence is drawn `data.draws` times with its
own detector noise / recall / false positives and embedding noise. Running the same
command again resumes from the last checkpoint in WORKDIR/checkpoints.

After training, `longterm`'s appearance gate and the `gnn` tracker's patience (frames a
lost track is kept; PATIENCE_CANDIDATES) are tuned on the training sequences (first draw
of each), by pooled IDF1. Then the held-out sequences are tracked with `iou`,
`longterm`, `gnn` and the oracle (perfect association) at the course's patience 20 and
at the tuned one (`eval_trackers`), on the same detections and features, with the
documented default detector (`DetectorModel()`) and embeddings at three noise levels.
Results: WORKDIR/metrics.jsonl (training log) and WORKDIR/eval.json (the tuned gate and
patience; MOTA, IDF1, HOTA, ID switches per tracker and noise level). The export's
model.json carries the tuned patience (`"tracker": {"patience": P}`), which
`make_tracker("gnn", gnn_checkpoint=...)` uses.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxmot.core.atomic import atomic_write_json
from jaxmot.core.eval.metrics import evaluate
from jaxmot.core.eval.sweep import sweep_tracker_setting
from jaxmot.core.mot_io import Detections, MOTSequence, read_sequence
from jaxmot.core.registry import PATIENCE_TRACKERS, make_tracker
from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch
from jaxmot.core.sequence import track_sequence
from jaxmot.core.synthetic import DetectorModel, SceneConfig, generate_sequence, scene_seed
from jaxmot.gnn import data as association
from jaxmot.gnn.checkpoint import export_gnn_model
from jaxmot.gnn.configs import PRESETS, GNNExperiment, get_config
from jaxmot.gnn.message_passing import association_loss
from jaxmot.gnn.model import AssociationGNN, pair_labels
from jaxmot.gnn.tracker import (
    COURSE_PATIENCE,
    PATIENCE_CANDIDATES,
    GNNTracker,
    GNNTrackerConfig,
)
from jaxmot.mot.calibration import sweep_gates
from jaxmot.mot.oracle_tracker import OracleTracker, identity_features
from jaxmot.train import add_config_args, apply_args, train
from jaxmot.train.export import command_line

EVAL_NOISE = (0.3, 0.5, 0.7)  # embedding noise levels of the held-out evaluation
TRACKER_SPEC_HELP = (
    "trackers as NAME[-pPATIENCE][-gGATE]: iou, jde, longterm (patience 20, gate: the "
    "tuned one), gnn (patience: the tuned one) or oracle (perfect association, patience "
    "20); e.g. longterm-p60-g0.5, gnn-p90, oracle-p60"
)
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


def eval_trackers(patience: int) -> tuple[str, ...]:
    """The rows of the held-out evaluation for a gnn tuned to `patience`: `longterm`
    (with the tuned gate and its default 0.5), the gnn and the oracle (perfect
    association: what any association could reach with that memory), at the course's
    patience 20 and, when the tuned one differs, at that one too."""
    if patience == COURSE_PATIENCE:
        return ("iou", "longterm", "longterm-g0.5", "gnn", f"oracle-p{COURSE_PATIENCE}")
    course = ("longterm", "longterm-g0.5", f"gnn-p{COURSE_PATIENCE}", f"oracle-p{COURSE_PATIENCE}")
    tuned = (f"longterm-p{patience}", f"longterm-p{patience}-g0.5", "gnn", f"oracle-p{patience}")
    return ("iou", *course, *tuned)


def tune_patience(model, gnn_config, sequences, progress=True) -> tuple[int, dict]:
    """The gnn tracker's patience with the best pooled IDF1 on (sequence, features)
    pairs among PATIENCE_CANDIDATES, and {patience: IDF1}."""

    def gnn(patience, frame_rate):
        return GNNTracker(model, gnn_config.with_patience(patience), frame_rate)

    best, idf1, _ = sweep_tracker_setting(gnn, PATIENCE_CANDIDATES, sequences,
                                          progress=progress, desc="gnn patience")  # fmt: skip
    by_patience = {str(p): round(float(idf1[i]), 4) for i, p in enumerate(PATIENCE_CANDIDATES)}
    return PATIENCE_CANDIDATES[best], by_patience


def evaluate_trackers(model, exp, train_inputs, val_sequences, extractor=None, progress=True,
                      gnn_config: GNNTrackerConfig | None = None):  # fmt: skip
    """{noise level: {tracker: OVERALL metrics}} on the held-out sequences, with
    `longterm`'s gate and the gnn's patience tuned on `train_inputs` first; the gnn
    tracker runs with `gnn_config` (None: its defaults) and the tuned patience."""
    gate = sweep_gates(train_inputs, progress=progress).gate
    print(f"longterm appearance gate tuned on the training sequences: {gate:.2f}")
    gnn_config = gnn_config or GNNTrackerConfig()
    patience, sweep = tune_patience(model, gnn_config, train_inputs, progress)
    print(f"gnn patience tuned on the training sequences: {patience} (IDF1 by patience: "
          + ", ".join(f"{p}: {100 * v:.1f}" for p, v in sweep.items()) + ")")  # fmt: skip
    gnn_config = gnn_config.with_patience(patience)
    held_out = track_held_out(model, exp, val_sequences, gate, extractor, gnn_config)
    return {"longterm_gate": gate, "gnn_patience": patience, "gnn_patience_idf1": sweep,
            **held_out}  # fmt: skip


def parse_tracker_spec(spec: str) -> tuple[str, int | None, float | None]:
    """A spec NAME[-pPATIENCE][-gGATE] -> (name, patience or None, gate or None); a
    ValueError naming the spec when it is malformed."""
    name, *options = spec.split("-")
    patience = gate = None
    try:
        for option in options:
            if option[:1] == "p" and patience is None:
                patience = int(option[1:])
            elif option[:1] == "g" and gate is None:
                gate = float(option[1:])
            else:
                raise ValueError(option)
    except ValueError:
        raise ValueError(f"tracker {spec!r}: expected NAME[-pPATIENCE][-gGATE]") from None
    known = ("iou", "jde", "longterm", "gnn", "oracle")
    if name not in known:
        raise ValueError(f"tracker {spec!r}: unknown name {name!r}; known: {', '.join(known)}")
    if patience is not None and (patience < 1 or name not in (*PATIENCE_TRACKERS, "oracle")):
        raise ValueError(f"tracker {spec!r}: patience must be >= 1, for longterm/gnn/oracle")
    if gate is not None and (not gate > 0 or name != "longterm"):
        raise ValueError(f"tracker {spec!r}: a gate (> 0) applies to longterm only")
    return name, patience, gate


def eval_tracker(spec: str, frame_rate: float, gate: float, model, gnn_config):
    """The tracker of an evaluation spec (`parse_tracker_spec`); `gate` is longterm's
    tuned gate, `gnn_config` the gnn's config (a `-p` spec replaces its patience)."""
    name, patience, spec_gate = parse_tracker_spec(spec)
    if name == "gnn":
        if patience is not None:
            gnn_config = gnn_config.with_patience(patience)
        return GNNTracker(model, gnn_config, frame_rate)
    if name == "oracle":
        return OracleTracker(patience or COURSE_PATIENCE, frame_rate)
    if name == "longterm":
        gate = gate if spec_gate is None else spec_gate
        return make_tracker(name, frame_rate, appearance_gate=gate, patience=patience)
    return make_tracker(name, frame_rate)


def track_held_out(model, exp, val_sequences, gate, extractor=None, gnn_config=None,
                   trackers=None, label="held-out sequences") -> dict:  # fmt: skip
    """{"noise_X": {tracker: OVERALL metrics}}: `trackers` (specs, `parse_tracker_spec`)
    on the held-out sequences at each embedding noise level (the same detections and
    features for every tracker; the oracle gets their gt identities instead; None:
    `eval_trackers` of the gnn's patience); `gate` is longterm's appearance gate unless a
    spec names one."""
    gnn_config = gnn_config or GNNTrackerConfig()
    trackers = eval_trackers(gnn_config.patience) if trackers is None else trackers
    for spec in trackers:
        parse_tracker_spec(spec)  # fail before any tracking
    results = {}
    for noise in EVAL_NOISE:
        inputs = []
        for i, sequence in enumerate(val_sequences):
            rng = np.random.default_rng([exp.data.seed, 10_000 + i, int(noise * 100)])
            seq = labelled(sequence, exp, DetectorModel(), embedding_model(exp, noise), rng,
                           extractor)  # fmt: skip
            inputs.append((*as_tracking_input(seq, sequence), identity_features(seq.ids)))
        rows = {}
        for spec in trackers:
            pairs = {}
            for sequence, features, identities in inputs:
                tracker = eval_tracker(spec, sequence.info.frame_rate, gate, model, gnn_config)
                given = identities if isinstance(tracker, OracleTracker) else features
                run = track_sequence(tracker, sequence, features=given)
                pairs[sequence.info.name] = (sequence.gt, run.results)
            rows[spec] = evaluate(pairs)["OVERALL"]
        results[f"noise_{noise}"] = rows
        print(format_rows(rows, f"{label}, embedding noise {noise}"))
    return results


def format_rows(rows: dict, title: str) -> str:
    width = max(10, *(len(name) for name in rows))
    lines = [title, f"{'tracker':{width}s} {'MOTA':>6s} {'IDF1':>6s} {'HOTA':>6s} {'IDs':>6s}"]
    for name, m in rows.items():
        lines.append(f"{name:{width}s} {100 * m['MOTA']:6.1f} {100 * m['IDF1']:6.1f} "
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
        from jaxmot.reid.extractor import ReIDExtractor

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
            atomic_write_json(workdir / "eval.json", evaluation)
    if args.export:
        command = command_line("pipelines.train_gnn", argv)
        # The tracker settings tuned for this model (none without the evaluation).
        tracker = {"patience": evaluation["gnn_patience"]} if evaluation else {}
        export_gnn_model(result.model, args.export, step=result.step, evaluation=evaluation,
                         experiment=dataclasses.asdict(exp), command=command,
                         tracker=tracker)  # fmt: skip
        print(f"exported -> {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
