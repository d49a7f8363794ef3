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

import argparse
import pathlib
import sys

from jaxmot.sot.configs import PRESETS, get_config
from jaxmot.sot.trainer import train_and_evaluate
from jaxmot.train import add_config_args, apply_args
from jaxmot.train.export import command_line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="synthetic_narrow", choices=sorted(PRESETS))
    add_config_args(parser)
    parser.add_argument("--export", type=pathlib.Path, help="export the model to this folder")
    parser.add_argument("--no-eval", action="store_true", help="skip the tracking evaluation")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    exp = apply_args(get_config(args.config), args, steps_key="train.steps")
    train_and_evaluate(
        exp,
        args.workdir,
        evaluate=not args.no_eval,
        export=args.export,
        command=command_line("pipelines.train_sot", argv),
        progress=not args.no_progress,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
