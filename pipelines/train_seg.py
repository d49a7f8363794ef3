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

import sys

from jaxmot.seg.configs import PRESETS, get_config
from jaxmot.seg.trainer import train_and_evaluate
from jaxmot.train.experiment import (
    add_export_arg,
    parse_experiment,
    run_options,
    run_program,
    training_parser,
)


def _train(argv) -> None:
    parser = training_parser(__doc__, PRESETS, default="synthetic_joint")
    add_export_arg(parser)
    args, exp = parse_experiment(parser, get_config, argv)
    train_and_evaluate(exp, args.workdir, **run_options(args, "pipelines.train_seg", argv))


def main(argv=None) -> int:
    """Bad input ends in one `error:` line and exit status 2 (run_program)."""
    return run_program(lambda: _train(argv))


if __name__ == "__main__":
    sys.exit(main())
