"""Train a segmenter (linear probe, PAC upsampler or PAC joint upsampler), evaluate it.

  python -m pipelines.train_seg --config synthetic_joint --workdir runs/seg_joint \
      [--steps N] [--set KEY=VALUE ...] [--export checkpoints/NAME]

Presets live in jaxmot/seg/configs.py (each with its command). The default data is
generated (no download). Running the same command again resumes from the last
checkpoint in WORKDIR/checkpoints and re-evaluates. Results: WORKDIR/metrics.jsonl
(training log), WORKDIR/eval.json (foreground IoU and mean IoU over foreground and
background, on the held-out split and on `data.eval_davis` when set). The trainer is
jaxmot.seg.trainer.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from jaxmot.seg.configs import PRESETS, get_config
from jaxmot.seg.trainer import train_and_evaluate
from jaxmot.train import add_config_args, apply_args
from jaxmot.train.export import command_line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="synthetic_joint", choices=sorted(PRESETS))
    add_config_args(parser)
    parser.add_argument("--export", type=pathlib.Path, help="export the model to this folder")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    exp = apply_args(get_config(args.config), args, steps_key="train.steps")
    train_and_evaluate(
        exp,
        args.workdir,
        export=args.export,
        command=command_line("pipelines.train_seg", argv),
        progress=not args.no_progress,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
