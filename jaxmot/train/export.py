"""Exported models: the model state alone (no optimizer) plus the config that built it.

    checkpoints/NAME/
      state/        orbax checkpoint of the nnx.State (params and batch statistics)
      model.json    {"kind": ..., "config": {...}, anything else: metrics, command}

Small enough to commit (`checkpoints/`), loadable without the task or its data.
"""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import shutil
import sys
from collections.abc import Callable
from typing import Any

import orbax.checkpoint as ocp
from flax import nnx

from jaxmot.core.atomic import atomic_write_json

MANIFEST = "model.json"


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


def read_manifest(directory: str | os.PathLike) -> dict[str, Any]:
    path = pathlib.Path(directory) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no exported model here (missing {MANIFEST})") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: corrupt manifest ({err})") from err


def update_manifest(directory: str | os.PathLike, **fields: Any) -> dict[str, Any]:
    """Set top-level `fields` of an exported model's manifest (the weights are untouched).

    The manifest is rewritten atomically: a crash leaves the old one or the new one.
    """
    manifest = read_manifest(directory)
    manifest.update(fields)
    path = pathlib.Path(directory) / MANIFEST
    atomic_write_json(path, manifest, sort_keys=True)
    return manifest


def load_model(
    directory: str | os.PathLike, build: Callable[[dict[str, Any]], nnx.Module]
) -> tuple[nnx.Module, dict[str, Any]]:
    """(model, manifest) from an exported directory; `build(manifest)` makes the module."""
    directory = pathlib.Path(directory).resolve()
    manifest = read_manifest(directory)
    abstract = nnx.eval_shape(lambda: build(manifest))
    graphdef, abstract_state = nnx.split(abstract)
    try:
        state = ocp.StandardCheckpointer().restore(directory / "state", abstract_state)
    except Exception as err:  # orbax raises many kinds; name the directory in every case
        raise ValueError(
            f"{directory / 'state'}: cannot restore the exported model ({type(err).__name__}: "
            f"{err})"
        ) from err
    return nnx.merge(graphdef, state), manifest
