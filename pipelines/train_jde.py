"""Train JDE (joint detection and embedding), then evaluate detector, embedding, tracker.

  python -m pipelines.train_jde --config synthetic_small --workdir runs/jde_small \
      [--steps N] [--set KEY=VALUE ...] [--export checkpoints/NAME]

Presets live in jaxmot/jde/configs.py (each with its command). The default data is
generated MOT scenes (no download); the JDE dataset mixture (`data.jde_root`,
`data.jde_lists`) and MOTChallenge sequences with frames (`data.mot_sequences`) are
added with `--set`. The loss is JDE's: SmoothL1 boxes, cross-entropy confidence with
ignore, identity cross-entropy through a linear classifier, combined with learned
uncertainty weights per scale (jaxmot.jde.ops.jde_loss). Running the same command again
resumes from WORKDIR/checkpoints. Results: WORKDIR/metrics.jsonl (training log) and
WORKDIR/eval.json (detection AP at IoU 0.5, embedding TPR at FAR 0.1, and MOTA / IDF1 /
HOTA of the jde tracker on held-out generated scenes). The trainer is jaxmot.jde.trainer.
"""

from __future__ import annotations

import sys

from jaxmot.jde.configs import PRESETS, get_config
from jaxmot.jde.trainer import train_and_evaluate
from jaxmot.train import experiment


def _train(argv) -> None:
    parser = experiment.training_parser(__doc__, PRESETS, default="synthetic_small")
    experiment.add_export_arg(parser)
    parser.add_argument("--no-eval", action="store_true", help="skip the evaluation")
    parser.add_argument("--workers", type=int, default=2, help="threads preparing a batch")
    args, exp = experiment.parse_experiment(parser, get_config, argv)
    train_and_evaluate(
        exp,
        args.workdir,
        evaluate=not args.no_eval,
        workers=args.workers,
        **experiment.run_options(args, "pipelines.train_jde", argv),
    )


main = experiment.training_main(_train)  # bad input: one `error:` line, exit status 2


if __name__ == "__main__":
    sys.exit(main())
