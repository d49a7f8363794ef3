"""The demo's single-object part: E.T.Track and OpenCV MIL on a generated video.

  python -m pipelines.demo sot [--workdir runs/demo_sot] [--frames 150] [--seed 0]

Generates a moving-object video with look-alike distractors (jaxmot.sot.synthetic,
no download; seeds disjoint from the shipped tracker's training videos), tracks the
target from its first-frame box with the shipped E.T.Track
(checkpoints/sot_ettrack_narrow) and with OpenCV's MIL tracker, prints success AUC,
precision at 20 px and frames/s, writes the boxes and metrics, and draws both trackers'
boxes (E.T.Track green, MIL orange, ground truth white) into a video.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import cv2
import numpy as np

from jaxmot.core.atomic import atomic_write_json, atomic_write_text
from jaxmot.sot.benchmark import EVAL_SEED, EvalSequence, track
from jaxmot.sot.checkpoint import SOT_CHECKPOINT, load_sot_tracker
from jaxmot.sot.metrics import evaluate_sequences
from jaxmot.sot.results_io import format_table
from pipelines.track_sot import MILGroup, format_boxes

COLORS = {"ettrack": (40, 220, 60), "mil": (255, 150, 0), "gt": (255, 255, 255)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("runs/demo_sot"))
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", type=pathlib.Path, default=SOT_CHECKPOINT)
    parser.add_argument("--no-video", action="store_true")


def draw(frame: np.ndarray, boxes: dict[str, np.ndarray]) -> np.ndarray:
    out = frame.copy()
    for name, box in boxes.items():
        if not np.isfinite(box).all():
            continue
        x, y, w, h = (int(round(v)) for v in box)
        cv2.rectangle(out, (x, y), (x + w, y + h), COLORS[name], 1 if name == "gt" else 2)
    return out


def run(args: argparse.Namespace) -> int:
    from jaxmot.sot.synthetic import synthetic_sot_video

    start = time.perf_counter()
    frames, boxes = synthetic_sot_video(EVAL_SEED + 1000 + args.seed, args.frames, (360, 480))
    sequence = EvalSequence("demo", list(frames), boxes.astype(np.float64))
    trackers = {"ettrack": lambda: load_sot_tracker(args.checkpoint), "mil": MILGroup}
    predictions, rows = {}, {}
    for name, make in trackers.items():
        tracker = make()
        track(tracker, EvalSequence("warmup", sequence.frames[:3], sequence.gt[:3]))  # compiles
        t0 = time.perf_counter()
        predictions[name] = track(tracker, sequence)
        fps = len(frames) / (time.perf_counter() - t0)
        metrics = evaluate_sequences({"demo": (predictions[name], sequence.gt)})
        rows[name] = {**metrics["OVERALL"], "fps": fps}
        print(f"\n{name}\n{format_table(metrics)}")
        atomic_write_text(args.workdir / f"{name}.txt", format_boxes(predictions[name]))
    print(f"\nGenerated video, {len(frames)} frames 360x480 (seed {args.seed}); "
          "fps after a 3-frame warm-up (crop + network + post-processing)")  # fmt: skip
    print(f"{'tracker':8s} {'AUC':>6s} {'P@20':>6s} {'fps':>7s}")
    for name, r in rows.items():
        print(f"{name:8s} {100 * r['auc']:6.1f} {100 * r['precision20']:6.1f} {r['fps']:7.1f}")
    atomic_write_json(args.workdir / "summary.json", rows)
    if not args.no_video:
        from jaxmot.core.draw import write_video

        video = args.workdir / "sot.mp4"
        drawn = (draw(f, {"gt": sequence.gt[t], **{n: p[t] for n, p in predictions.items()}})
                 for t, f in enumerate(frames))  # fmt: skip
        write_video(video, drawn, fps=25)
        print(f"video (E.T.Track green, MIL orange, ground truth white) -> {video}")
    print(f"done in {time.perf_counter() - start:.0f} s; results in {args.workdir}")
    return 0


__all__ = ["add_arguments", "run"]
