"""Compare motion trackers, jaxmot's and boxmot's, on the reporting sets: one table.

  python -m pipelines.compare_trackers [--trackers iou sort bytetrack ocsort botsort] \
      [--detectors calibrated spread squeezed] [--boxmot bytetrack ocsort botsort \
      --boxmot-python /path/to/env/bin/python [--boxmot-defaults class yaml]] \
      [--json OUT] [--csv OUT] [--plot OUT.png]

The reporting sets of jaxmot.mot.selection, none of which was used to choose a default:
MOT15 TUD-Campus + TUD-Stadtmitte with their real public detections ("TUD"), and
MOT17-05 + MOT17-09 trajectories detected by each simulated detector of
jaxmot.mot.detector_zoo ("MOT17/<detector>"). Every tracker gets the same detections and
the same evaluator (pipelines.evaluate's). boxmot runs in its own environment
(`--boxmot-python`: a Python where `pip install boxmot==25.0.0 --no-deps` and its light
dependencies are installed) through jaxmot/mot/boxmot_runner.py. Data: `--tud` and
`--mot17` folders (default under $JAXMOT_DATA). `--plot` draws one panel per set with
every tracker's MOTA, IDF1 and HOTA bars (jaxmot.core.eval.compare.plot_sets).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

from tqdm import tqdm

from jaxmot.core.atomic import atomic_write_json
from jaxmot.core.eval.compare import plot_sets, write_csv
from jaxmot.core.eval.metrics import OVERALL, evaluate
from jaxmot.core.mot_io import read_results, write_detections
from jaxmot.core.paths import data_root
from jaxmot.core.registry import make_tracker
from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch
from jaxmot.mot import boxmot_runner
from jaxmot.mot.detector_zoo import DETECTORS
from jaxmot.mot.selection import reporting_sets, score_set

MOTION_TRACKERS = ("iou", "sort", "bytetrack", "ocsort", "botsort")
BOXMOT_TRACKERS = tuple(boxmot_runner.CLASSES)


def run_boxmot(python: str, name: str, defaults: str, sequences: dict, work: pathlib.Path):
    """Pooled metrics of boxmot's `name` on `sequences` (MOTSequence by name)."""
    manifest = {"tracker": name, "defaults": defaults, "sequences": []}
    for seq_name, seq in sequences.items():
        det = work / f"{seq_name}.det.txt"
        write_detections(det, seq.detections)
        info = seq.info
        manifest["sequences"].append({
            "det": str(det), "out": str(work / f"{seq_name}.{name}.{defaults}.txt"),
            "frame_rate": info.frame_rate, "width": info.width or 1920,
            "height": info.height or 1080, "length": info.length,
        })  # fmt: skip
    path = work / f"{name}.{defaults}.json"
    path.write_text(json.dumps(manifest))
    runner = pathlib.Path(boxmot_runner.__file__)
    done = subprocess.run([python, str(runner), str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"boxmot {name} failed in {python}: {last}")
    pairs = {
        seq_name: (seq.gt, read_results(entry["out"]))
        for (seq_name, seq), entry in zip(sequences.items(), manifest["sequences"], strict=True)
    }
    return evaluate(pairs)[OVERALL]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trackers", nargs="+", default=list(MOTION_TRACKERS))
    parser.add_argument("--detectors", nargs="+", default=["calibrated", "spread", "squeezed"],
                        choices=list(DETECTORS))  # fmt: skip
    parser.add_argument("--boxmot", nargs="*", default=[], choices=BOXMOT_TRACKERS)
    parser.add_argument("--boxmot-python", help="a Python with boxmot installed")
    parser.add_argument("--boxmot-defaults", nargs="+", default=["class", "yaml"],
                        choices=["class", "yaml"])  # fmt: skip
    parser.add_argument("--tud", type=pathlib.Path, default=data_root() / "mot15/train")
    parser.add_argument("--mot17", type=pathlib.Path, default=data_root() / "mot17_gt/train")
    parser.add_argument("--json", type=pathlib.Path)
    parser.add_argument("--csv", type=pathlib.Path)
    parser.add_argument("--plot", type=pathlib.Path, help="a PNG of the table, one panel a set")
    args = parser.parse_args(argv)
    if args.boxmot and not args.boxmot_python:
        parser.error("--boxmot needs --boxmot-python (the environment boxmot is installed in)")
    prefer_synchronous_cpu_dispatch()
    try:
        for name in args.trackers:
            make_tracker(name)  # unknown names fail here, before any work
        tud = args.tud if (args.tud / "TUD-Campus").is_dir() else None
        mot17 = args.mot17 if (args.mot17 / "MOT17-05-FRCNN").is_dir() else None
        if tud is None and mot17 is None:
            raise FileNotFoundError(
                f"neither {args.tud}/TUD-Campus nor {args.mot17}/MOT17-05-FRCNN"
            )
        sets = reporting_sets(tud, mot17, tuple(args.detectors))
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    runs = [(t, None) for t in args.trackers]
    runs += [(f"boxmot {t} ({d})", (t, d)) for t in args.boxmot for d in args.boxmot_defaults]
    table: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for set_name, sequences in sets.items():
            for label, peer in tqdm(runs, desc=set_name):
                if peer is None:
                    metrics = score_set(lambda fps, n=label: make_tracker(n, fps), sequences)
                else:
                    work = pathlib.Path(tmp) / set_name.replace("/", "_")
                    work.mkdir(exist_ok=True)
                    try:
                        metrics = run_boxmot(args.boxmot_python, *peer, sequences, work)
                    except RuntimeError as err:
                        print(f"error: {err}", file=sys.stderr)
                        return 2
                table.setdefault(set_name, {})[label] = metrics
    print(f"{'set':18s}{'tracker':26s}{'MOTA':>7s}{'IDF1':>7s}{'HOTA':>7s}{'IDs':>7s}")
    for set_name, rows in table.items():
        for label, m in rows.items():
            print(f"{set_name:18s}{label:26s}{100 * m['MOTA']:7.1f}{100 * m['IDF1']:7.1f}"
                  f"{100 * m['HOTA']:7.1f}{m['IDs']:7d}")  # fmt: skip
    if args.json:
        atomic_write_json(args.json, table, sort_keys=True)
    if args.csv:
        write_csv(args.csv, {f"{s} | {t}": m for s, rows in table.items() for t, m in rows.items()})
    if args.plot:
        plot_sets(args.plot, table)
        print(f"plot -> {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
