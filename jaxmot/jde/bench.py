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
detections). JDE reported 22 frames/s at 1088x608 on a Titan Xp (Wang et al., "Towards
Real-Time Multi-Object Tracking", ECCV 2020).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from flax import nnx

from jaxmot.core.bench_report import Column, check_choices, flag, format_table
from jaxmot.core.params import count_params
from jaxmot.core.synthetic import SceneConfig, render_frames, simulate
from jaxmot.core.timing import time_calls
from jaxmot.core.tracker_bench import bench_tracker, synthetic_frames
from jaxmot.jde.checkpoint import JDE_CHECKPOINT, load_jde
from jaxmot.jde.detector import JDEDetector, JDEDetectorConfig
from jaxmot.jde.model import JDE, JDEConfig
from jaxmot.jde.tracker import JDETracker, JDETrackerConfig

VARIANTS = ("small", "full")
RESOLUTIONS = ("1088x608", "864x480", "576x320")
PAPER_FPS_1088 = 22.0  # JDE on a Titan Xp at 1088x608


@dataclasses.dataclass(frozen=True)
class JDEBenchConfig:
    """What `run_jde_bench` measures: model and end-to-end rows per variant x resolution
    ("WxH"), `batch` frames per model call, `repeats` timed calls per row; tracker rows
    at each of `tracker_dets` detections per frame over `tracker_frames` frames (none
    when empty)."""

    variants: tuple[str, ...] = flag(VARIANTS, choices=VARIANTS)
    resolutions: tuple[str, ...] = flag(RESOLUTIONS, choices=RESOLUTIONS)
    batch: int = flag(1, "frames per model call")
    repeats: int = flag(5, "timed calls per row")
    tracker_dets: tuple[int, ...] = (10, 50, 200)
    tracker_frames: int = 200

    def __post_init__(self):
        check_choices(self)


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
    return {
        "mode": "model",
        "batch": batch,
        "compile_s": round(max(first - median, 0.0), 3),
        "ms_median": 1e3 * median,
        "fps": batch / median,
    }


def bench_end_to_end(detector: JDEDetector, repeats: int) -> dict:
    scene = simulate(
        SceneConfig(
            width=1920, height=1080, num_frames=1, num_objects=30, height_range=(180.0, 450.0)
        )
    )
    frame = next(render_frames(scene))
    tracker = JDETracker(JDETrackerConfig(), frame_rate=30.0)

    def call():
        return tracker.update(detector(frame))

    first, median = time_calls(call, repeats)
    return {
        "mode": "end_to_end",
        "batch": 1,
        "compile_s": round(max(first - median, 0.0), 3),
        "ms_median": 1e3 * median,
        "fps": 1.0 / median,
    }


def run_jde_bench(config: JDEBenchConfig, progress=print) -> list[dict]:
    records = []
    for variant in config.variants:
        for resolution in config.resolutions:
            start = time.perf_counter()
            model = build_model(variant, resolution)
            build_s = time.perf_counter() - start
            detector = JDEDetector(model, JDEDetectorConfig())
            params = count_params(model)
            for record in (
                bench_model(detector, config.batch, config.repeats),
                bench_end_to_end(detector, config.repeats),
            ):
                record.update(
                    variant=variant,
                    resolution=resolution,
                    params=int(params),
                    build_s=round(build_s, 2),
                )
                records.append(record)
                progress(
                    f"{variant:6s} {resolution:9s} {record['mode']:10s} "
                    f"{record['ms_median']:9.1f} ms  {record['fps']:7.2f} frames/s"
                )
    for density in config.tracker_dets:
        frames = synthetic_frames(density, config.tracker_frames)
        record = bench_tracker("jde", frames)
        record.update(
            mode="tracker",
            variant="-",
            resolution="-",
            target_dets_per_frame=density,
            ms_median=record["ms_per_frame_median"],
        )
        record["compile_s"] = record["compile_seconds"]
        records.append(record)
    return records


COLUMNS = (
    Column("variant", 8, "variant", left=True),
    Column("resolution", 10, "resolution", left=True),
    Column("mode", 11, "mode", left=True),
    Column("dets/f", 7, lambda r: f"{r['dets_per_frame']:.1f}" if r["mode"] == "tracker" else "-"),
    Column("ms median", 10, "ms_median", ".2f"),
    Column("frames/s", 9, "fps", ".2f"),
    Column("compile s", 10, "compile_s", ".2f"),
)


def format_jde_records(records: list[dict]) -> str:
    footer = [f"(JDE paper: {PAPER_FPS_1088:g} frames/s at 1088x608 on a Titan Xp)"]
    return format_table(COLUMNS, records, footer=footer)


__all__ = ["JDEBenchConfig", "build_model", "format_jde_records", "run_jde_bench"]
