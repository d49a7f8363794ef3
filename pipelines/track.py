"""Track one MOTChallenge sequence and write the results file.

  python -m pipelines.track --sequence DIR --tracker iou --output results/SEQ.txt \
      [--video out.mp4] [--features dets.npz] [--min-score 0.3]

`--tracker reid|longterm` embed detection crops with the learned ReID model shipped in
checkpoints/ (`--appearance reid`, the default; `--reid-checkpoint DIR` for another) or
colour histograms (`--appearance histogram`); both need the sequence's frames (img1/ or
a video). Or give `--features FILE.npz` with precomputed embeddings, in either form of
jaxmot.core.features (told apart by the arrays in the file): detections with their
features (frames, boxes, scores, features; replaces det.txt), or only `features`, one
row per data line of the sequence's det/det.txt. The appearance gate is the one tuned
for the extractor (`pipelines.tune_gate`; stored with a ReID checkpoint);
`--appearance-gate` overrides it. `--tracker gnn` loads `--gnn-checkpoint` (default:
checkpoints/gnn_mot17_sim); feed it the features its model was trained on.

`--tracker jde` without `--features` runs the JDE model (`--jde-checkpoint`, default the
shipped checkpoints/jde_small_synthetic) on the sequence's frames: it detects and embeds
in one network (det.txt is not used) and the `jde` tracker associates, with the
detector and tracker settings stored with the model. `--save-detections FILE.npz` keeps
its detections and embeddings (the self-contained form of jaxmot.core.features) so other
trackers can run on exactly the same inputs with `--features`. With `--features`,
`jde` is the association alone, like the other appearance trackers.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from jaxmot.core.extractor import gate_of
from jaxmot.core.features import load_features
from jaxmot.core.mot_io import MOTFormatError, read_sequence, write_results
from jaxmot.core.registry import (
    EXTRACTORS,
    TRACKER_NAMES,
    make_extractor,
    make_tracker,
    needs_features,
)
from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch
from jaxmot.core.sequence import track_sequence


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    path = pathlib.Path
    p.add_argument(
        "--sequence",
        required=True,
        type=path,
        help="sequence folder (seqinfo.ini, det/det.txt, img1/ or a video)",
    )
    p.add_argument("--tracker", default="iou", choices=TRACKER_NAMES)
    p.add_argument("--output", required=True, type=path, help="MOTChallenge results file to write")
    p.add_argument("--video", type=path, help="also draw the tracks into this .mp4")
    p.add_argument(
        "--features",
        type=path,
        help=".npz of precomputed features: detections with their features "
        "(replaces det.txt), or only 'features', one row per det/det.txt line",
    )
    p.add_argument(
        "--appearance",
        default="reid",
        choices=EXTRACTORS,
        help="embedding of detection crops for reid/longterm",
    )
    p.add_argument(
        "--reid-checkpoint", type=path, help="exported ReID model (default: the shipped one)"
    )
    p.add_argument(
        "--gnn-checkpoint",
        type=path,
        help="exported GNN model for --tracker gnn (default: the shipped "
        "gnn_mot17_sim, trained on simulated embeddings; "
        "checkpoints/gnn_synthetic_reid matches the shipped ReID model's features)",
    )
    p.add_argument(
        "--appearance-gate",
        type=float,
        help="largest cosine distance of a match (default: tuned for the extractor)",
    )
    p.add_argument(
        "--jde-checkpoint",
        type=path,
        help="exported JDE model for --tracker jde on frames (default: the shipped one)",
    )
    p.add_argument(
        "--save-detections",
        type=path,
        help="--tracker jde on frames: also write its detections and embeddings (.npz)",
    )
    p.add_argument(
        "--patience",
        type=int,
        help="frames (at 30 fps) a lost track is kept: longterm (default 20) and gnn "
        "(default: the patience tuned for its checkpoint)",
    )
    p.add_argument("--min-score", type=float, default=None, help="drop weaker detections")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


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
    elif args.tracker == "jde":
        return run_jde_on_frames(args, sequence)
    if args.save_detections is not None:
        raise ValueError("--save-detections needs --tracker jde on frames (no --features)")
    if args.jde_checkpoint is not None and args.tracker != "jde":
        raise ValueError(f"--jde-checkpoint is for --tracker jde, not {args.tracker}")
    extractor = None
    if needs_features(args.tracker) and features is None:
        if not sequence.has_images:
            raise ValueError(
                f"--tracker {args.tracker} embeds detection crops, but {args.sequence} has no "
                "frames: give --features FILE.npz (precomputed embeddings, jaxmot.core.features)"
            )
        extractor = make_extractor(args.appearance, args.reid_checkpoint)
    gate = args.appearance_gate if args.appearance_gate is not None else gate_of(extractor)
    tracker = build_tracker(args, sequence.info.frame_rate, gate)
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
        from jaxmot.core.draw import render_tracking_video

        render_tracking_video(
            args.sequence, result.results, args.video, progress=not args.no_progress
        )
        print(f"video -> {args.video}")
    return 0


def build_tracker(args: argparse.Namespace, frame_rate: float, gate: float | None):
    """The one tracker of this run: `--tracker` with its appearance gate, patience and
    GNN checkpoint, or the jde tracker with the association settings stored with
    `--jde-checkpoint`."""
    if args.tracker == "jde":
        if args.jde_checkpoint is not None:
            from jaxmot.jde.checkpoint import load_jde
            from jaxmot.jde.tracker import JDETracker

            if args.patience is not None:
                raise ValueError("patience applies to longterm and gnn, not jde")
            return JDETracker(load_jde(args.jde_checkpoint)[2], frame_rate)
        gate = None  # jde bounds a fused cost, not a cosine distance: no gate
    return make_tracker(
        args.tracker,
        frame_rate,
        appearance_gate=gate,
        gnn_checkpoint=args.gnn_checkpoint,
        patience=args.patience,
    )


def run_jde_on_frames(args: argparse.Namespace, sequence) -> int:
    """Detect, embed and track every frame with the JDE model (module docstring)."""
    import time

    import numpy as np
    from tqdm.auto import tqdm

    from jaxmot.core.features import save_detection_features
    from jaxmot.core.mot_io import Detections
    from jaxmot.core.sequence import track_frames
    from jaxmot.jde.checkpoint import load_jde
    from jaxmot.jde.detector import JDEDetector, above
    from jaxmot.jde.tracker import JDETracker

    if not sequence.has_images or sequence.info.length < 1:
        raise ValueError(
            f"--tracker jde detects on frames, but {args.sequence} has none (img1/ or a "
            "video): give --features FILE.npz to run its association on detections"
        )
    model, detector_config, tracker_config, _ = load_jde(args.jde_checkpoint)
    detector = JDEDetector(model, detector_config)
    length = sequence.info.length
    detections, start = [], time.perf_counter()
    for t in tqdm(range(1, length + 1), desc=sequence.info.name, disable=args.no_progress):
        dets = detector(sequence.frame(t))
        detections.append(dets if args.min_score is None else above(dets, args.min_score))
    detect_seconds = time.perf_counter() - start
    start = time.perf_counter()
    results = track_frames(JDETracker(tracker_config, sequence.info.frame_rate), detections)
    tracker_seconds = time.perf_counter() - start
    write_results(args.output, results)
    print(
        f"{sequence.info.name}: {length} frames, {len(set(results.ids.tolist()))} tracks, "
        f"JDE {model.config.width}x{model.config.height} {length / detect_seconds:.1f} "
        f"frames/s (frames read, compilation included), tracker "
        f"{length / max(tracker_seconds, 1e-9):.0f} frames/s -> {args.output}"
    )
    if args.save_detections is not None:
        counts = [len(d) for d in detections]
        dets = Detections(
            frames=np.repeat(np.arange(1, length + 1, dtype=np.int32), counts),
            boxes=np.concatenate([d.boxes for d in detections]).reshape(-1, 4),
            scores=np.concatenate([d.scores for d in detections]),
        )
        dim = detector.embedding_dim
        features = np.concatenate([d.features.reshape(-1, dim) for d in detections])
        save_detection_features(args.save_detections, dets, features)
        print(f"detections and embeddings -> {args.save_detections}")
    if args.video is not None:
        from jaxmot.core.draw import render_tracking_video

        render_tracking_video(args.sequence, results, args.video, progress=not args.no_progress)
        print(f"video -> {args.video}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
