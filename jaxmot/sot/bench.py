"""`python -m pipelines.bench sot`: E.T.Track speed, end to end and network only.

For each model variant (`narrow`: the shipped checkpoint's architecture; `full`: the
paper's E.T.Track, randomly initialised: speed does not depend on the weights):

    single    one target on a generated 480x854 video: host crop (one affine warp) +
              network + post-processing per frame, as `pipelines.track_sot` runs it;
              `fps` = frames/s from the median frame time
    network   the jitted network + post-processing alone on a ready search crop
              (batch 1); `fps` = 1000 / ms_median
    batched   N targets (8 and 64 by default) tracked together in one video: one
              jitted call per frame for all of them; `fps` = target-frames/s
              (N * 1000 / ms_median), `ms_median` per frame for all N

Every row first runs a warm-up (compilation, reported apart as `compile_s`), then
times `--frames` frames with block_until_ready (the tracker copies results to the host
each frame). CPU dispatch is synchronous, as in the tracking programs.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import numpy as np
from flax import nnx

from jaxmot.core.bench_report import Column, check_choices, flag, format_table
from jaxmot.core.timing import time_calls
from jaxmot.sot.checkpoint import SOT_CHECKPOINT, load_sot
from jaxmot.sot.model import ETTrack, ETTrackConfig
from jaxmot.sot.synthetic import synthetic_sot_video
from jaxmot.sot.tracker import SOTTracker, SOTTrackerConfig

VARIANTS = ("narrow", "full")
PAPER_CPU_FPS = 47.0  # E.T.Track abstract: 47 FPS on a CPU


@dataclasses.dataclass(frozen=True)
class SOTBenchConfig:
    """What `run_sot_bench` measures: single, network and batched rows (`targets`
    targets at a time) for each of `variants`, over `frames` timed frames of a generated
    `size` = (H, W) video."""

    variants: tuple[str, ...] = flag(VARIANTS, choices=VARIANTS)
    targets: tuple[int, ...] = (8, 64)
    frames: int = flag(40, "timed frames per row")
    size: tuple[int, int] = (480, 854)

    def __post_init__(self):
        check_choices(self)


def build_model(variant: str) -> tuple[ETTrack, SOTTrackerConfig]:
    if variant == "narrow" and SOT_CHECKPOINT.is_dir():
        model, tracker, _ = load_sot()
        return model, tracker
    config = ETTrackConfig.narrow() if variant == "narrow" else ETTrackConfig()
    model = ETTrack(config, rngs=nnx.Rngs(0))
    model.eval()
    return model, SOTTrackerConfig()


def bench_tracking(model, tracker_config, frames, boxes, targets: int) -> dict:
    """Warm-up on frames 0-1 (init + first update compile), then time every later frame."""
    tracker = SOTTracker(model, tracker_config)
    # Spread the targets' init boxes a little so they are not identical computations.
    jitter = np.linspace(-4, 4, targets)[:, None] * np.array([1, 1, 0, 0])
    init = boxes[0][None] + jitter
    start = time.perf_counter()
    tracker.init([frames[0]] * targets, init)
    tracker.update([frames[1]] * targets)
    compile_s = time.perf_counter() - start
    times = []
    for frame in frames[2:]:
        t0 = time.perf_counter()
        tracker.update([frame] * targets)
        times.append(time.perf_counter() - t0)
    ms = 1e3 * float(np.median(times))
    return {
        "ms_median": ms,
        "ms_p90": 1e3 * float(np.percentile(times, 90)),
        "fps": targets * 1e3 / ms,
        "compile_s": compile_s,
    }


def bench_network(model, tracker_config, frames, boxes, repeats: int) -> dict:
    """The jitted network + post-processing on one prepared crop."""
    tracker = SOTTracker(model, tracker_config)
    tracker.init([frames[0]], boxes[0][None])
    size = tracker_config.search_size
    crop = np.zeros((1, size, size, 3), np.float32) + 120.0
    size_in_crop = np.array([[40.0, 40.0]], np.float32)
    rows = np.zeros(1, np.int64)

    def call():
        return tracker.run(crop, size_in_crop, rows, size)

    first, seconds = time_calls(call, repeats)
    return {"ms_median": 1e3 * seconds, "fps": 1.0 / seconds, "compile_s": first}


def run_sot_bench(config: SOTBenchConfig, progress=print) -> list[dict]:
    frames, boxes = synthetic_sot_video(
        seed=7, num_frames=config.frames + 2, size=tuple(config.size)
    )
    records = []
    for variant in config.variants:
        model, tracker_config = build_model(variant)
        params = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
        base = {"variant": variant, "params_m": params / 1e6}
        row = bench_tracking(model, tracker_config, frames, boxes, 1)
        records.append({**base, "mode": "single", "targets": 1, **row})
        progress(f"{variant} single: {row['fps']:.1f} frames/s")
        row = bench_network(model, tracker_config, frames, boxes, config.frames)
        records.append({**base, "mode": "network", "targets": 1, **row})
        progress(f"{variant} network: {row['ms_median']:.2f} ms")
        for n in config.targets:
            row = bench_tracking(model, tracker_config, frames, boxes, n)
            records.append({**base, "mode": "batched", "targets": n, **row})
            progress(f"{variant} batched {n}: {row['fps']:.1f} target-frames/s")
    return records


COLUMNS = (
    Column("variant", 8, "variant", left=True),
    Column("params", 7, lambda r: f"{r['params_m']:.2f}M"),
    Column("mode", 8, "mode", left=True),
    Column("targets", 7, "targets", "d"),
    Column("ms_median", 10, "ms_median", ".2f"),
    Column("fps", 9, "fps", ".1f"),
    Column("compile_s", 9, "compile_s", ".2f"),
)


def format_sot_records(records: list[dict]) -> str:
    footer = [
        f"fps: frames/s (batched: target-frames/s); the paper: {PAPER_CPU_FPS:.0f} "
        "frames/s on a desktop CPU"
    ]
    return format_table(COLUMNS, records, footer=footer)


__all__ = ["SOTBenchConfig", "build_model", "format_sot_records", "run_sot_bench"]
