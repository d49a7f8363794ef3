"""The demo's single-object part (`python -m pipelines.demo sot`): E.T.Track and OpenCV
MIL on a generated video.

Generates a moving-object video with look-alike distractors (jaxmot.sot.synthetic,
no download; seeds disjoint from the shipped tracker's training videos), tracks the
target from its first-frame box with the shipped E.T.Track
(checkpoints/sot_ettrack_narrow) and with OpenCV's MIL tracker, prints success AUC,
precision at 20 px and frames/s, writes the boxes and metrics, and draws both trackers'
boxes (E.T.Track green, MIL orange, ground truth white) into a video.
"""

from __future__ import annotations

import os
import pathlib
import time

import cv2
import numpy as np

from jaxmot.core.atomic import atomic_write_json, atomic_write_text
from jaxmot.sot.benchmark import EVAL_SEED, EvalSequence, track
from jaxmot.sot.metrics import evaluate_sequences
from jaxmot.sot.results_io import format_table
from jaxmot.sot.run import TRACKERS, format_boxes, make_sot_tracker
from jaxmot.sot.synthetic import synthetic_sot_video

COLORS = {"ettrack": (40, 220, 60), "mil": (255, 150, 0), "gt": (255, 255, 255)}


def draw(frame: np.ndarray, boxes: dict[str, np.ndarray]) -> np.ndarray:
    out = frame.copy()
    for name, box in boxes.items():
        if not np.isfinite(box).all():
            continue
        x, y, w, h = (int(round(v)) for v in box)
        cv2.rectangle(out, (x, y), (x + w, y + h), COLORS[name], 1 if name == "gt" else 2)
    return out


def run_demo(
    workdir: str | os.PathLike,
    num_frames: int = 150,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    video: bool = True,
) -> dict:
    """Run the demo (module docstring) into `workdir`; {tracker: OVERALL metrics + fps}.

    checkpoint: the exported E.T.Track (default: the shipped one); video: also draw
    `sot.mp4`.
    """
    workdir = pathlib.Path(workdir)
    start = time.perf_counter()
    frames, boxes = synthetic_sot_video(EVAL_SEED + 1000 + seed, num_frames, (360, 480))
    sequence = EvalSequence("demo", list(frames), boxes.astype(np.float64))
    predictions, rows = {}, {}
    for name in TRACKERS:
        tracker = make_sot_tracker(name, checkpoint)
        track(tracker, EvalSequence("warmup", sequence.frames[:3], sequence.gt[:3]))  # compiles
        t0 = time.perf_counter()
        predictions[name] = track(tracker, sequence)
        fps = len(frames) / (time.perf_counter() - t0)
        metrics = evaluate_sequences({"demo": (predictions[name], sequence.gt)})
        rows[name] = {**metrics["OVERALL"], "fps": fps}
        print(f"\n{name}\n{format_table(metrics)}")
        atomic_write_text(workdir / f"{name}.txt", format_boxes(predictions[name]))
    print(
        f"\nGenerated video, {len(frames)} frames 360x480 (seed {seed}); "
        "fps after a 3-frame warm-up (crop + network + post-processing)"
    )
    print(f"{'tracker':8s} {'AUC':>6s} {'P@20':>6s} {'fps':>7s}")
    for name, r in rows.items():
        print(f"{name:8s} {100 * r['auc']:6.1f} {100 * r['precision20']:6.1f} {r['fps']:7.1f}")
    atomic_write_json(workdir / "summary.json", rows)
    if video:
        from jaxmot.core.draw import write_video

        path = workdir / "sot.mp4"
        drawn = (
            draw(f, {"gt": sequence.gt[t], **{n: p[t] for n, p in predictions.items()}})
            for t, f in enumerate(frames)
        )
        write_video(path, drawn, fps=25)
        print(f"video (E.T.Track green, MIL orange, ground truth white) -> {path}")
    print(f"done in {time.perf_counter() - start:.0f} s; results in {workdir}")
    return rows


__all__ = ["draw", "run_demo"]
