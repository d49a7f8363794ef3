"""Exported models: the model state alone (no optimizer) plus the config that built it.

    checkpoints/NAME/
      state/        orbax checkpoint of the nnx.State (params and batch statistics)
      model.json    {"kind": ..., "config": {...}, anything else: metrics, command}

Small enough to commit (`checkpoints/`), loadable without the task or its data. Every
system exports through here: `export_with_config` writes the manifest from the model's
config dataclass (and any other dataclass sections, e.g. a tracker's settings), and
`load_with_config` checks the `kind`, decodes the config back into its dataclass, builds
the model from it and restores the weights. A system's `checkpoint.py` only names its
kind, its config class, how to build its model and its shipped default.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shlex
import shutil
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import orbax.checkpoint as ocp
from flax import nnx

from jaxmot.core.atomic import atomic_write_json
from jaxmot.train.overrides import config_from_dict, config_to_dict, field_types

MANIFEST = "model.json"

C = TypeVar("C")
M = TypeVar("M", bound=nnx.Module)


def command_line(module: str, argv: list[str] | None) -> str:
    """The command that ran `module` with `argv` (None: this process's arguments), as
    recorded in an exported model's manifest."""
    return f"python -m {module} " + shlex.join(sys.argv[1:] if argv is None else argv)


def export_model(model: nnx.Module, directory: str | os.PathLike, manifest: dict[str, Any]) -> None:
    """Write `model`'s state and `manifest` to `directory`, replacing it atomically."""
    directory = pathlib.Path(directory).resolve()
    staging = directory.with_name(f".{directory.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _, state = nnx.split(model)
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(staging / "state", state)
    checkpointer.wait_until_finished()
    atomic_write_json(staging / MANIFEST, manifest, sort_keys=True)
    # Swap in the new directory; the old one is removed only once the new one is complete.
    previous = directory.with_name(f".{directory.name}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if directory.exists():
        os.replace(directory, previous)
    os.replace(staging, directory)
    shutil.rmtree(previous, ignore_errors=True)


def export_with_config(
    model: nnx.Module, directory: str | os.PathLike, *, kind: str, config: Any, **extra: Any
) -> None:
    """Export `model` with the manifest {"kind": kind, "config": config, **extra}.

    `config` (the dataclass that builds the model) and any dataclass in `extra` (a
    detector's or tracker's settings) are stored as JSON objects; other `extra` values
    (metrics, the command) as they are.
    """
    manifest = {"kind": kind, "config": config_to_dict(config)}
    for key, value in extra.items():
        is_config = dataclasses.is_dataclass(value) and not isinstance(value, type)
        manifest[key] = config_to_dict(value) if is_config else value
    export_model(model, directory, manifest)


def read_manifest(directory: str | os.PathLike) -> dict[str, Any]:
    """The manifest (model.json) of an exported model, as a dict.

    Raises:
      FileNotFoundError: `directory` has no model.json.
      ValueError: model.json is not a JSON object.
    """
    path = pathlib.Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no exported model here (missing {MANIFEST})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: corrupt manifest ({err})") from err
    if not isinstance(manifest, dict):
        raise ValueError(
            f"{path}: corrupt manifest (expected a JSON object, got {type(manifest).__name__})"
        )
    return manifest


def update_manifest(directory: str | os.PathLike, **fields: Any) -> dict[str, Any]:
    """Set top-level `fields` of an exported model's manifest (the weights are untouched).

    The manifest is rewritten atomically: a crash leaves the old one or the new one.
    """
    manifest = read_manifest(directory)
    manifest.update(fields)
    path = pathlib.Path(directory) / MANIFEST
    atomic_write_json(path, manifest, sort_keys=True)
    return manifest


def check_kind(
    manifest: dict[str, Any], kind: str, label: str, directory: str | os.PathLike
) -> None:
    """Raise a ValueError naming the file unless `manifest["kind"] == kind`.

    `label` says what was expected, e.g. "a GNN model".
    """
    found = manifest.get("kind")
    if found != kind:
        raise ValueError(
            f"{pathlib.Path(directory) / MANIFEST}: not {label} (key 'kind' is {found!r}, "
            f"expected {kind!r})"
        )


def config_from_manifest(
    manifest: dict[str, Any],
    cls: type[C],
    directory: str | os.PathLike,
    key: str = "config",
    *,
    required: bool = True,
) -> C:
    """The dataclass `cls` stored under `manifest[key]` (as `export_with_config` wrote it).

    A missing optional section (`required=False`) gives `cls()`, its defaults. Keys that
    `cls` does not know are an error, not silently dropped: they mean the model was
    exported by other code, and building it from the rest could give another network.

    Raises:
      ValueError: the key is missing (when required), is not an object, has unknown
        fields or values `cls` rejects; the message names the file and the key.
    """
    where = f"{pathlib.Path(directory) / MANIFEST}: key {key!r}"
    if key not in manifest:
        if required:
            raise ValueError(f"{where} is missing")
        return cls()
    values = manifest[key]
    if not isinstance(values, dict):
        raise ValueError(f"{where} must be a JSON object, got {type(values).__name__}")
    unknown = _unknown_fields(cls, values)
    if unknown:
        raise ValueError(f"{where}: {cls.__name__} has no field {', '.join(unknown)}")
    try:
        return config_from_dict(cls, values)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where} is not a valid {cls.__name__} ({err})") from err


def _unknown_fields(cls: type, values: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names in `values` that the (nested) dataclass `cls` has no field for."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = []
    for name, value in values.items():
        if name not in fields:
            unknown.append(f"{prefix}{name}")
            continue
        field_type = field_types(cls)[name]
        if dataclasses.is_dataclass(field_type) and isinstance(value, dict):
            unknown += _unknown_fields(field_type, value, f"{prefix}{name}.")
    return unknown


def load_with_config(
    directory: str | os.PathLike,
    *,
    kind: str,
    label: str,
    config_class: type[C],
    build: Callable[[C], M],
) -> tuple[M, C, dict[str, Any]]:
    """(model in eval mode, its config, the manifest) from an exported directory.

    Args:
      directory: what `export_with_config` wrote.
      kind: the manifest's expected "kind"; `label` names it in errors ("a GNN model").
      config_class: the dataclass stored under "config".
      build: config -> the (randomly initialised) model whose weights are restored.

    Raises:
      FileNotFoundError: no model.json in `directory`.
      ValueError: a corrupt model.json, another kind, a config that does not decode,
        or weights that do not fit the built model (each message names the file).
    """
    directory = pathlib.Path(directory).resolve()
    manifest = read_manifest(directory)
    check_kind(manifest, kind, label, directory)
    config = config_from_manifest(manifest, config_class, directory)
    model = _restore(directory, lambda: build(config))
    model.eval()
    return model, config, manifest


@dataclasses.dataclass(frozen=True)
class ModelFormat:
    """How one system stores its models: the manifest's kind, the config dataclass, the
    builder and the shipped default; `load` is `load_with_config` with these filled in.

        FORMAT = ModelFormat(KIND, "a GNN model", GNNConfig, build_gnn, DEFAULT_CHECKPOINT)
        model, config, manifest = FORMAT.load(directory)   # None: the shipped default
    """

    kind: str
    label: str  # names the kind in errors: "a GNN model"
    config_class: type
    build: Callable[[Any], nnx.Module]  # config -> randomly initialised model
    default: str | os.PathLike | None = None

    def load(self, directory: str | os.PathLike | None = None):
        """(model in eval mode, config, manifest) from `directory` (None: the default)."""
        if directory is None:
            if self.default is None:
                raise ValueError(f"{self.label}: no directory given and no shipped default")
            directory = self.default
        return load_with_config(
            directory,
            kind=self.kind,
            label=self.label,
            config_class=self.config_class,
            build=self.build,
        )


def _restore(directory: pathlib.Path, build: Callable[[], M]) -> M:
    abstract = nnx.eval_shape(build)
    graphdef, abstract_state = nnx.split(abstract)
    try:
        state = ocp.StandardCheckpointer().restore(directory / "state", abstract_state)
    except Exception as err:  # orbax raises many kinds; name the directory in every case
        first_line = (str(err).strip().splitlines() or [""])[0]
        raise ValueError(
            f"{directory / 'state'}: cannot restore the exported model ({type(err).__name__}: "
            f"{first_line})"
        ) from err
    return nnx.merge(graphdef, state)


__all__ = [
    "MANIFEST",
    "ModelFormat",
    "check_kind",
    "command_line",
    "config_from_manifest",
    "export_model",
    "export_with_config",
    "load_with_config",
    "read_manifest",
    "update_manifest",
]
