"""Evaluate single-object tracking results: success AUC, precision@20px, normalised
precision, GOT-10k's AO / SR, and optionally the success and precision plots.

    python -m pipelines.evaluate_sot --predictions runs/mil --groundtruth data/GOT-10k/val
    python -m pipelines.evaluate_sot --predictions runs/mil/blackswan.txt \
        --groundtruth data/blackswan/groundtruth.txt --json sot_metrics.json
    python -m pipelines.evaluate_sot --predictions runs/ettrack --predictions runs/mil \
        --groundtruth data/lasot --plot runs/sot_plot.png
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from jaxmot.core.eval.scoring import add_json_arg, score_and_report
from jaxmot.sot.metrics import ABSENT_MODES, FIRST_FRAME_MODES, OVERALL, score_sequences
from jaxmot.sot.plots import plot_success_precision
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
            "gt is NaN or empty (absent target) count as failures (pytracking's default,\n"
            "pysot); --absent skip leaves them out. OVERALL averages sequences with equal\n"
            "weight. AO, SR0.5, SR0.75: GOT-10k's mean IoU and shares of frames with\n"
            "IoU > 0.5 / 0.75, over frames 2..T with a gt box, pooled over sequences as the\n"
            "GOT-10k toolkit does. The table shows percentages; the JSON holds fractions."
        ),
        epilog=(
            "examples:\n"
            "  python -m pipelines.evaluate_sot --predictions runs/mil \\\n"
            "      --groundtruth data/GOT-10k/val\n"
            "  python -m pipelines.evaluate_sot --predictions runs/mil/blackswan.txt \\\n"
            "      --groundtruth data/blackswan/groundtruth.txt --json sot_metrics.json\n"
            "  python -m pipelines.evaluate_sot --predictions runs/ettrack \\\n"
            "      --predictions runs/mil --groundtruth data/lasot --plot runs/sot_plot.png"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--predictions",
        required=True,
        action="append",
        metavar="FILE_OR_DIR",
        help="a <seq>.txt file of predicted boxes, or a folder of them; repeat it to score "
        "several trackers (one table and one plotted line each)",
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
    p.add_argument(
        "--absent",
        choices=ABSENT_MODES,
        default="fail",
        help="frames whose gt is NaN or empty: failures (default; pytracking, pysot) or "
        "skipped (for sparse ground truth where NaN means 'not annotated')",
    )
    p.add_argument(
        "--plot",
        metavar="OUT.png",
        help="also draw the success plot (legend: AUC) and precision plot (legend: P@20) "
        "of the OVERALL curves, one line per --predictions, into this PNG",
    )
    add_json_arg(
        p,
        "{sequence | 'OVERALL': {auc, precision20, norm_precision, ao, sr50, sr75, ...}}; "
        "with several --predictions, {label: that}",
    )
    return p


def _labels(paths: list[str]) -> list[str]:
    """A result set's label: its folder name or file stem; the path where names clash."""
    names = [pathlib.Path(p).stem for p in paths]
    return [n if names.count(n) == 1 else p for n, p in zip(names, paths, strict=True)]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    labels = _labels(args.predictions)
    if len(set(labels)) != len(labels):
        print("error: the same --predictions path is given twice", file=sys.stderr)
        return 2

    def score():
        results = {}
        for label, predictions in zip(labels, args.predictions, strict=True):
            pairs = load_sequence_pairs(predictions, args.groundtruth)
            results[label] = score_sequences(pairs, args.first_frame, args.absent)
        if args.plot:
            plot_success_precision({k: v[OVERALL] for k, v in results.items()}, args.plot)
        metrics = {k: {seq: s.summary() for seq, s in v.items()} for k, v in results.items()}
        return metrics[labels[0]] if len(labels) == 1 else metrics

    def table(metrics) -> str:
        if len(labels) == 1:
            return format_table(metrics)
        return "\n\n".join(f"{label}\n{format_table(metrics[label])}" for label in labels)

    rc = score_and_report(score, table, args.json)
    if rc == 0 and args.plot:
        print(f"success and precision plots -> {args.plot}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
