"""Track one MOTChallenge sequence and write the results file.

  python -m pipelines.track --sequence DIR --tracker iou --output results/SEQ.txt \
      [--video out.mp4] [--features dets.npz] [--min-score 0.3]

`--tracker reid|longterm` embed detection crops with the learned ReID model shipped in
checkpoints/ (`--appearance reid`, the default; `--reid-checkpoint DIR` for another) or
colour histograms (`--appearance histogram`); both need the sequence's frames (img1/ or
a video). Or give `--features FILE.npz` with precomputed embeddings, in either form of
jaxmot.data.features (told apart by the arrays in the file): detections with their
features (frames, boxes, scores, features; replaces det.txt), or only `features`, one
row per data line of the sequence's det/det.txt. The appearance gate is the one tuned
for the extractor (`pipelines.tune_gate`; stored with a ReID checkpoint);
`--appearance-gate` overrides it. `--tracker gnn` loads `--gnn-checkpoint` (default:
checkpoints/gnn_mot17_sim); feed it the features its model was trained on.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from jaxmot.appearance import EXTRACTORS, gate_of, make_extractor
from jaxmot.data.features import load_features
from jaxmot.data.mot import MOTFormatError, read_sequence, write_results
from jaxmot.trackers import TRACKER_NAMES, make_tracker, track_sequence
from jaxmot.utils.runtime import prefer_synchronous_cpu_dispatch


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sequence",
        required=True,
        type=pathlib.Path,
        help="sequence folder (seqinfo.ini, det/det.txt, img1/ or a video)",
    )
    parser.add_argument("--tracker", default="iou", choices=TRACKER_NAMES)
    parser.add_argument(
        "--output", required=True, type=pathlib.Path, help="MOTChallenge results file to write"
    )
    parser.add_argument("--video", type=pathlib.Path, help="also draw the tracks into this .mp4")
    parser.add_argument(
        "--features",
        type=pathlib.Path,
        help=".npz of precomputed features: detections with their features (replaces "
        "det.txt), or only 'features', one row per det/det.txt line",
    )
    parser.add_argument(
        "--appearance",
        default="reid",
        choices=EXTRACTORS,
        help="embedding of detection crops for reid/longterm",
    )
    parser.add_argument(
        "--reid-checkpoint",
        type=pathlib.Path,
        help="exported ReID model (default: the shipped one)",
    )
    parser.add_argument(
        "--gnn-checkpoint",
        type=pathlib.Path,
        help="exported GNN model for --tracker gnn (default: the shipped gnn_mot17_sim, "
        "trained on simulated embeddings; checkpoints/gnn_synthetic_reid matches the "
        "shipped ReID model's features)",
    )
    parser.add_argument(
        "--appearance-gate",
        type=float,
        help="largest cosine distance of a match (default: tuned for the extractor)",
    )
    parser.add_argument("--min-score", type=float, default=None, help="drop weaker detections")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)  # fmt: skip


def main(argv=None) -> int:
    args = parse_args(argv)
    prefer_synchronous_cpu_dispatch()
    try:
        return run(args)
    except (ValueError, FileNotFoundError, MOTFormatError) as err:  # bad input: no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    if args.output.is_dir():
        raise ValueError(f"--output {args.output} is a directory; give a results file path")
    sequence = read_sequence(args.sequence)
    if args.video is not None and not sequence.has_images:
        raise ValueError(f"--video: sequence {args.sequence} has no frames (img1/ or a video)")
    detections = features = None
    if args.features is not None:
        detections, features = load_features(args.features, args.sequence)
    tracker = make_tracker(
        args.tracker, sequence.info.frame_rate, gnn_checkpoint=args.gnn_checkpoint
    )
    extractor = None
    if tracker.needs_features and features is None:
        if not sequence.has_images:
            raise ValueError(
                f"--tracker {args.tracker} embeds detection crops, but {args.sequence} has no "
                "frames: give --features FILE.npz (precomputed embeddings, jaxmot.data.features)"
            )
        extractor = make_extractor(args.appearance, args.reid_checkpoint)
    gate = args.appearance_gate if args.appearance_gate is not None else gate_of(extractor)
    if gate is not None:
        tracker = make_tracker(args.tracker, sequence.info.frame_rate, appearance_gate=gate,
                               gnn_checkpoint=args.gnn_checkpoint)  # fmt: skip
    result = track_sequence(
        tracker,
        sequence,
        detections=detections,
        features=features,
        extractor=extractor,
        min_score=args.min_score,
        progress=not args.no_progress,
    )
    write_results(args.output, result.results)
    print(
        f"{sequence.info.name}: {result.num_frames} frames, "
        f"{len(set(result.results.ids.tolist()))} "
        f"tracks, {result.tracker_fps:.0f} frames/s (tracker only, compilation included), "
        f"{result.fps:.0f} frames/s with appearance -> {args.output}"
    )
    if args.video is not None:
        from jaxmot.viz import render_tracking_video

        render_tracking_video(
            args.sequence, result.results, args.video, progress=not args.no_progress
        )
        print(f"video -> {args.video}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
