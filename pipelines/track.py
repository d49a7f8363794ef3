"""Track one MOTChallenge sequence and write the results file.

  python -m pipelines.track --sequence DIR --tracker iou --output results/SEQ.txt \
      [--video out.mp4] [--features dets.npz] [--min-score 0.3]

`--tracker reid|longterm` embed detection crops with the colour-histogram extractor,
which needs the sequence's frames (img1/ or a video), or take `--features FILE.npz`
(detections with precomputed embeddings, see jaxmot.data.features).
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from jaxmot.appearance import ColorHistogramExtractor
from jaxmot.data.features import load_detection_features
from jaxmot.data.mot import read_sequence, write_results
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
        help=".npz of detections with precomputed features (replaces det.txt)",
    )
    parser.add_argument("--min-score", type=float, default=None, help="drop weaker detections")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)  # fmt: skip


def main(argv=None) -> int:
    args = parse_args(argv)
    prefer_synchronous_cpu_dispatch()
    sequence = read_sequence(args.sequence)
    detections = features = None
    if args.features is not None:
        detections, features = load_detection_features(args.features)
    tracker = make_tracker(args.tracker, frame_rate=sequence.info.frame_rate)
    run = track_sequence(
        tracker,
        sequence,
        detections=detections,
        features=features,
        extractor=ColorHistogramExtractor() if tracker.needs_features else None,
        min_score=args.min_score,
        progress=not args.no_progress,
    )
    write_results(args.output, run.results)
    print(
        f"{sequence.info.name}: {run.num_frames} frames, {len(set(run.results.ids.tolist()))} "
        f"tracks, tracker {run.tracker_fps:.0f} frames/s, overall {run.fps:.0f} frames/s "
        f"-> {args.output}"
    )
    if args.video is not None:
        from jaxmot.viz import render_tracking_video

        render_tracking_video(args.sequence, run.results, args.video, progress=not args.no_progress)
        print(f"video -> {args.video}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
