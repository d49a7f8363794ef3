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
from jaxmot.train import experiment


def _train(argv) -> None:
    parser = experiment.training_parser(__doc__, PRESETS, default="synthetic_joint")
    experiment.add_export_arg(parser)
    args, exp = experiment.parse_experiment(parser, get_config, argv)
    train_and_evaluate(
        exp, args.workdir, **experiment.run_options(args, "pipelines.train_seg", argv)
    )


main = experiment.training_main(_train)  # bad input: one `error:` line, exit status 2


if __name__ == "__main__":
    sys.exit(main())
