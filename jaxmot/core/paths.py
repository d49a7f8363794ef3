"""Where shipped checkpoints and datasets are found, in a checkout and after `pip install`.

Shipped checkpoints (`checkpoints/` in the repository) are installed with the package as
`jaxmot.checkpoints` (pyproject.toml maps that package to the folder); a source checkout
or an editable install, where no such package folder exists, uses `checkpoints/` next to
`jaxmot/`. Either way the lookup does not depend on the working directory.

Datasets are never shipped: presets name them relative to the data root, the folder in
`$JAXMOT_DATA` (default `data/` in the working directory); docs/datasets.md says how to
lay each one out.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib

_SOURCE_CHECKPOINTS = pathlib.Path(__file__).resolve().parents[2] / "checkpoints"


def checkpoints_dir() -> pathlib.Path:
    """The folder holding the shipped checkpoints (one subfolder per model)."""
    spec = importlib.util.find_spec("jaxmot.checkpoints")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if pathlib.Path(location).is_dir():
                return pathlib.Path(location)
    return _SOURCE_CHECKPOINTS


def shipped_checkpoint(name: str) -> pathlib.Path:
    """The shipped checkpoint folder `name`, e.g. 'gnn_mot17_sim' (need not exist)."""
    return checkpoints_dir() / name


def data_root() -> pathlib.Path:
    """The datasets' root folder: $JAXMOT_DATA, else ./data."""
    return pathlib.Path(os.environ.get("JAXMOT_DATA", "data"))


def data_path(relative: str) -> str:
    """A dataset path under the data root, as the string presets store."""
    return str(data_root() / relative)


def rerooted(recorded: str | os.PathLike) -> pathlib.Path:
    """A dataset path recorded by another machine, found on this one.

    A checkpoint's model.json records the data folder its training read (e.g.
    'data/mot17_gt/train', or an absolute path elsewhere). Where that path does not exist
    here, the part after its last 'data' folder is looked up under the data root; the
    recorded path is returned unchanged when neither exists (the caller's error names it).
    """
    path = pathlib.Path(recorded)
    if path.exists() or "data" not in path.parts[:-1]:
        return path
    last = len(path.parts) - 1 - path.parts[::-1].index("data")
    candidate = data_root().joinpath(*path.parts[last + 1 :])
    return candidate if candidate.exists() else path


__all__ = ["checkpoints_dir", "data_path", "data_root", "rerooted", "shipped_checkpoint"]
