"""Train the GNN association model, evaluate it as a tracker, optionally export it.

  python -m pipelines.train_gnn --config synthetic_sim --workdir runs/gnn \
      [--steps N] [--set KEY=VALUE ...] [--export checkpoints/NAME] [--lost-min-hits K]

Presets live in jaxmot/gnn/configs.py (each with its command). Without a dataset the run
uses synthetic scenes (no download). Training data are labelled detections
(jaxmot.gnn.data): every training sequence is drawn `data.draws` times with its
own detector noise / recall / false positives and embedding noise. Running the same
command again resumes from the last checkpoint in WORKDIR/checkpoints.

`--config mot_features` trains on your own detections and appearance features instead:
sequence folders DATA_DIR/<seq>/ with gt/gt.txt, det/det.txt and features.npz (one row
per det.txt line, what `pipelines.track --features` reads), each detection labelled
with the gt identity it overlaps best (IoU >= 0.5; jaxmot.gnn.feature_data):

  python -m pipelines.train_gnn --config mot_features --workdir runs/gnn_features \
      --set data.data_dir=DATA_DIR --set data.train_sequences=A,B,C \
      --set data.val_sequences=D --export runs/gnn_features/export

The model's input size follows the features; the evaluation tracks the validation
sequences on their own files. `pipelines.make_gnn_features` writes such folders (a
simulated ReID model with look-alikes, or the exercise's precomputed ReID data).

After training, `longterm`'s appearance gate and the `gnn` tracker's patience (frames a
lost track is kept; PATIENCE_CANDIDATES) are tuned on the training sequences (first draw
of each), by pooled IDF1; where the preset lists more than one way a lost track enters
the graph (`lost_boxes`: mot_features tries "detection" and "kalman"), the patience is
tuned with each and the best pair kept. Then the held-out sequences are tracked with `iou`,
`longterm`, `gnn` and the oracle (perfect association) at the baseline patience 20 and
at the tuned one (`eval_trackers`), on the same detections and features, with the
documented default detector (`DetectorModel()`) and embeddings at three noise levels.
Results: WORKDIR/metrics.jsonl (training log) and WORKDIR/eval.json (the tuned gate and
patience; MOTA, IDF1, HOTA, ID switches per tracker and noise level). The export's
model.json carries the tuned patience (`"tracker": {"patience": P}`, plus `"lost_box"`
where it was tuned), which
`make_tracker("gnn", gnn_checkpoint=...)` uses.

The trainer is jaxmot.gnn.trainer, the evaluation jaxmot.gnn.evaluation; this program
adds what other systems provide: the gate sweep and the oracle (jaxmot.mot) and, for
`data.features=reid`, the shipped ReID extractor (jaxmot.reid).
"""

from __future__ import annotations

import sys

from jaxmot.core.registry import make_extractor
from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch
from jaxmot.gnn.configs import PRESETS, get_config
from jaxmot.gnn.evaluation import Oracle
from jaxmot.gnn.tracker import GNNTrackerConfig
from jaxmot.gnn.trainer import train_and_evaluate
from jaxmot.mot.calibration import sweep_gates
from jaxmot.mot.oracle_tracker import OracleTracker, identity_features
from jaxmot.train import experiment


def _train(argv) -> None:
    prefer_synchronous_cpu_dispatch()
    parser = experiment.training_parser(__doc__, PRESETS, default="synthetic_sim")
    experiment.add_export_arg(parser, help="export the trained model here (e.g. checkpoints/NAME)")
    parser.add_argument("--no-eval", action="store_true", help="skip the tracking evaluation")
    parser.add_argument(
        "--lost-min-hits",
        type=int,
        default=GNNTrackerConfig.lost_min_hits,
        help="the gnn tracker's lost_min_hits in the evaluation (1: every lost track)",
    )
    args, exp = experiment.parse_experiment(parser, get_config, argv)
    options = experiment.run_options(args, "pipelines.train_gnn", argv)

    def tune_gate(inputs):
        return sweep_gates(inputs, progress=options["progress"]).gate

    extractor = make_extractor("reid") if exp.data.features == "reid" else None
    train_and_evaluate(
        exp,
        args.workdir,
        evaluate=not args.no_eval,
        tune_gate=tune_gate,
        oracle=Oracle(tracker=OracleTracker, features=identity_features),
        extractor=extractor,
        lost_min_hits=args.lost_min_hits,
        **options,
    )


main = experiment.training_main(_train)  # bad input: one `error:` line, exit status 2


if __name__ == "__main__":
    sys.exit(main())
