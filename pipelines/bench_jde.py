"""`python -m pipelines.bench jde`: JDE speed, model and tracker apart.

For each variant (`small`: the shipped checkpoint, width 3/16, run at every input size;
`full`: the paper's Darknet-53 + FPN, randomly initialised: speed does not depend on
the weights) and
resolution (1088x608, 864x480, 576x320 by default):

    model       the jitted network + post-processing (decoding, confidence threshold,
                top-k, NMS, embedding normalisation) on a ready letterboxed batch;
                `fps` = batch * 1000 / ms_median
    end_to_end  a 1920x1080 frame (MOT16-like, generated) through letterbox + network +
                post-processing + the `jde` tracker's update, as `pipelines.track
                --tracker jde` runs it (batch 1); `fps` from the median frame time

and the `jde` tracker alone (`tracker` rows: detections and embeddings precomputed, at
10, 50 and 200 detections per frame on synthetic streams, as `bench tracker`).

Every row first runs a warm-up (compilation, reported apart as `compile_s`), then times
`--repeats` calls with block_until_ready. The end-to-end frame is a generated 1920x1080
scene with people: the shipped model detects them, the random full model detects
nothing (its tracker step is then nearly free; the tracker rows give the cost with
detections). JDE reported 22 frames/s at 1088x608 on a Titan Xp (reference.md
section 4).
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import time

import numpy as np
from flax import nnx

from jaxmot.core.params import count_params
from jaxmot.core.registry import make_tracker
from jaxmot.core.synthetic import SceneConfig, render_frames, simulate
from jaxmot.core.timing import time_calls
from jaxmot.jde.checkpoint import JDE_CHECKPOINT, load_jde
from jaxmot.jde.detector import JDEDetector, JDEDetectorConfig
from jaxmot.jde.model import JDE, JDEConfig

VARIANTS = ("small", "full")
RESOLUTIONS = ("1088x608", "864x480", "576x320")
PAPER_FPS_1088 = 22.0  # JDE on a Titan Xp at 1088x608


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--resolutions", nargs="+", choices=RESOLUTIONS,
                        default=list(RESOLUTIONS))  # fmt: skip
    parser.add_argument("--batch", type=int, default=1, help="frames per model call")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per row")
    parser.add_argument("--tracker-dets", nargs="+", type=int, default=[10, 50, 200])
    parser.add_argument("--tracker-frames", type=int, default=200)
    parser.add_argument("--json", type=pathlib.Path, help="write the records here")


def build_model(variant: str, resolution: str) -> JDE:
    """`small`: the shipped checkpoint's architecture and weights (the network is fully
    convolutional: the same weights run at any input size), JDEConfig.small() if none
    is shipped; `full`: the paper's model with random weights, created under jit (eager
    initialisation of Darknet-53 takes minutes on a CPU)."""
    width, height = (int(v) for v in resolution.split("x"))
    if variant == "small" and JDE_CHECKPOINT.is_dir():
        shipped, _, _, _ = load_jde()
        config = dataclasses.replace(shipped.config, width=width, height=height)
        graphdef, _ = nnx.split(nnx.eval_shape(lambda: JDE(config, rngs=nnx.Rngs(0))))
        model = nnx.merge(graphdef, nnx.state(shipped))
    else:
        config = JDEConfig.small(resolution) if variant == "small" else JDEConfig.full(resolution)
        model = nnx.jit(lambda: JDE(config, rngs=nnx.Rngs(0)))()
    model.eval()
    return model


def bench_model(detector: JDEDetector, batch: int, repeats: int) -> dict:
    images = np.random.default_rng(0).random(
        (batch, detector.height, detector.width, 3), dtype=np.float32
    )

    first, median = time_calls(lambda: detector.run(images), repeats)
    return {"mode": "model", "batch": batch, "compile_s": round(max(first - median, 0.0), 3),
            "ms_median": 1e3 * median, "fps": batch / median}  # fmt: skip


def bench_end_to_end(detector: JDEDetector, repeats: int) -> dict:
    scene = simulate(SceneConfig(width=1920, height=1080, num_frames=1, num_objects=30,
                                 height_range=(180.0, 450.0)))  # fmt: skip
    frame = next(render_frames(scene))
    tracker = make_tracker("jde")

    def call():
        return tracker.update(detector(frame))

    first, median = time_calls(call, repeats)
    return {"mode": "end_to_end", "batch": 1, "compile_s": round(max(first - median, 0.0), 3),
            "ms_median": 1e3 * median, "fps": 1.0 / median}  # fmt: skip


def run_jde_bench(args) -> list[dict]:
    records = []
    for variant in args.variants:
        for resolution in args.resolutions:
            start = time.perf_counter()
            model = build_model(variant, resolution)
            build_s = time.perf_counter() - start
            detector = JDEDetector(model, JDEDetectorConfig())
            params = count_params(model)
            for record in (bench_model(detector, args.batch, args.repeats),
                           bench_end_to_end(detector, args.repeats)):  # fmt: skip
                record.update(variant=variant, resolution=resolution, params=int(params),
                              build_s=round(build_s, 2))  # fmt: skip
                records.append(record)
                print(f"{variant:6s} {resolution:9s} {record['mode']:10s} "
                      f"{record['ms_median']:9.1f} ms  {record['fps']:7.2f} frames/s")  # fmt: skip
    if args.tracker_dets:
        from pipelines.bench import bench_tracker, synthetic_frames

        for density in args.tracker_dets:
            frames = synthetic_frames(density, args.tracker_frames)
            record = bench_tracker("jde", frames)
            record.update(mode="tracker", variant="-", resolution="-",
                          target_dets_per_frame=density,
                          ms_median=record["ms_per_frame_median"])  # fmt: skip
            record["compile_s"] = record["compile_seconds"]
            records.append(record)
    return records


def format_jde_records(records: list[dict]) -> str:
    header = (f"{'variant':8s} {'resolution':10s} {'mode':11s} {'dets/f':>7s} "
              f"{'ms median':>10s} {'frames/s':>9s} {'compile s':>10s}")  # fmt: skip
    lines = [header, "-" * len(header)]
    for r in records:
        dets = f"{r['dets_per_frame']:7.1f}" if r["mode"] == "tracker" else f"{'-':>7s}"
        lines.append(f"{r['variant']:8s} {r['resolution']:10s} {r['mode']:11s} {dets} "
                     f"{r['ms_median']:10.2f} {r['fps']:9.2f} {r['compile_s']:10.2f}")  # fmt: skip
    lines.append(f"(JDE paper: {PAPER_FPS_1088:g} frames/s at 1088x608 on a Titan Xp)")
    return "\n".join(lines)
