"""Choose the `iou` tracker's defaults on a validation set of several simulated detectors.

  python -m pipelines.select_defaults [--mot17 data/mot17_gt/train] \
      [--real-detections data/mot17_mini/train] [--scenes 3] \
      [--splits 0.5 0.7 q0.1 q0.2 q0.3] [--min-hits 2 3] [--report-box kalman detection] \
      [--json OUT]

Runs `iou` with every setting of the grid (the high/low score split: a constant, `qQ`
for the running Q-quantile of the scores, `qQcapC` for it capped at C; min_hits; the
reported box) on the validation sequences of jaxmot.mot.selection (synthetic scenes
and MOT17-02/04, each detected by every simulated detector of jaxmot.mot.detector_zoo,
and MOT17-02/04 with a real detector's detections), and prints IDF1 / HOTA
per detector and the selection score (mean over detectors of (IDF1 + HOTA) / 2), best
first. The reporting sequences (TUD, MOT17-05/09) are never looked at: see
`pipelines.compare_trackers` for them.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys

from tqdm import tqdm

from jaxmot.core.atomic import atomic_write_json
from jaxmot.core.paths import data_root
from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch
from jaxmot.mot.iou_tracker import IoUTracker, IoUTrackerConfig
from jaxmot.mot.selection import score_set, selection_score, validation_sets


def split_setting(text: str) -> dict:
    """`0.7` (a constant split), `q0.2` (the running 0.2-quantile) or `q0.2cap0.5` (that
    quantile, never above 0.5) -> config fields."""
    try:
        if text.startswith("q"):
            q, _, cap = text[1:].partition("cap")
            return {"split_quantile": float(q), "high_score": None,
                    "split_cap": float(cap) if cap else None}  # fmt: skip
        return {"high_score": float(text), "split_quantile": None}
    except ValueError:
        raise argparse.ArgumentTypeError(f"a split is 0.7 or q0.2, got {text!r}") from None


def iou_config(split: str, min_hits: int, report_box: str) -> IoUTrackerConfig:
    base = IoUTrackerConfig()
    lifecycle = dataclasses.replace(base.lifecycle, min_hits=min_hits, report_box=report_box)
    return dataclasses.replace(base, lifecycle=lifecycle, **split_setting(split))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mot17", type=pathlib.Path, default=data_root() / "mot17_gt/train",
                        help="folder with MOT17-02/04-FRCNN gt (skipped when missing)")  # fmt: skip
    parser.add_argument("--real-detections", type=pathlib.Path,
                        default=data_root() / "mot17_mini/train",
                        help="folder of <sequence>/det/det.txt: a real detector's "
                        "MOT17-02/04 detections, scored against --mot17's gt")  # fmt: skip
    parser.add_argument("--scenes", type=int, default=3, help="synthetic scenes per detector")
    parser.add_argument("--report-box", nargs="+", default=["kalman", "detection"],
                        choices=["kalman", "detection"])  # fmt: skip
    parser.add_argument(
        "--splits", nargs="+", default=["0.5", "0.6", "0.7", "q0.1", "q0.2", "q0.3"]
    )
    parser.add_argument("--min-hits", nargs="+", type=int, default=[2, 3])
    parser.add_argument("--json", type=pathlib.Path, help="write every setting's metrics")
    args = parser.parse_args(argv)
    prefer_synchronous_cpu_dispatch()
    try:
        for split in args.splits:
            split_setting(split)
        mot17 = args.mot17 if (args.mot17 / "MOT17-02-FRCNN").is_dir() else None
        if mot17 is None:
            print(f"note: {args.mot17} has no MOT17-02-FRCNN: synthetic scenes only")
        real = args.real_detections if args.real_detections.is_dir() else None
        sets = validation_sets(mot17, args.scenes, real_detections_dir=real)
    except (argparse.ArgumentTypeError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    settings = [(s, h, b) for s in args.splits for h in args.min_hits for b in args.report_box]
    rows = {}
    for split, min_hits, box in tqdm(settings, desc="settings"):
        config = iou_config(split, min_hits, box)
        per = {det: score_set(lambda fps, c=config: IoUTracker(c, fps), seqs)
               for det, seqs in sets.items()}  # fmt: skip
        rows[f"{split} hits {min_hits} {box}"] = per
    ranked = sorted(rows, key=lambda k: -selection_score(rows[k]))
    detectors = list(sets)
    print("setting                  " + "".join(f"{d[:10]:>13s}" for d in detectors) + "   score")
    print("                         " + "   IDF1  HOTA" * len(detectors))
    for key in ranked:
        cells = "".join(
            f"  {100 * m['IDF1']:5.1f} {100 * m['HOTA']:5.1f}" for m in rows[key].values()
        )
        print(f"{key:25s}{cells}   {100 * selection_score(rows[key]):5.1f}")
    print(f"best: {ranked[0]}")
    if args.json:
        atomic_write_json(args.json, {"ranked": ranked, "metrics": rows}, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
