"""Evaluate MOTChallenge tracker results: CLEAR-MOT, identity and HOTA metrics.

    python -m pipelines.evaluate --gt data/MOT17/train --results runs/mytracker
    python -m pipelines.evaluate --gt data/MOT17/train/MOT17-02-FRCNN \
        --results runs/mytracker/MOT17-02-FRCNN.txt --json metrics.json
"""

from __future__ import annotations

import argparse
import sys

from jaxmot.core.eval.metrics import evaluate
from jaxmot.core.eval.pairs import load_pairs
from jaxmot.core.eval.report import format_table
from jaxmot.core.eval.scoring import add_json_arg, score_and_report


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipelines.evaluate",
        description=(
            "Score MOTChallenge tracker results against ground truth: CLEAR-MOT and identity\n"
            "metrics (py-motmetrics) and HOTA (TrackEval), IoU threshold 0.5, after the\n"
            "MOTChallenge preprocessing (distractor classes removed). Prints one row per\n"
            "sequence and OVERALL; rates are percentages, MOTP is py-motmetrics' mean\n"
            "1 - IoU distance (lower is better)."
        ),
        epilog=(
            "examples:\n"
            "  python -m pipelines.evaluate --gt data/MOT17/train --results runs/mytracker\n"
            "  python -m pipelines.evaluate --gt data/MOT17/train/MOT17-02-FRCNN \\\n"
            "      --results runs/mytracker/MOT17-02-FRCNN.txt --json metrics.json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--gt",
        required=True,
        metavar="DIR",
        help="a folder of sequence folders (each with gt/gt.txt), or one sequence folder",
    )
    p.add_argument(
        "--results",
        required=True,
        metavar="DIR_OR_FILE",
        help="a folder of <sequence>.txt result files, or one file when --gt is one sequence",
    )
    add_json_arg(p, "the metrics as JSON: {sequence | 'OVERALL': {metric: value}}")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    def score():
        return evaluate(load_pairs(args.gt, args.results))

    return score_and_report(score, format_table, args.json)


if __name__ == "__main__":
    sys.exit(main())
