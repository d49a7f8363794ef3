"""`python -m pipelines.bench tracker`: per-frame cost of each online tracker alone.

Detections and appearance features are precomputed, at 5, 10, 50 and 200 detections
per frame on synthetic streams (jaxmot.core.tracker_bench). Each (tracker, density)
first runs the whole stream once as warm-up (all compilation happens there and is
reported apart), then times every frame of three more passes and reports the fastest
pass. The table gives median and p90 ms/frame, frames/s, the compile seconds of the
warm-up and the number of jit compilations during the timed passes (0 means the
buckets covered the whole stream).
"""

from __future__ import annotations

from tqdm.auto import tqdm

from jaxmot.core.bench_report import Column, format_table
from jaxmot.core.tracker_bench import bench_tracker, synthetic_frames

DEFAULT_TRACKERS = ("iou", "sort", "reid", "longterm")
DEFAULT_DENSITIES = (5, 10, 50, 200)  # 5-9 per frame: the TUD sequences

COLUMNS = (
    Column("tracker", 9, "tracker", left=True),
    Column("dets/f", 7, "dets_per_frame", ".1f"),
    Column("median ms", 10, "ms_per_frame_median", ".3f"),
    Column("p90 ms", 8, "ms_per_frame_p90", ".3f"),
    Column("frames/s", 9, "fps", ".0f"),
    Column("compile s", 10, "compile_seconds", ".2f"),
    Column("compiles after warm-up", 23, "compiles_after_warmup", "d"),
)


def run_tracker_bench(trackers, densities, num_frames: int) -> list[dict]:
    """One record per (density, tracker name): see `bench_tracker`'s fields, plus
    `target_dets_per_frame`."""
    records = []
    for density in densities:
        frames = synthetic_frames(density, num_frames)
        for name in tqdm(trackers, desc=f"{density} dets/frame"):
            record = bench_tracker(name, frames)
            record["target_dets_per_frame"] = density
            records.append(record)
    return records


def format_tracker_records(records: list[dict]) -> str:
    return format_table(COLUMNS, records)


__all__ = ["DEFAULT_DENSITIES", "DEFAULT_TRACKERS", "format_tracker_records", "run_tracker_bench"]
