"""The input pipeline alone: host batches/s and examples/s per worker count.

`python -m pipelines.bench input` times what the training loop's input does on the
host, without a model or a device: `host_batches(task.batch, ...)` (jaxmot.train.input,
the code the loop runs) for each worker count, as

    sources = {"sot": lambda: BatchSource(sot_batch, 16), ...}   # built per row
    records = run_input_bench(sources, workers=(0, 1, 2), batches=20)
    print(format_input_records(records))

For every (task, worker count) row the source is built afresh (`setup_s`), `warmup`
batches are taken (`warmup_s`; the first one apart too, `first_batch_s`, which includes
starting the threads), then `batches` batches are timed. The warm-up is long (10 by
default) because the samplers fill lazy caches in their first batches: JDE renders each
generated scene on first use (about 11 s over the first 5 batches of synthetic_small,
then 0.1 s a batch), E.T.Track plans each generated video (0.35 s a batch at first, 0.1 s
after 10). The bench consumes each batch as soon as it is ready, so nothing waits in the
prefetch buffer when the timing starts and the rate is the workers' steady state:
`batches_per_s` = batches / seconds, `examples_per_s` = that x the batch size,
`slowest_s` the longest wait for one timed batch (a cache still filling shows there),
`cpu_cores` the process's CPU seconds per second meanwhile (all its threads: more
workers can only help while this can grow), `speedup` = examples/s against the same
task's 0-worker row.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from jaxmot.core.bench_report import Column, format_table
from jaxmot.train.input import HostBatch, host_batches


@dataclasses.dataclass(frozen=True)
class BatchSource:
    """A task's input as the loop sees it.

    batch: step -> host batch (a mapping of arrays with the examples along axis 0; pure
      in the step, safe to call from worker threads); batch_size: examples per batch
      (checked against the first batch); name: what to print for it (e.g. its preset).
    """

    batch: Callable[[int], HostBatch]
    batch_size: int
    name: str = ""


SourceFactory = Callable[[], BatchSource]


def examples_in(batch: HostBatch) -> int:
    """The leading size shared by the batch's arrays.

    Raises:
      ValueError: an empty batch, or arrays whose leading sizes differ.
    """
    sizes = {int(np.shape(v)[0]) for v in batch.values() if np.ndim(v) > 0}
    if len(sizes) != 1:
        raise ValueError(f"a batch's arrays must share their leading size, got {sorted(sizes)}")
    return sizes.pop()


def time_input(
    source: BatchSource,
    start: int,
    *,
    workers: int,
    warmup: int = 10,
    batches: int = 50,
    prefetch: int = 2,
    clock: Callable[[], float] = time.perf_counter,
) -> dict:
    """Time steps [start + warmup, start + warmup + batches) of `source` through
    `host_batches` with `workers` threads, after the warm-up steps [start, start + warmup).

    Returns first_batch_s and warmup_s (from creating the iterator to the first and to
    the last warm-up batch), seconds (the timed batches), slowest_s (the longest wait for
    one timed batch), cpu_cores (the process's CPU time over those seconds: below the
    worker count when the threads wait for the GIL or for a CPU), batches_per_s and
    examples_per_s.

    Raises:
      ValueError: warmup or batches below 1, or a batch whose size is not
        `source.batch_size`.
    """
    if warmup < 1 or batches < 1:
        raise ValueError(f"warmup and batches must be >= 1, got {warmup} and {batches}")
    stop = start + warmup + batches
    t0 = clock()
    stream = host_batches(source.batch, start, stop, workers=workers, prefetch=prefetch)
    first = next(stream)
    first_batch_s = clock() - t0
    if examples_in(first) != source.batch_size:
        raise ValueError(
            f"batch of step {start} holds {examples_in(first)} examples, "
            f"expected batch_size {source.batch_size}"
        )
    for _ in range(warmup - 1):
        next(stream)
    t1 = last = clock()
    cpu = time.process_time()
    timed, slowest = 0, 0.0
    for _ in stream:
        now = clock()
        timed, slowest, last = timed + 1, max(slowest, now - last), now
    seconds = last - t1
    cpu = time.process_time() - cpu
    assert timed == batches, (timed, batches)
    return {
        "first_batch_s": first_batch_s,
        "warmup_s": t1 - t0,
        "seconds": seconds,
        "slowest_s": slowest,
        "cpu_cores": cpu / seconds if seconds > 0 else 0.0,
        "batches_per_s": batches / seconds,
        "examples_per_s": batches * source.batch_size / seconds,
    }


def run_input_bench(
    factories: Mapping[str, SourceFactory],
    workers: Sequence[int] = (0, 1, 2),
    *,
    tasks: Iterable[str] | None = None,
    warmup: int = 10,
    batches: int = 50,
    prefetch: int = 2,
    progress: Callable[[str], None] = print,
) -> list[dict]:
    """One record per (task, worker count): `tasks` (default: every factory) in order.

    Each row builds its source afresh and reads its own steps (the i-th worker count
    starts at step i x (warmup + batches)): a sampler that caches decoded frames or
    generated scenes would otherwise serve a later row from what an earlier row
    decoded, and credit the later worker count with it.

    Raises:
      ValueError: a task without a factory, a negative worker count, warmup or
        batches below 1.
    """
    tasks = list(factories if tasks is None else tasks)
    unknown = [t for t in tasks if t not in factories]
    if unknown:
        raise ValueError(f"unknown input task(s) {unknown}; known: {sorted(factories)}")
    if any(w < 0 for w in workers):
        raise ValueError(f"worker counts must be >= 0, got {list(workers)}")
    records = []
    for task in tasks:
        rows = []
        for i, count in enumerate(workers):
            t0 = time.perf_counter()
            source = factories[task]()
            setup_s = time.perf_counter() - t0
            start = i * (warmup + batches)
            row = time_input(
                source, start, workers=count, warmup=warmup, batches=batches, prefetch=prefetch
            )
            record = {
                "task": task,
                "config": source.name,
                "workers": count,
                "prefetch": prefetch,
                "batch_size": source.batch_size,
                "warmup": warmup,
                "batches": batches,
                "start_step": start,
                "setup_s": setup_s,
                **row,
            }
            rows.append(record)
            progress(
                f"input {task} workers={count}: {record['examples_per_s']:.1f} examples/s "
                f"({record['batches_per_s']:.2f} batches/s)"
            )
        base = next((r["examples_per_s"] for r in rows if r["workers"] == 0), None)
        for r in rows:
            r["speedup"] = None if base is None else r["examples_per_s"] / base
        records += rows
    return records


COLUMNS = (
    Column("task", 5, "task", left=True),
    Column("config", 17, "config", left=True),
    Column("workers", 7, "workers", "d"),
    Column("batch", 5, "batch_size", "d"),
    Column("setup s", 7, "setup_s", ".2f"),
    Column("first s", 7, "first_batch_s", ".2f"),
    Column("warm-up s", 9, "warmup_s", ".2f"),
    Column("batches/s", 9, "batches_per_s", ".2f"),
    Column("examples/s", 10, "examples_per_s", ".1f"),
    Column("max wait s", 10, "slowest_s", ".3f"),
    Column("cores", 5, "cpu_cores", ".2f"),
    Column("vs 0", 5, lambda r: "-" if r["speedup"] is None else f"{r['speedup']:.2f}x"),
)


def format_input_records(records: list[dict]) -> str:
    counts = sorted({(r["warmup"], r["batches"], r["prefetch"]) for r in records})
    footer = [
        f"warm-up, timed batches, prefetch: {', '.join(map(str, counts))}; host side only "
        "(no model, no device)",
        "cores: CPU seconds of the process per second while timed; vs 0: examples/s "
        "against the same task with 0 workers (batches built in the calling thread)",
    ]
    return format_table(COLUMNS, records, footer=footer)


__all__ = [
    "BatchSource",
    "SourceFactory",
    "examples_in",
    "format_input_records",
    "run_input_bench",
    "time_input",
]
