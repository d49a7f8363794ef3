"""Benchmarks. `python -m pipelines.bench {tracker,reid,gnn,pac,sot,jde} [--json OUT]`

Each benchmark lives in its system (its module docstring says what it measures):

    tracker  jaxmot.mot.bench   per-frame cost of each online tracker alone
    reid     jaxmot.reid.bench  training examples/s, embedding crops/s
    gnn      jaxmot.gnn.bench   GNN association model, fast vs plain form, GFLOP/s
    pac      jaxmot.seg.bench   pixel-adaptive convolution vs an unfold and plain conv:
                                ms and XLA temporary memory
    sot      jaxmot.sot.bench   E.T.Track frames/s end to end, network latency,
                                batched targets/s
    jde      jaxmot.jde.bench   JDE model frames/s per variant and resolution, end to
                                end with the tracker, and the jde tracker alone

Every benchmark prints a table and the machine it ran on; `--json OUT` also writes the
records, each with that environment (jaxmot.core.bench_report).
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys

from jaxmot.core.bench_report import report
from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch, use_cpu_devices
from jaxmot.gnn import bench as gnn_bench
from jaxmot.jde import bench as jde_bench
from jaxmot.mot import bench as tracker_bench
from jaxmot.reid import bench as reid_bench
from jaxmot.seg import bench as pac_bench
from jaxmot.sot import bench as sot_bench


def add_config_arguments(parser: argparse.ArgumentParser, cls) -> None:
    """One flag per field of the benchmark config dataclass `cls`: `--field-name`, its
    default, help and choices (jaxmot.core.bench_report.flag); a tuple field takes several
    values, `size` exactly two (H W)."""
    for field in dataclasses.fields(cls):
        default = field.default
        kwargs = {"default": default, "type": type(default), **field.metadata}
        if isinstance(default, tuple):
            kwargs.update(default=list(default), type=type(default[0]), nargs="+")
            if field.name == "size":
                kwargs.update(nargs=2, metavar=("H", "W"))
        parser.add_argument("--" + field.name.replace("_", "-"), **kwargs)


def _cpu_devices(parser: argparse.ArgumentParser, then: str) -> None:
    help = f"on CPU, split the host into this many JAX devices (0: one per core); {then}"
    parser.add_argument("--cpu-devices", type=int, default=0, help=help)


def _tracker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trackers", nargs="+", default=list(tracker_bench.DEFAULT_TRACKERS))
    parser.add_argument(
        "--dets", nargs="+", type=int, default=list(tracker_bench.DEFAULT_DENSITIES)
    )
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument(
        "--async-dispatch",
        action="store_true",
        help="keep JAX's asynchronous CPU dispatch (default: synchronous, as "
        "pipelines.track uses; see jaxmot.core.runtime)",
    )


def _reid_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--depths", nargs="+", type=int, default=[18, 34])
    parser.add_argument("--batches", nargs="+", type=int, default=[32, 128])
    parser.add_argument("--width", type=int, default=64, help="ResNet base channels")
    parser.add_argument("--size", nargs=2, type=int, default=[256, 128], metavar=("H", "W"))
    parser.add_argument("--repeats", type=int, default=3)


def _gnn_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, gnn_bench.GNNBenchConfig)
    _cpu_devices(parser, "shard each batch over them; 1 keeps one device")


def _pac_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, pac_bench.PACBenchConfig)


def _sot_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, sot_bench.SOTBenchConfig)
    _cpu_devices(parser, "the batched rows shard their targets over them (1: one device)")


def _jde_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, jde_bench.JDEBenchConfig)


BENCHES = {
    "tracker": ("per-frame cost of the online trackers", _tracker_arguments),
    "reid": ("ReID training examples/s and embedding crops/s", _reid_arguments),
    "gnn": ("GNN association model: ms, effective GFLOP/s", _gnn_arguments),
    "pac": ("pixel-adaptive convolution: ms, temporary memory", _pac_arguments),
    "sot": ("E.T.Track: frames/s, network ms, batched targets/s", _sot_arguments),
    "jde": ("JDE: model and end-to-end frames/s, tracker ms/frame", _jde_arguments),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="jaxmot benchmarks")
    sub = parser.add_subparsers(dest="bench", required=True)
    for name, (help, add_arguments) in BENCHES.items():
        bench = sub.add_parser(name, help=help)
        add_arguments(bench)
        bench.add_argument("--json", type=pathlib.Path, help="write the records here")
    return parser.parse_args(argv)


def config_from(cls, args: argparse.Namespace):
    """A benchmark config dataclass from the flags of the same names (lists -> tuples)."""
    values = {}
    for field in dataclasses.fields(cls):
        value = getattr(args, field.name)
        values[field.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def run(args: argparse.Namespace) -> tuple[list[dict], str]:
    """(records, table) of the benchmark `args.bench`. Dispatch and device settings come
    first: they must be set before JAX starts its backend."""
    if args.bench == "tracker":
        if not args.async_dispatch:
            prefer_synchronous_cpu_dispatch()
        records = tracker_bench.run_tracker_bench(args.trackers, args.dets, args.frames)
        return records, tracker_bench.format_tracker_records(records)
    if args.bench == "reid":
        records = reid_bench.run_reid_bench(
            args.depths, args.batches, args.width, args.size, args.repeats
        )
        return records, reid_bench.format_reid_records(records)
    if args.bench == "gnn":
        use_cpu_devices(args.cpu_devices)
        records = gnn_bench.run_gnn_bench(config_from(gnn_bench.GNNBenchConfig, args))
        return records, gnn_bench.format_gnn_records(records)
    if args.bench == "pac":
        records = pac_bench.run_pac_bench(config_from(pac_bench.PACBenchConfig, args))
        return records, pac_bench.format_pac_records(records)
    if args.bench == "sot":
        prefer_synchronous_cpu_dispatch()
        use_cpu_devices(args.cpu_devices)
        records = sot_bench.run_sot_bench(config_from(sot_bench.SOTBenchConfig, args))
        return records, sot_bench.format_sot_records(records)
    prefer_synchronous_cpu_dispatch()
    records = jde_bench.run_jde_bench(config_from(jde_bench.JDEBenchConfig, args))
    return records, jde_bench.format_jde_records(records)


def main(argv=None) -> int:
    args = parse_args(argv)
    records, table = run(args)
    report(records, table, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
