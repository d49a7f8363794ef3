"""The `jaxmot` command: `jaxmot PROGRAM ARGS` runs `python -m pipelines.PROGRAM ARGS`.

    jaxmot                     # the list of programs, one line each
    jaxmot demo --frames 40    # = python -m pipelines.demo --frames 40
    python -m jaxmot track ... # the same without the console script

A program is a module of the `pipelines` package with a `__main__` block; the list is
read from the installed package (source text only, so listing imports nothing heavy).
"""

from __future__ import annotations

import ast
import difflib
import importlib.resources
import runpy
import sys

PACKAGE = "pipelines"
_MAIN_GUARDS = ('__name__ == "__main__"', "__name__ == '__main__'")


def programs() -> dict[str, str]:
    """Program name -> the first line of its docstring, sorted by name."""
    found = {}
    for entry in importlib.resources.files(PACKAGE).iterdir():
        name = entry.name
        if not name.endswith(".py") or name.startswith("_"):
            continue
        source = entry.read_text(encoding="utf-8")
        if not any(guard in source for guard in _MAIN_GUARDS):
            continue  # a helper module, not a program
        doc = ast.get_docstring(ast.parse(source)) or ""
        found[name[: -len(".py")]] = (doc.strip().splitlines() or [""])[0]
    return dict(sorted(found.items()))


def usage() -> str:
    listing = programs()
    width = max(map(len, listing), default=0)
    lines = [
        "usage: jaxmot PROGRAM [ARGS...]   (runs python -m pipelines.PROGRAM ARGS...)",
        "       jaxmot PROGRAM --help      (that program's flags)",
        "",
        "programs:",
    ]
    lines += [f"  {name:<{width}}  {summary}" for name, summary in listing.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the program named by `argv[0]` with the rest of `argv` (default: sys.argv[1:]).

    Returns 0 after listing the programs, 2 for an unknown program; a program's own exit
    status leaves through SystemExit, as with `python -m`.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    known = programs()
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        print(
            f"jaxmot: unknown program {name!r}{hint}; `jaxmot --help` lists them",
            file=sys.stderr,
        )
        return 2
    saved = sys.argv
    # runpy sets sys.argv[0] to the module's file, exactly as `python -m` does.
    sys.argv = [name, *rest]
    try:
        runpy.run_module(f"{PACKAGE}.{name}", run_name="__main__", alter_sys=True)
    finally:
        sys.argv = saved
    return 0


__all__ = ["main", "programs", "usage"]
