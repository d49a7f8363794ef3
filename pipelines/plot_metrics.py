"""Draw a training run's curves: loss, learning rate, examples/s and evaluation metrics.

  python -m pipelines.plot_metrics runs/gnn                  # -> runs/gnn/metrics.png
  python -m pipelines.plot_metrics runs/gnn --out gnn.png

Reads WORKDIR/metrics.jsonl (what every training program writes) and draws one panel per
logged quantity (jaxmot.train.plots).
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from jaxmot.train.metrics_log import read_records
from jaxmot.train.plots import plot_metrics

METRICS_FILE = "metrics.jsonl"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=pathlib.Path, help="a training run's folder")
    parser.add_argument("--out", type=pathlib.Path, help="the PNG (default: WORKDIR/metrics.png)")
    args = parser.parse_args(argv)
    path = args.workdir / METRICS_FILE
    out = args.out or args.workdir / "metrics.png"
    try:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: not found (is {args.workdir} a training run?)")
        panels = plot_metrics(read_records(path), out, title=str(args.workdir))
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{len(panels)} panels ({', '.join(panels)}) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
