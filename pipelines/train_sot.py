"""Train E.T.Track on template/search pairs, then evaluate the tracker.

  python -m pipelines.train_sot --config synthetic_narrow --workdir runs/sot_narrow \
      [--steps N] [--set KEY=VALUE ...] [--export checkpoints/NAME]

Presets live in jaxmot/sot/configs.py (each with its command). The default data is
generated moving-object videos (no download); GOT-10k, LaSOT, TrackingNet, DAVIS, COCO
and MOTChallenge frames are added with `--set data.got10k=PATH` and the like. The loss
is the LightTrack recipe: weighted BCE on the score map + 1.2 x IoU loss inside the box.
With `train.ema_decay` > 0 the tracker is evaluated (and exported) with the EMA of the
weights. Running the same command again resumes from WORKDIR/checkpoints. Results:
WORKDIR/metrics.jsonl (training log) and WORKDIR/eval.json (success AUC, precision at
20 px on held-out generated videos and, when set, DAVIS). The trainer is
jaxmot.sot.trainer.
"""

from __future__ import annotations

import sys

from jaxmot.sot.configs import PRESETS, get_config
from jaxmot.sot.trainer import train_and_evaluate
from jaxmot.train import experiment


def _train(argv) -> None:
    parser = experiment.training_parser(__doc__, PRESETS, default="synthetic")
    experiment.add_export_arg(parser)
    parser.add_argument("--no-eval", action="store_true", help="skip the tracking evaluation")
    args, exp = experiment.parse_experiment(parser, get_config, argv)
    options = experiment.run_options(args, "pipelines.train_sot", argv)
    train_and_evaluate(exp, args.workdir, evaluate=not args.no_eval, **options)


main = experiment.training_main(_train)  # bad input: one `error:` line, exit status 2


if __name__ == "__main__":
    sys.exit(main())
