"""Command-line overrides for frozen dataclass configs: `--set optimizer.learning_rate=1e-3`.

Works on any (nested) frozen dataclass, so every model's experiment config gets the same
`--workdir / --steps / --set KEY=VALUE` flags. Values are parsed by the field's declared
type; a typo in a key or a value fails at once with a message naming the key.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import functools
import json
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

from jaxmot.core.runtime import use_cpu_devices
from jaxmot.train.mesh import initialize_distributed

C = TypeVar("C")

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_NONE = {"none", "null"}


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """Add `--workdir` (required), `--steps N`, repeatable `--set KEY=VALUE`,
    `--cpu-devices N`, `--profile N` and the multi-host flags (`--distributed`,
    `--coordinator`, `--num-processes`, `--process-id`) to `parser`."""
    parser.add_argument(
        "--workdir", required=True, help="run directory: checkpoints, metrics.jsonl, config.json"
    )
    parser.add_argument("--steps", type=int, default=None, help="override the training steps")
    add_set_arg(parser)
    parser.add_argument(
        "--cpu-devices", type=int, default=None, metavar="N",
        help="on CPU, split the host into N JAX devices (0: one per core) and shard each "
             "batch over them (data parallel over the cores; default: one device)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", type=int, default=None, metavar="N",
        help="write a jax.profiler trace of N steps after the first (compiling) one to "
             "WORKDIR/profile/ (TensorBoard's profile plugin or Perfetto read it)",
    )  # fmt: skip
    hosts = parser.add_argument_group(
        "several hosts", "one process per host (or per GPU); every process runs the same command"
    )
    hosts.add_argument(
        "--distributed", action="store_true",
        help="call jax.distributed.initialize() first and train on the devices of all "
             "processes (same as --set train.distributed=true); on TPU VMs, SLURM, Open MPI "
             "and Kubernetes JAX finds the other processes itself, elsewhere give the next "
             "three flags",
    )  # fmt: skip
    hosts.add_argument("--coordinator", metavar="HOST:PORT",
                       help="address of process 0, which every process connects to")  # fmt: skip
    hosts.add_argument("--num-processes", type=int, metavar="N", help="number of processes")
    hosts.add_argument("--process-id", type=int, metavar="I", help="this process's index, 0..N-1")


def add_set_arg(
    parser: argparse.ArgumentParser,
    help: str = "override a config field by dotted path, e.g. train.optimizer.learning_rate=1e-3",
) -> None:
    """Add the repeatable `--set KEY=VALUE` (into `args.overrides`; `apply_overrides`)."""
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help
    )


def apply_args(config: C, args: argparse.Namespace, steps_key: str = "steps") -> C:
    """`config` with the `--set` overrides of `args`, then `--steps` (at `steps_key`).
    Also applies `--cpu-devices`, `--profile` and `--distributed` (which initializes
    jax.distributed here, with `--coordinator` / `--num-processes` / `--process-id` when
    given): call this before JAX runs anything."""
    if getattr(args, "cpu_devices", None) is not None:
        use_cpu_devices(args.cpu_devices)
    config = apply_overrides(config, list(args.overrides or []))
    if args.steps is not None:
        config = apply_overrides(config, [f"{steps_key}={args.steps}"])
    prefix = steps_key.rpartition(".")[0]  # "train" for an experiment, "" for a TrainConfig
    if getattr(args, "profile", None) is not None:
        config = apply_overrides(config, [f"{_key(prefix, 'profile_steps')}={args.profile}"])
    if getattr(args, "distributed", False):
        config = apply_overrides(config, [f"{_key(prefix, 'distributed')}=true"])
    train = functools.reduce(getattr, prefix.split("."), config) if prefix else config
    if getattr(train, "distributed", False):
        # Before anything touches a device: jax.distributed.initialize must come first.
        initialize_distributed(
            getattr(args, "coordinator", None),
            getattr(args, "num_processes", None),
            getattr(args, "process_id", None),
        )
    return config


def _key(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def apply_overrides(config: C, overrides: Sequence[str]) -> C:
    """Return a copy of the frozen dataclass `config` with `KEY=VALUE` overrides applied.

    Args:
      config: a (nested) dataclass instance.
      overrides: e.g. ["optimizer.learning_rate=1e-3", "steps=50"]; keys are dotted paths
        into nested dataclasses, values are parsed by the field's type: int, float, bool
        (true/false/1/0/yes/no), str, None ("none"/"null" where the type allows it),
        tuples ("1,2,3" or "(1, 2, 3)"), Literal choices.

    Raises:
      ValueError: a malformed override, an unknown key (close matches are suggested), a
        value that does not parse as the field's type, or one the dataclass rejects.
    """
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"override {item!r} is not of the form KEY=VALUE")
        config = _set_path(config, key.split("."), text.strip(), key)
    return config


def _set_path(node: Any, parts: list[str], text: str, key: str) -> Any:
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        raise ValueError(f"config key {key!r}: {type(node).__name__} has no fields to set")
    names = [f.name for f in dataclasses.fields(node)]
    name = parts[0]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ValueError(
            f"unknown config key {key!r}: {type(node).__name__} has no field {name!r}"
            f" (fields: {', '.join(names)}){hint}"
        )
    if len(parts) > 1:
        value = _set_path(getattr(node, name), parts[1:], text, key)
    else:
        field_type = field_types(type(node))[name]
        if dataclasses.is_dataclass(field_type):
            raise ValueError(
                f"config key {key!r} is a {field_type.__name__}: set its fields instead,"
                f" e.g. {key}.{dataclasses.fields(field_type)[0].name}=..."
            )
        value = parse_value(text, field_type, key)
    try:
        return dataclasses.replace(node, **{name: value})
    except (ValueError, TypeError) as e:
        raise ValueError(f"config key {key!r} = {text!r}: {e}") from e


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    # Annotations are strings under `from __future__ import annotations`; resolve them.
    return typing.get_type_hints(cls)


def parse_value(text: str, tp: Any, key: str = "value") -> Any:
    """Parse the command-line string `text` as type `tp` (see `apply_overrides`)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if type(None) in options and text.lower() in _NONE:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return parse_value(text, option, key)
            except ValueError:
                pass
        raise ValueError(f"config key {key!r}: cannot parse {text!r} as {_name(tp)}")
    if origin is typing.Literal:
        choices = typing.get_args(tp)
        for choice in choices:
            if str(choice) == text:
                return choice
        raise ValueError(f"config key {key!r}: {text!r} is not one of {list(choices)}")
    if origin is tuple or tp is tuple:
        return _parse_tuple(text, typing.get_args(tp), key)
    if tp is type(None):
        if text.lower() in _NONE:
            return None
        raise ValueError(f"config key {key!r}: expected none, got {text!r}")
    if tp is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"config key {key!r}: expected a bool (true/false), got {text!r}")
    if tp is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"config key {key!r}: expected an int, got {text!r}") from None
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"config key {key!r}: expected a float, got {text!r}") from None
    if tp is str:
        return text
    # Anything else (Any, dict, list): JSON if it parses, else the plain string.
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _parse_tuple(text: str, args: tuple, key: str) -> tuple:
    inner = text.strip()
    if inner[:1] in "([" and inner[-1:] in ")]":
        inner = inner[1:-1]
    items = [s.strip() for s in inner.split(",")]
    if items and items[-1] == "":
        items = items[:-1]  # "(1,)" and "" (the empty tuple)
    if not args or (len(args) == 2 and args[1] is Ellipsis):
        elem = args[0] if args else Any
        return tuple(parse_value(s, elem, key) for s in items)
    if len(items) != len(args):
        raise ValueError(f"config key {key!r}: expected {len(args)} values, got {text!r}")
    return tuple(parse_value(s, t, key) for s, t in zip(items, args, strict=True))


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) dataclass config (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def config_from_dict(cls: type[C], values: dict[str, Any]) -> C:
    """The (nested) dataclass `cls` from `config_to_dict`'s output: lists become tuples
    where the field is a tuple, nested dicts become their dataclasses."""
    types_ = field_types(cls)
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name not in values:
            continue
        value, tp = values[field.name], types_[field.name]
        if dataclasses.is_dataclass(tp) and isinstance(value, dict):
            value = config_from_dict(tp, value)
        elif isinstance(value, list) and (typing.get_origin(tp) is tuple or tp is tuple):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        kwargs[field.name] = value
    return cls(**kwargs)
