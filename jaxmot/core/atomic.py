"""Atomic file writes: a reader never sees a half-written file.

Every writer in jaxmot goes through here. Data goes to a temporary file in the target's
own directory (so the final `os.replace` is a same-filesystem rename, which POSIX and
Windows make atomic) and replaces the target only once everything was written and
flushed. If anything fails, the temporary file is removed and the old target, if any,
is left untouched.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import pathlib
import tempfile
from collections.abc import Iterator
from typing import IO, Any

# mkstemp creates files with mode 0600; a results file should get the permissions a
# plain open() would give it. Read the umask once, at import (single-threaded), since
# reading it means setting it.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **open_kwargs: Any) -> Iterator[IO]:
    """Open `path` for writing so that it is replaced atomically when the block exits.

    Args:
      path: the file to (re)write; missing parent directories are created.
      mode: "w" / "wt" (text, UTF-8 unless `encoding` is given) or "wb" (binary).
      **open_kwargs: passed to `open` (e.g. `newline`, `encoding`).

    Yields:
      A file object writing to a temporary file next to `path`. On a clean exit it is
      flushed, fsynced and renamed over `path`; on an exception it is deleted and the
      exception propagates.
    """
    if mode not in ("w", "wt", "wb"):
        raise ValueError(f"atomic_open supports modes 'w', 'wt' and 'wb', got {mode!r}")
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")

    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # Keep an existing file's permissions; otherwise use what open() would have used.
        try:
            perms = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            perms = 0o666 & ~_UMASK
        os.chmod(tmp_name, perms)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `path` atomically (see `atomic_open`)."""
    with atomic_open(path, "w", encoding=encoding) as f:
        f.write(text)


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float (NaN, inf; Python or NumPy) replaced by None,
    NumPy scalars and arrays made plain, and dict keys made strings: strict JSON has no
    NaN, and an undefined metric (e.g. MOTP with no match) is better read as null."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def atomic_write_json(
    path: str | os.PathLike, value: Any, *, sort_keys: bool = False, default=None
) -> None:
    """Write `value` as indented, strict JSON (`json_safe`: NaN/inf become null) with a
    final newline, atomically (see `atomic_open`)."""
    text = json.dumps(json_safe(value), indent=2, sort_keys=sort_keys, default=default,
                      allow_nan=False)  # fmt: skip
    atomic_write_text(path, text + "\n")
