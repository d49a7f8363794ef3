"""Track a video, a folder of images, a camera or a MOTChallenge sequence; write the
results file (MOTChallenge format) and, optionally, a video of the tracks.

  python -m pipelines.track --source clip.mp4 --detector hog --tracker iou \
      --output results/clip.txt [--video out.mp4 --trails 30] [--show] [--max-frames N]
  python -m pipelines.track --sequence DIR --tracker iou --output results/SEQ.txt \
      [--video out.mp4] [--features dets.npz] [--min-score 0.3]

`--source S` is a video file (any container PyAV or OpenCV reads; frame rate and count
from the container, `--fps` overrides), a folder or a glob of images, or a camera index
(`--source 0`). `--detector` says where its boxes come from: `hog` (OpenCV's HOG people
detector, no weights; `--hog-background` drops detections on static background),
`jde` (the JDE model of `--jde-checkpoint`), or `file` with `--detections PATH` (a
MOTChallenge det.txt, frames 1-based in the source's order, or a folder of YOLO txt
files as ultralytics writes them). `--classes 0 2` keeps those classes only. `--video`
(alias `--video-out`) writes H.264 at the source's frame rate, `--trails N` draws each
track's last N positions, `--save-crops DIR` writes every tracked box.

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

import numpy as np

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

DETECTORS = ("hog", "jde", "file")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    path = pathlib.Path
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--sequence",
        type=path,
        help="MOTChallenge sequence folder (seqinfo.ini, det/det.txt, img1/ or a video)",
    )
    where.add_argument(
        "--source",
        help="a video file, a folder or glob of images, or a camera index (0)",
    )
    p.add_argument("--tracker", default="iou", choices=TRACKER_NAMES)
    p.add_argument("--output", required=True, type=path, help="MOTChallenge results file to write")
    p.add_argument(
        "--video",
        "--video-out",
        dest="video",
        type=path,
        help="also draw the tracks into this video (.mp4: H.264, plays in browsers; .avi)",
    )
    p.add_argument(
        "--detector",
        choices=DETECTORS,
        help="with --source: where boxes come from (default: jde for --tracker jde, else hog)",
    )
    p.add_argument(
        "--detections",
        type=path,
        help="--detector file: a MOTChallenge det.txt or a folder of YOLO txt files",
    )
    p.add_argument("--fps", type=float, help="frame rate of --source (default: the container's)")
    p.add_argument("--max-frames", type=int, help="stop after this many frames of --source")
    p.add_argument("--show", action="store_true", help="show the tracks live (needs a display)")
    p.add_argument("--trails", type=int, default=0, help="draw each track's last N positions")
    p.add_argument("--save-crops", type=path, help="write each tracked box as DIR/<id>/<frame>.jpg")
    p.add_argument(
        "--classes", type=int, nargs="+", help="track only detections of these class ids"
    )
    p.add_argument(
        "--hog-min-height",
        type=float,
        help="--detector hog: smallest person to find, px (default: 64 or 1/8 of the frame)",
    )
    p.add_argument(
        "--hog-background",
        action="store_true",
        help="--detector hog: drop detections on static background (static cameras)",
    )
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
        help="frames a lost track is kept (while inactive <= patience, at any frame rate): "
        "longterm (default 20) and gnn (default: the patience tuned for its checkpoint)",
    )
    p.add_argument("--min-score", type=float, default=None, help="drop weaker detections")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    prefer_synchronous_cpu_dispatch()
    try:
        return run(args)
    except (ValueError, FileNotFoundError, ImportError, MOTFormatError) as err:  # no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    if args.output.is_dir():
        raise ValueError(f"--output {args.output} is a directory; give a results file path")
    if args.source is not None:
        return run_on_source(args)
    for flag in ("detector", "detections", "fps", "max_frames", "save_crops", "classes"):
        if getattr(args, flag) is not None:
            raise ValueError(f"--{flag.replace('_', '-')} is for --source, not --sequence")
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


def make_detector(args: argparse.Namespace, source):
    """(detector(frame, index) -> Detected, JDE tracker settings or None) for --detector."""
    from jaxmot.core import detectors

    if args.detector == "hog":
        detector = detectors.HOGPeopleDetector(
            min_height=args.hog_min_height, background=args.hog_background
        )
        return detector, None
    if args.detector == "file":
        if args.detections is None:
            raise ValueError("--detector file needs --detections PATH (det.txt or a YOLO folder)")
        if args.detections.is_dir():
            names = [p.name for p in source._images] if source.kind == "images" else None
            return detectors.YOLOLabelsFolder(args.detections, names), None
        found = detectors.DetectionsFile(args.detections)
        if source.num_frames is not None and found.last_frame > source.num_frames:
            raise ValueError(
                f"--detections {args.detections} reach frame {found.last_frame}, but "
                f"--source has {source.num_frames} frames: wrong file?"
            )
        return found, None
    from jaxmot.jde.checkpoint import load_jde
    from jaxmot.jde.detector import JDEDetector

    model, detector_config, tracker_config, _ = load_jde(args.jde_checkpoint)
    jde = JDEDetector(model, detector_config)

    def detect(frame, index):
        dets = jde(frame)
        return detectors.Detected(dets, np.zeros(len(dets), np.int64))

    return detect, tracker_config


def run_on_source(args: argparse.Namespace) -> int:
    """Track --source frame by frame (module docstring)."""
    from jaxmot.core.frame_source import open_source
    from jaxmot.core.source_tracking import track_source

    if args.features is not None or args.save_detections is not None:
        raise ValueError("--features and --save-detections are for --sequence")
    if args.detector is None:
        args.detector = "jde" if args.tracker == "jde" else "hog"
    if args.detections is not None and args.detector != "file":
        raise ValueError(f"--detections is for --detector file, not {args.detector}")
    if args.jde_checkpoint is not None and args.detector != "jde" and args.tracker != "jde":
        raise ValueError("--jde-checkpoint is for --detector jde or --tracker jde")
    if args.trails < 0:
        raise ValueError(f"--trails must be >= 0, got {args.trails}")
    source = open_source(args.source, fps=args.fps, max_frames=args.max_frames)
    detector, jde_tracker_config = make_detector(args, source)
    extractor = None
    if needs_features(args.tracker) and args.detector != "jde":
        extractor = make_extractor(args.appearance, args.reid_checkpoint)
    if args.tracker == "jde" and jde_tracker_config is not None:
        from jaxmot.jde.tracker import JDETracker

        tracker = JDETracker(jde_tracker_config, source.fps)
    else:
        gate = args.appearance_gate if args.appearance_gate is not None else gate_of(extractor)
        tracker = build_tracker(args, source.fps, gate)
    run = track_source(
        source,
        detector,
        tracker,
        extractor=extractor,
        classes=args.classes,
        min_score=args.min_score,
        video=args.video,
        trails=args.trails,
        save_crops=args.save_crops,
        show=args.show,
        progress=not args.no_progress,
    )
    write_results(args.output, run.results)
    print(
        f"{source.name}: {run.num_frames} frames at {source.fps:g} fps, "
        f"{len(set(run.results.ids.tolist()))} tracks, tracker {run.tracker_fps:.0f} "
        f"frames/s, {run.fps:.1f} frames/s with detection -> {args.output}"
    )
    if args.video is not None:
        print(
            f"video (H.264) -> {args.video}"
            if args.video.suffix == ".mp4"
            else f"video -> {args.video}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
