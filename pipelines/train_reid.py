"""Train a person ReID model, evaluate it (rank-k, mAP), optionally export it.

  python -m pipelines.train_reid --config synthetic_r18w16 --workdir runs/reid \
      [--steps N] [--set KEY=VALUE ...] [--pretrained resnet.pth] \
      [--eval-crops DIR] [--export checkpoints/NAME]

Presets live in jaxmot/reid/configs.py (each with its command). Without a dataset the
run uses synthetic crops (no download). Running the same command again resumes from
the last checkpoint in WORKDIR/checkpoints. Results: WORKDIR/metrics.jsonl (training
log), WORKDIR/eval.json (retrieval metrics on the held-out split and --eval-crops).
The trainer is jaxmot.reid.trainer; this program adds what other systems provide: the
colour-histogram baseline and the appearance-gate tuning (jaxmot.mot).
"""

from __future__ import annotations

import pathlib
import sys

from jaxmot.mot.calibration import tune_appearance_gate
from jaxmot.mot.histogram import ColorHistogramExtractor
from jaxmot.reid.configs import PRESETS, get_config
from jaxmot.reid.trainer import train_and_evaluate
from jaxmot.train import experiment


def _train(argv) -> None:
    parser = experiment.training_parser(__doc__, PRESETS, default="synthetic_r18w16")
    parser.add_argument(
        "--pretrained",
        type=pathlib.Path,
        help="ImageNet ResNet weights (torchvision .pth/.safetensors/.npz)",
    )
    parser.add_argument(
        "--eval-crops",
        type=pathlib.Path,
        action="append",
        default=[],
        help="also evaluate on a Market-named crops folder (crops_index.csv)",
    )
    experiment.add_export_arg(parser, help="export the trained model here (e.g. checkpoints/NAME)")
    parser.add_argument(
        "--tune-scenes",
        type=int,
        default=6,
        help="with --export: tune the trackers' appearance gate on this many validation "
        "scenes (0: skip)",
    )
    args, exp = experiment.parse_experiment(parser, get_config, argv)
    options = experiment.run_options(args, "pipelines.train_reid", argv)

    def tune_gate(extractor):
        return tune_appearance_gate(extractor, args.tune_scenes, progress=options["progress"])

    train_and_evaluate(
        exp,
        args.workdir,
        pretrained=args.pretrained,
        eval_crops=args.eval_crops,
        baselines={"histogram": ColorHistogramExtractor()},
        tune_gate=tune_gate if args.tune_scenes > 0 else None,
        **options,
    )


main = experiment.training_main(_train)  # bad input: one `error:` line, exit status 2


if __name__ == "__main__":
    sys.exit(main())
