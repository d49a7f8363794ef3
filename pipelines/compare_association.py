"""Compare the association of iou, longterm, gnn and jde on the same detections.

  python -m pipelines.compare_association [--gnn-checkpoint checkpoints/gnn_mot17_sim] \
      [--trackers iou longterm gnn jde longterm-p60-g0.5 oracle-p60 ...] \
      [--split val|train] [--json OUT]

Rebuilds the GNN checkpoint's held-out evaluation (the experiment stored in its
model.json: for the shipped `gnn_mot17_sim`, the MOT17-09 ground truth turned into
detections by the default `DetectorModel()`, with simulated embeddings at noise 0.3 /
0.5 / 0.7) and tracks it with every tracker on the
same detections and features. `--split train` does the same on the experiment's
training sequences instead (for choosing settings without looking at the held-out
ones). `longterm` uses the appearance gate the checkpoint's training tuned (its
model.json) unless a tracker spec names one (`-g0.5`), and `gnn` the patience tuned for
the checkpoint; `-pN` sets the patience of longterm, gnn and oracle (perfect
association: the ceiling of any association with that patience); `jde` runs with its
official defaults (embedding threshold 0.7, gating, IoU stages). Prints MOTA / IDF1 /
HOTA / ID switches per noise level. The protocol is jaxmot.gnn.evaluation; the oracle
comes from jaxmot.mot.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import tempfile

from jaxmot.core.atomic import atomic_write_json
from jaxmot.core.paths import rerooted, shipped_checkpoint
from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch
from jaxmot.gnn.checkpoint import load_gnn_model
from jaxmot.gnn.configs import GNNExperiment
from jaxmot.gnn.evaluation import (
    TRACKER_SPEC_HELP,
    Oracle,
    parse_tracker_spec,
    track_held_out,
)
from jaxmot.gnn.sequences import source_sequences
from jaxmot.gnn.tracker import gnn_tracker_config
from jaxmot.mot.oracle_tracker import OracleTracker, identity_features
from jaxmot.train.export import read_manifest
from jaxmot.train.overrides import config_from_dict

DEFAULT_GNN = shipped_checkpoint("gnn_mot17_sim")
TRACKERS = ("iou", "longterm", "gnn", "jde")


def _tracker_spec(spec: str) -> str:
    try:
        parse_tracker_spec(spec)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return spec


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gnn-checkpoint", type=pathlib.Path, default=DEFAULT_GNN)
    parser.add_argument(
        "--trackers", nargs="+", type=_tracker_spec, default=list(TRACKERS), help=TRACKER_SPEC_HELP
    )
    parser.add_argument(
        "--split",
        choices=("val", "train"),
        default="val",
        help="the experiment's held-out sequences (default) or its training sequences",
    )
    parser.add_argument(
        "--data-dir",
        type=pathlib.Path,
        help="the experiment's MOTChallenge folder (default: the one recorded in the "
        "checkpoint's model.json, looked up under $JAXMOT_DATA when it is not here)",
    )
    parser.add_argument("--json", type=pathlib.Path, help="write the metrics here")
    args = parser.parse_args(argv)
    prefer_synchronous_cpu_dispatch()
    try:
        manifest = read_manifest(args.gnn_checkpoint)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if "experiment" not in manifest:
        print(
            f"error: {args.gnn_checkpoint} has no training experiment in its model.json",
            file=sys.stderr,
        )
        return 2
    exp = config_from_dict(GNNExperiment, manifest["experiment"])
    if exp.data.data_dir is not None or args.data_dir is not None:
        data_dir = args.data_dir or rerooted(exp.data.data_dir)
        exp = dataclasses.replace(exp, data=dataclasses.replace(exp.data, data_dir=str(data_dir)))
    if exp.data.features != "simulated":
        print(
            "error: only GNN checkpoints trained on simulated features are supported "
            f"(this one: {exp.data.features})",
            file=sys.stderr,
        )
        return 2
    tuned = manifest.get("evaluation", {}).get("longterm_gate")
    gate = 0.5 if tuned is None else tuned  # 0.5: longterm's default
    where = f"tuned, from {args.gnn_checkpoint}" if tuned is not None else "longterm's default"
    model = load_gnn_model(args.gnn_checkpoint)
    gnn_config = gnn_tracker_config(args.gnn_checkpoint)
    patience = gnn_config.patience
    with tempfile.TemporaryDirectory(prefix="jaxmot-assoc-") as tmp:
        try:
            sequences = source_sequences(exp, args.split, pathlib.Path(tmp))
        except (ValueError, FileNotFoundError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        names = ", ".join(s.info.name for s in sequences)
        label = "held-out sequences" if args.split == "val" else "training sequences"
        print(
            f"{label}: {names}; longterm gate {gate:.2f} ({where}); gnn patience {patience}, "
            f"lost-track box {gnn_config.lost_box}"
        )
        results = track_held_out(
            model,
            exp,
            sequences,
            gate,
            gnn_config=gnn_config,
            trackers=tuple(args.trackers),
            label=label,
            oracle=Oracle(tracker=OracleTracker, features=identity_features),
        )
    if args.json:
        payload = {
            "gnn_checkpoint": str(args.gnn_checkpoint),
            "split": args.split,
            "longterm_gate": gate,
            "gnn_patience": patience,
            "gnn_lost_box": gnn_config.lost_box,
            **results,
        }
        atomic_write_json(args.json, payload)
        print(f"metrics -> {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
