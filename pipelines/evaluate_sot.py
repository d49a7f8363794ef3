"""Evaluate single-object tracking results: success AUC, precision@20px, normalised precision.

    python -m pipelines.evaluate_sot --predictions runs/mil --groundtruth data/GOT-10k/val
    python -m pipelines.evaluate_sot --predictions runs/mil/blackswan.txt \
        --groundtruth data/blackswan/groundtruth.txt --json sot_metrics.json
"""

from __future__ import annotations

import argparse
import sys

from jaxmot.core.eval.scoring import add_json_arg, score_and_report
from jaxmot.sot.metrics import FIRST_FRAME_MODES, evaluate_sequences
from jaxmot.sot.results_io import format_table, load_sequence_pairs


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipelines.evaluate_sot",
        description=(
            "Score single-object tracking boxes (one x,y,w,h or VOT polygon per line) against\n"
            "ground truth with the OTB / pysot / pytracking one-pass conventions (see\n"
            "jaxmot/sot/metrics.py): AUC = mean success (IoU > t) over t = 0..1 in 21 points,\n"
            "so a perfect tracker gets 20/21 = 95.2 as in those toolkits;\n"
            "P@20 = share of frames with centre error <= 20 px, NormP = share with centre\n"
            "error / gt size <= 0.2, NormP-AUC = its mean over thresholds 0..0.5. Frames whose\n"
            "gt is NaN or empty are skipped. OVERALL averages sequences with equal weight.\n"
            "The table shows percentages; the JSON holds fractions."
        ),
        epilog=(
            "examples:\n"
            "  python -m pipelines.evaluate_sot --predictions runs/mil \\\n"
            "      --groundtruth data/GOT-10k/val\n"
            "  python -m pipelines.evaluate_sot --predictions runs/mil/blackswan.txt \\\n"
            "      --groundtruth data/blackswan/groundtruth.txt --json sot_metrics.json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--predictions",
        required=True,
        metavar="FILE_OR_DIR",
        help="a <seq>.txt file of predicted boxes, or a folder of them",
    )
    p.add_argument(
        "--groundtruth",
        required=True,
        metavar="FILE_OR_DIR",
        help="<seq>.txt or <seq>/groundtruth.txt, or a folder of either layout",
    )
    p.add_argument(
        "--first-frame",
        choices=FIRST_FRAME_MODES,
        default="gt",
        help="frame 1: scored as the gt (OTB/pytracking, default), excluded, or kept as given",
    )
    add_json_arg(p, "{sequence | 'OVERALL': {auc, precision20, norm_precision, ...}}")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    def score():
        pairs = load_sequence_pairs(args.predictions, args.groundtruth)
        return evaluate_sequences(pairs, first_frame=args.first_frame)

    return score_and_report(score, format_table, args.json)


if __name__ == "__main__":
    sys.exit(main())
