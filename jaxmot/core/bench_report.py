"""Benchmark records as a fixed-width table, the machine they ran on, and JSON.

Every benchmark (`python -m pipelines.bench <what>`) takes a frozen config dataclass
(its fields become the command's flags; `flag` adds help and choices), returns a list of
flat records (dicts) and describes its table as `Column`s:

    COLUMNS = (Column("tracker", 9, "tracker", left=True),
               Column("median ms", 10, "ms_per_frame_median", ".3f"))
    print(format_table(COLUMNS, records))
    report(records, table, json_path)   # table, date/jax/backend line, JSON with environment
"""

from __future__ import annotations

import dataclasses
import os
import platform
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import jax

from jaxmot.core.atomic import atomic_write_json

Record = Mapping[str, object]


@dataclasses.dataclass(frozen=True)
class Column:
    """One table column.

    title: the header; width: the cell width (longer cells are not cut);
    value: a record key, or a function of the record; spec: the format spec of that
    value without the width (".2f", "d"; "" for strings); left: left-align (titles and
    cells), else right-align.
    """

    title: str
    width: int
    value: str | Callable[[Record], object]
    spec: str = ""
    left: bool = False

    def header(self) -> str:
        return format(self.title, f"{'<' if self.left else '>'}{self.width}")

    def cell(self, record: Record) -> str:
        value = self.value(record) if callable(self.value) else record[self.value]
        return format(value, f"{'<' if self.left else '>'}{self.width}{self.spec}")


def flag(default, help: str | None = None, choices: Sequence | None = None):
    """A benchmark config field whose command-line flag has this help and choices
    (`pipelines.bench` makes one flag per field)."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices})


def check_choices(config) -> None:
    """ValueError naming the field when a value of `config` is not among its `flag`'s
    choices (a tuple field: every value)."""
    for field in dataclasses.fields(config):
        allowed = field.metadata.get("choices")
        value = getattr(config, field.name)
        values = value if isinstance(value, tuple) else (value,)
        bad = [v for v in values if v not in (allowed or values)]
        if bad:
            raise ValueError(f"{field.name} must be among {tuple(allowed)}, got {bad}")


def format_row(columns: Sequence[Column], record: Record) -> str:
    """The record's cells, one space apart."""
    return " ".join(c.cell(record) for c in columns)


def format_table(
    columns: Sequence[Column],
    records: Iterable[Record],
    *,
    row: Callable[[Sequence[Column], Record], str] = format_row,
    footer: Iterable[str] = (),
) -> str:
    """Header, a rule as long as the header, one line per record (`row`), then `footer`."""
    header = " ".join(c.header() for c in columns)
    lines = [header, "-" * len(header)]
    lines += [row(columns, r) for r in records]
    lines += list(footer)
    return "\n".join(lines)


def environment() -> dict:
    """Where a benchmark ran: date, JAX version, backend, devices, CPU, Python, and
    whether JAX's CPU dispatch was asynchronous."""
    return {
        "date": time.strftime("%Y-%m-%d"),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpu_async_dispatch": bool(jax.config.read("jax_cpu_enable_async_dispatch")),
    }


def report(
    records: list[dict], table: str, json_path: str | os.PathLike | None = None, out=print
) -> None:
    """Print the table and the environment line; with `json_path`, add the environment
    to every record and write the records there (atomically)."""
    out(f"\n{table}")
    env = environment()
    out(f"\n{env['date']}  jax {env['jax']} on {env['backend']} ({env['cpu']})")
    if json_path:
        for r in records:
            r["environment"] = env
        atomic_write_json(json_path, records)
        out(f"records -> {json_path}")


__all__ = ["Column", "check_choices", "environment", "flag", "format_row", "format_table", "report"]
