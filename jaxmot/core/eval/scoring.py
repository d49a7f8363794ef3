"""Score results files and report them: what `pipelines.evaluate` (MOT) and
`pipelines.evaluate_sot` (single-object) share."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from jaxmot.core.eval.report import write_json


def add_json_arg(parser: argparse.ArgumentParser, contents: str) -> None:
    """The `--json OUT` flag both evaluation programs take; `contents` says what it holds."""
    parser.add_argument("--json", metavar="OUT", help=f"also write {contents}")


def score_and_report(
    score: Callable[[], dict[str, dict]],
    format_table: Callable[[dict[str, dict]], str],
    json_path: str | os.PathLike | None = None,
) -> int:
    """Run `score()` ({sequence | 'OVERALL': {metric: value}}), print its table and, with
    `json_path`, write the metrics there as JSON. Returns the exit status: 0, or 2 with a
    one-line error when the inputs are missing or malformed (FileNotFoundError,
    ValueError)."""
    try:
        metrics = score()
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(format_table(metrics))
    if json_path:
        write_json(json_path, metrics)
    return 0


__all__ = ["add_json_arg", "score_and_report"]
