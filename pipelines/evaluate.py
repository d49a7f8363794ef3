"""Evaluate MOTChallenge tracker results: CLEAR-MOT, identity and HOTA metrics.

    python -m pipelines.evaluate --gt data/MOT17/train --results runs/mytracker
    python -m pipelines.evaluate --gt data/MOT17/train/MOT17-02-FRCNN \
        --results runs/mytracker/MOT17-02-FRCNN.txt --json metrics.json
    python -m pipelines.evaluate --gt data/MOT17/train --results runs/iou runs/sort \
        --csv table.csv --plot table.png    # or --results runs/ (a folder of tracker folders)
    python -m pipelines.evaluate --gt data/vehicles --results runs/cars --classes 3 4
"""

from __future__ import annotations

import argparse
import sys

from jaxmot.core.eval.compare import (
    compare,
    overall_rows,
    plot_comparison,
    tracker_folders,
    write_csv,
)
from jaxmot.core.eval.metrics import evaluate
from jaxmot.core.eval.pairs import load_pairs
from jaxmot.core.eval.report import format_table, write_json
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
        nargs="+",
        metavar="DIR_OR_FILE",
        help="a folder of <sequence>.txt result files (or one file when --gt is one "
        "sequence); several compare trackers, as does one folder of tracker folders",
    )
    add_json_arg(
        p,
        "the metrics as JSON: {sequence | 'OVERALL': {metric: value}}; comparing "
        "trackers: {tracker: {sequence | 'OVERALL': ...}}",
    )
    p.add_argument(
        "--classes",
        nargs="+",
        type=int,
        metavar="ID",
        help="evaluate these gt classes (the 8th column), each on its own, pooled in "
        "OVERALL; default: MOTChallenge pedestrians (class 1, distractors removed), or "
        "every box of gt without classes (MOT15)",
    )
    p.add_argument("--csv", metavar="OUT", help="comparing trackers: the table as CSV")
    p.add_argument(
        "--plot", metavar="OUT", help="comparing trackers: HOTA / DetA / AssA bars (.png)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        trackers = tracker_folders(args.results)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if len(trackers) == 1:
        if args.csv or args.plot:
            print("error: --csv and --plot compare several trackers' results", file=sys.stderr)
            return 2
        (path,) = trackers.values()
        return score_and_report(
            lambda: evaluate(load_pairs(args.gt, path), args.classes), format_table, args.json
        )
    by_tracker = {}

    def score():
        by_tracker.update(compare(args.gt, trackers, args.classes))
        return overall_rows(by_tracker)

    code = score_and_report(score, lambda rows: format_table(rows, "Tracker"))
    if code:
        return code
    if args.json:
        write_json(args.json, by_tracker)
    if args.csv:
        write_csv(args.csv, overall_rows(by_tracker))
    if args.plot:
        plot_comparison(args.plot, overall_rows(by_tracker))
        print(f"plot -> {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
