"""E.T.Track against OpenCV's MIL on real sequences: success AUC side by side.

  python -m pipelines.compare_sot [--davis DIR] [--tennis DIR] [--synthetic 0]
      [--checkpoint DIR] [--json OUT] [--predictions DIR] [--plot OUT.png]

Both trackers start from frame 0's ground-truth box of every sequence: DAVIS-2016
sequences with boxes from the masks, and the tennis player with the project's sparse
hand-made ground truth (jaxmot/sot/annotations; 8 boxes, frames 0, 10, ..., 60, 69),
plus optionally generated videos held out from training. Prints a table per tracker
(OTB success AUC, precision at 20 px, normalised precision, GOT-10k AO / SR) and a
summary, writes the scores as JSON, with --predictions each tracker's boxes as
`<tracker>/<seq>.txt` (readable by `pipelines.evaluate_sot`) and with --plot the success
and precision plots (one line per tracker). DAVIS frames with an empty mask count as
failures; the tennis ground truth is sparse, its unannotated frames are skipped. The
dataset folders default to `davis2016/` and `tennis/` under the data root ($JAXMOT_DATA,
default ./data; docs/datasets.md).
"""

from __future__ import annotations

import argparse
import functools
import pathlib
import sys

from jaxmot.core.atomic import atomic_write_json, atomic_write_text
from jaxmot.core.paths import data_root
from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch
from jaxmot.sot.benchmark import (
    davis_sequences,
    run_benchmark,
    synthetic_sequences,
    tennis_sequence,
)
from jaxmot.sot.metrics import OVERALL, score_sequences
from jaxmot.sot.plots import plot_success_precision
from jaxmot.sot.results_io import format_table
from jaxmot.sot.run import TRACKERS, format_boxes, make_sot_tracker


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--davis", type=pathlib.Path, default=data_root() / "davis2016")
    parser.add_argument("--tennis", type=pathlib.Path, default=data_root() / "tennis")
    parser.add_argument("--synthetic", type=int, default=0, help="generated videos to add")
    parser.add_argument("--checkpoint", help="exported E.T.Track (default: the shipped one)")
    parser.add_argument("--json", type=pathlib.Path)
    parser.add_argument("--predictions", type=pathlib.Path)
    parser.add_argument("--plot", type=pathlib.Path, help="success and precision plots (PNG)")
    args = parser.parse_args(argv)
    prefer_synchronous_cpu_dispatch()

    sequences = synthetic_sequences(args.synthetic)
    if args.davis.is_dir():
        sequences += davis_sequences(args.davis)
    else:
        print(f"no DAVIS folder at {args.davis}: skipped")
    if args.tennis.is_dir():
        sequences.append(tennis_sequence(args.tennis))
    else:
        print(f"no tennis folder at {args.tennis}: skipped")
    if not sequences:
        print("error: no sequences to evaluate", file=sys.stderr)
        return 2

    trackers = {
        name: functools.partial(make_sot_tracker, name, args.checkpoint) for name in TRACKERS
    }
    scores, predictions = run_benchmark(trackers, sequences)
    for name, table in scores.items():
        print(f"\n{name} ({table['fps']:.1f} frames/s, first-call compilation included)")
        print(format_table({k: v for k, v in table.items() if k != "fps"}))
    names = [s.name for s in sequences] + ["OVERALL"]
    print(f"\nsuccess AUC (%)\n{'sequence':16s} " + " ".join(f"{t:>8s}" for t in scores))
    for seq in names:
        print(f"{seq:16s} " + " ".join(f"{100 * scores[t][seq]['auc']:8.1f}" for t in scores))
    if args.json:
        atomic_write_json(args.json, scores)
        print(f"scores -> {args.json}")
    if args.predictions:
        for tracker, preds in predictions.items():
            for seq, boxes in preds.items():
                atomic_write_text(args.predictions / tracker / f"{seq}.txt", format_boxes(boxes))
        print(f"boxes -> {args.predictions}")
    if args.plot:
        modes = {s.name: s.absent_mode for s in sequences}
        curves = {
            tracker: score_sequences({s.name: (preds[s.name], s.gt) for s in sequences},
                                     absent=modes)[OVERALL]
            for tracker, preds in predictions.items()
        }  # fmt: skip
        plot_success_precision(curves, args.plot)
        print(f"success and precision plots -> {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
