"""The demo's JDE part (`python -m pipelines.demo jde`): detect, embed and track a
generated sequence from its pixels.

Generates a MOT scene (jaxmot.core.synthetic, no download; a seed the shipped model
never trained on), runs the shipped small JDE (checkpoints/jde_small_synthetic) on every
frame — one network for boxes, scores and 128-d embeddings — and tracks the detections
with the `jde` tracker (and `longterm` on the same detections and embeddings, for
comparison). Prints detection AP at IoU 0.5 (detections down to confidence 0.1, as
`train_jde`'s evaluation; the trackers get those >= the tracker's threshold, 0.5), MOTA /
IDF1 / HOTA / ID switches and frames/s, writes the results and metrics, and draws the
jde tracks into a video.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

from jaxmot.core.atomic import atomic_write_json
from jaxmot.core.boxes import xywh_to_xyxy
from jaxmot.core.eval.metrics import evaluate
from jaxmot.core.mot_io import write_results
from jaxmot.core.registry import make_tracker
from jaxmot.core.sequence import track_frames
from jaxmot.core.synthetic import SceneConfig, render_frames, simulate
from jaxmot.jde.benchmark import AP_CONF_THRESHOLD, detect_frames, visible_gt
from jaxmot.jde.checkpoint import load_jde
from jaxmot.jde.detection_eval import average_precision
from jaxmot.jde.detector import JDEDetector, above
from jaxmot.jde.tracker import JDETracker

DEMO_SEED_BASE = 20_000  # apart from training (1000 * seed + i) and evaluation (10_000+)


def run_demo(
    workdir: str | os.PathLike,
    num_frames: int = 150,
    seed: int = 0,
    checkpoint: str | os.PathLike | None = None,
    video: bool = True,
) -> dict:
    """Run the demo (module docstring) into `workdir`; returns the summary it writes
    (ap50, recall, detector_fps, trackers: {name: OVERALL metrics + tracker_fps}, scene).

    checkpoint: the exported JDE model (default: the shipped one); video: also draw
    `jde.mp4`.
    """
    workdir = pathlib.Path(workdir)
    start = time.perf_counter()
    model, detector_config, tracker_config, _ = load_jde(checkpoint)
    scene = simulate(SceneConfig(num_frames=num_frames, seed=DEMO_SEED_BASE + seed))
    frames = list(render_frames(scene))
    ap_conf = min(AP_CONF_THRESHOLD, detector_config.conf_threshold)
    detector = JDEDetector(model, dataclasses.replace(detector_config, conf_threshold=ap_conf))
    detect_frames(detector, frames[:8])  # compile outside the timing
    t0 = time.perf_counter()
    all_detections = detect_frames(detector, frames, progress=True, desc="JDE")
    detect_s = time.perf_counter() - t0

    preds = [(xywh_to_xyxy(d.boxes), d.scores) for d in all_detections]
    gts = [visible_gt(scene, t)[0] for t in range(1, len(frames) + 1)]
    ap = average_precision(preds, gts)
    detections = [above(d, detector_config.conf_threshold) for d in all_detections]
    rows, results = {}, {}
    rate = scene.config.frame_rate
    for name, tracker in {
        "jde": JDETracker(tracker_config, rate),
        "longterm": make_tracker("longterm", rate),
    }.items():
        track_frames(tracker, detections[:5])  # warm-up: compiles the scorer's buckets
        t0 = time.perf_counter()
        results[name] = track_frames(tracker, detections)
        tracker_s = time.perf_counter() - t0
        metrics = evaluate({"demo": (scene.gt, results[name])})["OVERALL"]
        rows[name] = {**metrics, "tracker_fps": len(frames) / tracker_s}
        write_results(workdir / f"{name}.txt", results[name])
    c = scene.config
    print(
        f"\nGenerated scene, {len(frames)} frames {c.width}x{c.height} (seed {c.seed}); "
        f"JDE {model.config.width}x{model.config.height}: {len(frames) / detect_s:.1f} "
        f"frames/s (batches of 8, after compilation)"
    )
    print(
        f"detection AP@0.5 {100 * ap['ap']:.1f}, recall {100 * ap['recall']:.1f} "
        f"(people at least 25 % visible)"
    )
    print(f"{'tracker':9s} {'MOTA':>6s} {'IDF1':>6s} {'HOTA':>6s} {'IDs':>5s} {'tracker fps':>12s}")
    for name, r in rows.items():
        print(
            f"{name:9s} {100 * r['MOTA']:6.1f} {100 * r['IDF1']:6.1f} {100 * r['HOTA']:6.1f} "
            f"{r['IDs']:5d} {r['tracker_fps']:12.0f}"
        )
    summary = {
        "ap50": ap["ap"],
        "recall": ap["recall"],
        "detector_fps": len(frames) / detect_s,
        "trackers": rows,
        "scene": dataclasses.asdict(c),
    }
    atomic_write_json(workdir / "summary.json", summary, default=str)
    if video:
        from jaxmot.core.draw import draw_tracks, write_video

        jde = results["jde"]
        drawn = (
            draw_tracks(f, jde.boxes[jde.frames == t], jde.ids[jde.frames == t])
            for t, f in enumerate(frames, start=1)
        )
        path = workdir / "jde.mp4"
        write_video(path, drawn, fps=c.frame_rate)
        print(f"video (jde tracks) -> {path}")
    print(f"done in {time.perf_counter() - start:.0f} s; results in {workdir}")
    return summary


__all__ = ["run_demo"]
