"""Exports converted from official checkpoints: where they came from, and the cache.

`python -m pipelines.convert KIND SRC OUT` writes a project export whose manifest
records its origin under "source":

    {"kind": "jde", "file": "/abs/jde.1088x608.uncertainty.pt", "sha256": "...",
     "converted_by": "python -m pipelines.convert jde ..."}

A loader handed an official file instead of an export (`--jde-checkpoint x.pt`) converts
it once and keeps the export in the cache, keyed by the file's content:

    $JAXMOT_CACHE/converted/<sha256[:16]>-<kind>/     ($JAXMOT_CACHE unset:
    ~/.cache/jaxmot/converted/<sha256[:16]>-<kind>/)   ~/.cache/jaxmot)

so the next run loads the export directly. The cache entry is written atomically (the
export functions stage and swap the folder), so an interrupted conversion leaves none.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

from jaxmot.core.torch_io import StateDictMismatchError, read_state_dict, torch_load

# Official weights come as torch pickles, safetensors or npz; an export is a folder.
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".tar", ".safetensors", ".npz")
_HASH_CHUNK = 1 << 20
_PREFIX = 16  # hex digits of the sha256 in a cache folder's name: 64 bits, no collisions


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def source_record(
    kind: str, path: str | os.PathLike, converted_by: str, sha256: str | None = None
) -> dict[str, str]:
    """The manifest's "source" entry for an export converted from `path`."""
    path = pathlib.Path(path).resolve()
    return {
        "kind": kind,
        "file": str(path),
        "sha256": sha256 or sha256_of(path),
        "converted_by": converted_by,
    }


def read_official(path: str | os.PathLike) -> Mapping:
    """An official checkpoint file as the mapping `torch.load` gives (weights_only=True:
    tensors and containers only) or, for .npz / .safetensors, {key: array}.

    Raises:
      FileNotFoundError: no such file.
      ImportError: a torch file and torch not installed (the `torch` extra).
      ValueError: the file does not read as a checkpoint (corrupt, a pickled module or
        other objects weights_only refuses, not a mapping); the message names it.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        what = "a folder, not a checkpoint file" if path.is_dir() else "not found"
        raise FileNotFoundError(f"checkpoint {what}: {path}")
    try:
        if path.suffix.lower() in (".pt", ".pth", ".tar"):
            raw = torch_load(path)
        else:
            raw = read_state_dict(path)
    except (ImportError, FileNotFoundError):
        raise
    except Exception as err:  # torch and zipfile raise many kinds on a bad file
        first = (str(err).strip().splitlines() or [""])[0]
        raise ValueError(
            f"cannot read {path} as a checkpoint ({type(err).__name__}: {first})"
        ) from err
    if not isinstance(raw, Mapping):
        raise ValueError(f"{path}: expected a (wrapped) state dict, got {type(raw).__name__}")
    return raw


def named_mismatch(err: StateDictMismatchError, path: str | os.PathLike) -> StateDictMismatchError:
    """`err` (raised on a loaded mapping: "state dict does not fit ...") naming the file."""
    message = str(err)
    if message.startswith("state dict "):
        message = f"{path} " + message.removeprefix("state dict ")
    return StateDictMismatchError(message)


def is_checkpoint_file(path: str | os.PathLike) -> bool:
    """True for an existing file with an official checkpoint's suffix (not an export)."""
    path = pathlib.Path(path)
    return path.is_file() and path.suffix.lower() in CHECKPOINT_SUFFIXES


def cache_root() -> pathlib.Path:
    """Where converted exports are kept: $JAXMOT_CACHE/converted, else
    ~/.cache/jaxmot/converted."""
    base = os.environ.get("JAXMOT_CACHE")
    root = pathlib.Path(base) if base else pathlib.Path.home() / ".cache" / "jaxmot"
    return root / "converted"


def _cached_sha(directory: pathlib.Path) -> str | None:
    try:
        manifest = json.loads((directory / "model.json").read_text())
    except (OSError, ValueError):
        return None
    source = manifest.get("source") if isinstance(manifest, dict) else None
    return source.get("sha256") if isinstance(source, dict) else None


def converted_export(
    path: str | os.PathLike,
    kind: str,
    convert: Callable[[pathlib.Path, pathlib.Path, dict[str, Any]], None],
    *,
    log=None,
) -> pathlib.Path:
    """The cached export of the official checkpoint `path`, converting it on first use.

    Args:
      path: the official file (.pt/.pth/...).
      kind: names the conversion in the cache folder and the source record ("jde").
      convert: (file, export directory, source record) -> None; writes the export with
        the record in its manifest (raises on a file that does not fit).
      log: where the conversion is announced (default: sys.stderr).

    Returns:
      the export directory, ready for the system's loader.
    """
    path = pathlib.Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    log = sys.stderr if log is None else log
    sha = sha256_of(path)
    directory = cache_root() / f"{sha[:_PREFIX]}-{kind}"
    if _cached_sha(directory) == sha:
        return directory
    print(f"converting {path} ({kind}) to a jaxmot export ...", file=log, flush=True)
    record = source_record(kind, path, f"converted on load from {path}", sha)
    directory.parent.mkdir(parents=True, exist_ok=True)
    convert(path, directory, record)
    print(f"cached the converted export at {directory}", file=log, flush=True)
    return directory


__all__ = [
    "CHECKPOINT_SUFFIXES",
    "cache_root",
    "converted_export",
    "is_checkpoint_file",
    "named_mismatch",
    "read_official",
    "sha256_of",
    "source_record",
]
