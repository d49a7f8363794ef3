"""Benchmarks. `python -m pipelines.bench {tracker,reid,gnn,pac,sot,jde} [--json OUT]`

reid: see pipelines/bench_reid.py (training examples/s, embedding crops/s).
gnn: see pipelines/bench_gnn.py (GNN association model, fast vs plain form, GFLOP/s).
pac: see pipelines/bench_pac.py (pixel-adaptive convolution vs an unfold and plain conv:
ms and XLA temporary memory).
sot: see pipelines/bench_sot.py (E.T.Track frames/s end to end, network latency,
batched targets/s).
jde: see pipelines/bench_jde.py (JDE model frames/s per variant and resolution, end to
end with the tracker, and the jde tracker alone).

tracker: per-frame cost of each online tracker alone (detections and appearance
features precomputed) at 10, 50 and 200 detections per frame on synthetic streams.
Each (tracker, density) first runs the whole stream once as warm-up (all compilation
happens there and is reported apart), then times every frame of three more passes and
reports the fastest pass. The
table gives median and p90 ms/frame, frames/s and the number of jit compilations
during the timed pass (0 means the buckets covered the whole stream).
"""

from __future__ import annotations

import argparse
import pathlib
import platform
import sys
import time

import jax
import numpy as np
from tqdm.auto import tqdm

from jaxmot.core.assignment import linear_assignment
from jaxmot.core.atomic import atomic_write_json
from jaxmot.core.boxes import iou_matrix, xywh_to_xyxy
from jaxmot.core.compiles import CompileCounter
from jaxmot.core.registry import make_tracker
from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch, use_cpu_devices
from jaxmot.core.synthetic import generate_detection_stream
from jaxmot.core.tracker import FrameDetections

DEFAULT_TRACKERS = ("iou", "sort", "reid", "longterm")
DEFAULT_DENSITIES = (5, 10, 50, 200)  # 5-9 per frame: the TUD sequences
FEATURE_DIM = 256  # the colour-histogram extractor's size


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
    """Warm-up pass, then `repeats` timed passes; the fastest pass is reported (the
    others differ by noise from the rest of the machine, not by the tracker)."""
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


def run_tracker_bench(trackers, densities, num_frames: int) -> list[dict]:
    records = []
    for density in densities:
        frames = synthetic_frames(density, num_frames)
        for name in tqdm(trackers, desc=f"{density} dets/frame"):
            record = bench_tracker(name, frames)
            record["target_dets_per_frame"] = density
            records.append(record)
    return records


def format_records(records: list[dict]) -> str:
    header = (f"{'tracker':9s} {'dets/f':>7s} {'median ms':>10s} {'p90 ms':>8s} {'frames/s':>9s} "
              f"{'compile s':>10s} {'compiles after warm-up':>23s}")  # fmt: skip
    lines = [header, "-" * len(header)]
    for r in records:
        lines.append(
            f"{r['tracker']:9s} {r['dets_per_frame']:7.1f} {r['ms_per_frame_median']:10.3f} "
            f"{r['ms_per_frame_p90']:8.3f} {r['fps']:9.0f} {r['compile_seconds']:10.2f} "
            f"{r['compiles_after_warmup']:23d}"
        )
    return "\n".join(lines)


def environment() -> dict:
    return {
        "date": time.strftime("%Y-%m-%d"),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpu_async_dispatch": bool(jax.config.read("jax_cpu_enable_async_dispatch")),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="jaxmot benchmarks")
    sub = parser.add_subparsers(dest="bench", required=True)
    tr = sub.add_parser("tracker", help="per-frame cost of the online trackers")
    tr.add_argument("--trackers", nargs="+", default=list(DEFAULT_TRACKERS))
    tr.add_argument("--dets", nargs="+", type=int, default=list(DEFAULT_DENSITIES))
    tr.add_argument("--frames", type=int, default=300)
    tr.add_argument("--json", type=pathlib.Path, help="write the records here")
    tr.add_argument(
        "--async-dispatch",
        action="store_true",
        help="keep JAX's asynchronous CPU dispatch (default: synchronous, as "
        "pipelines.track uses; see jaxmot.core.runtime)",
    )
    re = sub.add_parser("reid", help="ReID training examples/s and embedding crops/s")
    re.add_argument("--depths", nargs="+", type=int, default=[18, 34])
    re.add_argument("--batches", nargs="+", type=int, default=[32, 128])
    re.add_argument("--width", type=int, default=64, help="ResNet base channels")
    re.add_argument("--size", nargs=2, type=int, default=[256, 128], metavar=("H", "W"))
    re.add_argument("--repeats", type=int, default=3)
    re.add_argument("--json", type=pathlib.Path, help="write the records here")
    gnn = sub.add_parser("gnn", help="GNN association model: ms, effective GFLOP/s")
    from pipelines.bench_gnn import add_arguments as add_gnn_arguments

    add_gnn_arguments(gnn)
    pac = sub.add_parser("pac", help="pixel-adaptive convolution: ms, temporary memory")
    from pipelines.bench_pac import add_arguments as add_pac_arguments

    add_pac_arguments(pac)
    sot = sub.add_parser("sot", help="E.T.Track: frames/s, network ms, batched targets/s")
    from pipelines.bench_sot import add_arguments as add_sot_arguments

    add_sot_arguments(sot)
    jde = sub.add_parser("jde", help="JDE: model and end-to-end frames/s, tracker ms/frame")
    from pipelines.bench_jde import add_arguments as add_jde_arguments

    add_jde_arguments(jde)
    args = parser.parse_args(argv)
    if args.bench == "jde":
        prefer_synchronous_cpu_dispatch()
        from pipelines.bench_jde import format_jde_records, run_jde_bench

        records = run_jde_bench(args)
        table = format_jde_records(records)
    elif args.bench == "sot":
        prefer_synchronous_cpu_dispatch()
        use_cpu_devices(args.cpu_devices)
        from pipelines.bench_sot import format_sot_records, run_sot_bench

        records = run_sot_bench(args)
        table = format_sot_records(records)
    elif args.bench == "pac":
        from pipelines.bench_pac import format_pac_records, run_pac_bench

        records = run_pac_bench(args)
        table = format_pac_records(records)
    elif args.bench == "gnn":
        from pipelines.bench_gnn import format_gnn_records, run_gnn_bench

        use_cpu_devices(args.cpu_devices)
        records = run_gnn_bench(args)
        table = format_gnn_records(records)
    elif args.bench == "reid":
        from pipelines.bench_reid import format_reid_records, run_reid_bench

        records = run_reid_bench(args.depths, args.batches, args.width, args.size, args.repeats)
        table = format_reid_records(records)
    else:
        if not args.async_dispatch:
            prefer_synchronous_cpu_dispatch()
        records = run_tracker_bench(args.trackers, args.dets, args.frames)
        table = format_records(records)
    print(f"\n{table}")
    env = environment()
    print(f"\n{env['date']}  jax {env['jax']} on {env['backend']} ({env['cpu']})")
    if args.json:
        for r in records:
            r["environment"] = env
        atomic_write_json(args.json, records)
        print(f"records -> {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
