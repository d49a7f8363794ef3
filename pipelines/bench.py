"""Benchmarks. `python -m pipelines.bench {tracker,reid,gnn,pac,sot,jde,input} [--json OUT]`

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
    input    jaxmot.train.input_bench
                                each training program's input pipeline alone (host
                                batches/s and examples/s per `train.data_workers`),
                                wired here to every system's `training_batches`

Every benchmark prints a table and the machine it ran on; `--json OUT` also writes the
records, each with that environment (jaxmot.core.bench_report).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import pathlib
import sys
import tempfile

from jaxmot.core.bench_report import report
from jaxmot.core.registry import make_extractor
from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch, use_cpu_devices
from jaxmot.gnn import bench as gnn_bench
from jaxmot.gnn import configs as gnn_configs
from jaxmot.gnn import trainer as gnn_trainer
from jaxmot.jde import bench as jde_bench
from jaxmot.jde import configs as jde_configs
from jaxmot.jde import trainer as jde_trainer
from jaxmot.mot import bench as tracker_bench
from jaxmot.reid import bench as reid_bench
from jaxmot.reid import configs as reid_configs
from jaxmot.reid import trainer as reid_trainer
from jaxmot.seg import bench as pac_bench
from jaxmot.seg import configs as seg_configs
from jaxmot.seg import trainer as seg_trainer
from jaxmot.sot import bench as sot_bench
from jaxmot.sot import configs as sot_configs
from jaxmot.sot import trainer as sot_trainer
from jaxmot.train import input_bench
from jaxmot.train.config import TrainConfig
from jaxmot.train.overrides import add_set_arg, apply_overrides


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


# ------------------------------------------------------------------ bench input

# Each training program's default preset (`--config` of pipelines/train_<task>.py): all
# five train on generated data, so the bench needs no dataset.
INPUT_PRESETS = {
    "reid": "synthetic_r18w16",
    "gnn": "synthetic_sim",
    "seg": "synthetic_joint",
    "sot": "synthetic",
    "jde": "synthetic_small",
}
INPUT_CONFIGS = {
    "reid": reid_configs,
    "gnn": gnn_configs,
    "seg": seg_configs,
    "sot": sot_configs,
    "jde": jde_configs,
}


def _input_arguments(parser: argparse.ArgumentParser) -> None:
    tasks = list(INPUT_PRESETS)
    parser.add_argument(
        "--task",
        nargs="+",
        choices=tasks,
        default=tasks,
        metavar="TASK",
        help=f"training programs whose input to time, among {tasks} (all)",
    )
    parser.add_argument(
        "--workers",
        nargs="+",
        type=int,
        default=[0, 1, 2],
        help="worker thread counts to time (train.data_workers; 0: the calling thread)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        help="examples per batch (default: the preset's train.batch_size; "
        "reid: P x K with P = BATCH / K)",
    )
    parser.add_argument("--batches", type=int, default=50, help="timed batches per row")
    parser.add_argument(
        "--warmup",
        type=int,
        default=10,
        help="batches taken before the timing, while the samplers fill their caches "
        "(the first reported apart)",
    )
    parser.add_argument(
        "--prefetch",
        type=int,
        default=TrainConfig.prefetch,
        help="batches queued ahead with workers (train.prefetch)",
    )
    parser.add_argument(
        "--config",
        nargs="+",
        default=[],
        metavar="[TASK=]PRESET",
        help="a preset per task (default: each training program's default); "
        "a bare PRESET with one --task",
    )
    add_set_arg(
        parser,
        help="override a field of each selected task's experiment, as the "
        "training programs' --set (e.g. data.got10k=PATH with --task sot)",
    )
    parser.add_argument(
        "--jde-workers",
        type=int,
        default=1,
        help="JDEBatches' own threads inside one batch (pipelines.train_jde "
        "--workers); 1: none, so that --workers alone is measured",
    )


def input_presets(tasks: list[str], configs: list[str]) -> dict[str, str]:
    """{task: preset}: the defaults, replaced by `--config` entries (TASK=PRESET, or a
    bare PRESET when there is one task). Raises ValueError naming a bad entry."""
    presets = {task: INPUT_PRESETS[task] for task in tasks}
    for item in configs:
        task, sep, name = item.rpartition("=")
        if not sep:
            if len(tasks) != 1:
                raise ValueError(f"--config {item}: say which task (TASK=PRESET) with several")
            task = tasks[0]
        if task not in presets:
            raise ValueError(f"--config {item}: {task!r} is not among --task {tasks}")
        known = sorted(INPUT_CONFIGS[task].PRESETS)
        if name not in known:
            raise ValueError(f"--config {item}: no {task} preset {name!r}; known: {known}")
        presets[task] = name
    return presets


def input_experiment(task: str, preset: str, args: argparse.Namespace):
    """The task's experiment as its training program builds it (preset, then `--set`),
    with `--batch` as its batch size."""
    exp = apply_overrides(INPUT_CONFIGS[task].get_config(preset), args.overrides)
    if task == "reid":  # the batch is always P x K (reid.trainer.with_pk_batch)
        if args.batch is not None:
            if args.batch < exp.k or args.batch % exp.k:
                raise ValueError(f"--batch {args.batch}: reid batches are P x K, K = {exp.k}")
            exp = dataclasses.replace(exp, p=args.batch // exp.k)
        return reid_trainer.with_pk_batch(exp)
    if args.batch is not None:
        exp = apply_overrides(exp, [f"train.batch_size={args.batch}"])
    return exp


def _reid_factory(exp, name: str, args, scratch: pathlib.Path):
    # The rendered crops (about 27 s for the default preset) are shared by the rows; the
    # sampler is built per row.
    dataset = functools.cache(functools.partial(reid_trainer.load_dataset, exp))
    return lambda: input_bench.BatchSource(
        reid_trainer.training_batches(exp, dataset()).batch, exp.train.batch_size, name
    )


def _gnn_factory(exp, name: str, args, scratch: pathlib.Path):
    extractor = make_extractor("reid") if exp.data.features == "reid" else None
    exp = gnn_trainer.fit_embedding_dim(exp, extractor)

    def build():
        folder = tempfile.mkdtemp(dir=scratch)  # each row generates its own scenes
        data = gnn_trainer.training_batches(exp, folder, extractor)
        return input_bench.BatchSource(data.batch, exp.train.batch_size, name)

    return build


def _seg_factory(exp, name: str, args, scratch: pathlib.Path):
    # SegBatches only indexes arrays computed once (with a frozen ViT for the pac and
    # linear heads) and keeps nothing between calls, so the rows share it.
    batches = functools.cache(functools.partial(seg_trainer.training_batches, exp))
    return lambda: input_bench.BatchSource(batches().batch, exp.train.batch_size, name)


def _sot_factory(exp, name: str, args, scratch: pathlib.Path):
    return lambda: input_bench.BatchSource(
        sot_trainer.training_batches(exp).batch, exp.train.batch_size, name
    )


def _jde_factory(exp, name: str, args, scratch: pathlib.Path):
    return lambda: input_bench.BatchSource(
        jde_trainer.training_batches(exp, workers=args.jde_workers).batch,
        exp.train.batch_size,
        name,
    )


INPUT_FACTORIES = {
    "reid": _reid_factory,
    "gnn": _gnn_factory,
    "seg": _seg_factory,
    "sot": _sot_factory,
    "jde": _jde_factory,
}


def input_factories(args: argparse.Namespace, scratch: pathlib.Path) -> dict:
    """{task: source factory} for `jaxmot.train.input_bench.run_input_bench`; `scratch`
    holds generated files (GNN scenes) while the bench runs. Raises ValueError for a
    bad --config, --set or --batch before anything is built."""
    presets = input_presets(args.task, args.config)
    experiments = {t: input_experiment(t, p, args) for t, p in presets.items()}
    return {
        task: INPUT_FACTORIES[task](exp, presets[task], args, scratch)
        for task, exp in experiments.items()
    }


def run_input(args: argparse.Namespace) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench_input_") as scratch:
        factories = input_factories(args, pathlib.Path(scratch))
        records = input_bench.run_input_bench(
            factories,
            args.workers,
            warmup=args.warmup,
            batches=args.batches,
            prefetch=args.prefetch,
        )
    for record in records:
        record["jde_workers"] = args.jde_workers if record["task"] == "jde" else None
    return records


BENCHES = {
    "tracker": ("per-frame cost of the online trackers", _tracker_arguments),
    "reid": ("ReID training examples/s and embedding crops/s", _reid_arguments),
    "gnn": ("GNN association model: ms, effective GFLOP/s", _gnn_arguments),
    "pac": ("pixel-adaptive convolution: ms, temporary memory", _pac_arguments),
    "sot": ("E.T.Track: frames/s, network ms, batched targets/s", _sot_arguments),
    "jde": ("JDE: model and end-to-end frames/s, tracker ms/frame", _jde_arguments),
    "input": ("training input alone: batches/s, examples/s per worker count", _input_arguments),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="jaxmot benchmarks")
    sub = parser.add_subparsers(dest="bench", required=True)
    for name, (help, add_arguments) in BENCHES.items():
        bench = sub.add_parser(name, help=help)
        add_arguments(bench)
        bench.add_argument("--json", type=pathlib.Path, help="write the records here")
    args = parser.parse_args(argv)
    if args.bench == "input":
        try:
            check_input_args(args)
        except ValueError as e:
            sub.choices["input"].error(str(e))
    return args


def check_input_args(args: argparse.Namespace) -> None:
    """ValueError naming the flag when `bench input`'s flags cannot run (cheap: builds
    the experiments, not their data)."""
    if min(args.workers) < 0 or args.prefetch < 0 or args.jde_workers < 1:
        raise ValueError("--workers and --prefetch must be >= 0, --jde-workers >= 1")
    if args.batches < 1 or args.warmup < 1 or (args.batch is not None and args.batch < 1):
        raise ValueError("--batches, --warmup and --batch must be >= 1")
    presets = input_presets(args.task, args.config)
    for task, preset in presets.items():
        input_experiment(task, preset, args)


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
    if args.bench == "input":
        records = run_input(args)
        return records, input_bench.format_input_records(records)
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
