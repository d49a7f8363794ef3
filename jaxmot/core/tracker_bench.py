"""The per-frame cost of an online tracker alone, on synthetic detection streams.

Detections and appearance features are precomputed (`synthetic_frames`), so only the
tracker's `update` is timed. `bench_tracker` first runs the whole stream once as
warm-up (all compilation happens there and is reported apart), then times every frame
of `repeats` more passes and reports the fastest pass. Used by `bench tracker`
(jaxmot.mot.bench) and the tracker rows of `bench jde` (jaxmot.jde.bench).
"""

from __future__ import annotations

import time

import numpy as np

from jaxmot.core.assignment import linear_assignment
from jaxmot.core.boxes import iou_matrix, xywh_to_xyxy
from jaxmot.core.compiles import CompileCounter
from jaxmot.core.registry import make_tracker
from jaxmot.core.synthetic import generate_detection_stream
from jaxmot.core.tracker import FrameDetections

FEATURE_DIM = 256  # embedding size of the benchmark's simulated appearance features


def synthetic_frames(dets_per_frame: int, num_frames: int, seed: int = 0):
    """Per-frame FrameDetections with identity-consistent features [M, 256].

    A detection matched to gt (IoU >= 0.5) gets its identity's random prototype plus
    noise; false positives get random vectors, so appearance trackers face a realistic
    mix of easy and hard pairs.
    """
    dets, gt = generate_detection_stream(dets_per_frame, num_frames, seed)
    rng = np.random.default_rng(seed)
    prototypes = rng.normal(size=(int(gt.ids.max(initial=0)) + 1, FEATURE_DIM))
    frames = []
    for frame in range(1, num_frames + 1):
        rows, gt_rows = dets.for_frame(frame), gt.for_frame(frame)
        features = rng.normal(size=(len(rows), FEATURE_DIM))
        if len(rows) and len(gt_rows):
            iou = iou_matrix(xywh_to_xyxy(dets.boxes[rows]), xywh_to_xyxy(gt.boxes[gt_rows]))
            pairs, _, _ = linear_assignment(1 - iou, 0.5)
            ids = gt.ids[gt_rows[pairs[:, 1]]]
            features[pairs[:, 0]] = prototypes[ids] + 0.3 * features[pairs[:, 0]]
        frames.append(FrameDetections(dets.boxes[rows], dets.scores[rows], features))
    return frames


def bench_tracker(name: str, frames: list[FrameDetections], repeats: int = 3) -> dict:
    """Warm-up pass, then `repeats` timed passes of the tracker `name` (the registry's);
    the fastest pass is reported (the others differ by noise from the rest of the
    machine, not by the tracker)."""
    tracker = make_tracker(name)
    with CompileCounter() as warm_compiles:
        start = time.perf_counter()
        for f in frames:
            tracker.update(f)
        warmup_seconds = time.perf_counter() - start
    passes = []
    with CompileCounter() as timed_compiles:
        for _ in range(repeats):
            tracker.reset()
            times = np.zeros(len(frames))
            for i, f in enumerate(frames):
                start = time.perf_counter()
                tracker.update(f)  # outputs are NumPy: the device work is done on return
                times[i] = time.perf_counter() - start
            passes.append(times)
    times = min(passes, key=np.sum)
    ms = times * 1e3
    return {
        "tracker": name,
        "dets_per_frame": float(np.mean([len(f) for f in frames])),
        "frames": len(frames),
        "ms_per_frame_median": float(np.median(ms)),
        "ms_per_frame_p90": float(np.percentile(ms, 90)),
        "ms_per_frame_mean": float(np.mean(ms)),
        "fps": float(len(frames) / times.sum()),
        "compiles_warmup": warm_compiles.count,
        "compile_seconds": round(warm_compiles.seconds, 3),
        "warmup_seconds": round(warmup_seconds, 3),
        "compiles_after_warmup": timed_compiles.count,
        "repeats": repeats,
    }


__all__ = ["FEATURE_DIM", "bench_tracker", "synthetic_frames"]
