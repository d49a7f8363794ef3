"""Tune the ReID trackers' appearance gate for an extractor on held-out synthetic scenes.

  python -m pipelines.tune_gate --extractor histogram
  python -m pipelines.tune_gate --extractor reid [--checkpoint checkpoints/NAME] --write

Runs the `longterm` tracker on `--scenes` validation scenes (demo-shaped, seeds of their
own: never the demo's, never the ReID model's training or test scenes) for every gate
of a grid and prints IDF1 per gate (jaxmot.mot.calibration). With `--write`, the
chosen gate is stored in the exported model's manifest (model.json), where
`ReIDExtractor.from_checkpoint` and every pipeline pick it up.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys

from jaxmot.core.atomic import atomic_write_json
from jaxmot.core.registry import EXTRACTORS, make_extractor
from jaxmot.core.runtime import prefer_synchronous_cpu_dispatch
from jaxmot.core.synthetic import SceneConfig
from jaxmot.mot.calibration import DEFAULT_GATES, tune_appearance_gate
from jaxmot.reid.checkpoint import DEFAULT_CHECKPOINT
from jaxmot.train.export import command_line, update_manifest


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extractor", choices=EXTRACTORS, default="reid")
    parser.add_argument(
        "--checkpoint",
        type=pathlib.Path,
        default=DEFAULT_CHECKPOINT,
        help="exported ReID model (--extractor reid)",
    )
    parser.add_argument("--scenes", type=int, default=6, help="validation scenes")
    parser.add_argument("--seed", type=int, default=0, help="seed of the validation stream")
    parser.add_argument(
        "--frames", type=int, default=SceneConfig.num_frames, help="frames per validation scene"
    )
    parser.add_argument("--gates", type=float, nargs="+", default=list(DEFAULT_GATES))
    parser.add_argument(
        "--write", action="store_true", help="store the chosen gate in the checkpoint's model.json"
    )
    parser.add_argument("--json", type=pathlib.Path, help="write the table here as JSON")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.write and args.extractor != "reid":
        parser.error("--write stores the gate in a ReID checkpoint: use it with --extractor reid")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    prefer_synchronous_cpu_dispatch()
    extractor = make_extractor(args.extractor, args.checkpoint)
    scene = dataclasses.replace(SceneConfig(), num_frames=args.frames)
    tuning = tune_appearance_gate(
        extractor,
        args.scenes,
        args.gates,
        seed=args.seed,
        scene=scene,
        progress=not args.no_progress,
    )
    print(
        f"longterm tracker, {args.extractor} features, {args.scenes} validation scenes\n"
        f"{tuning.table()}"
    )
    if args.json:
        atomic_write_json(args.json, tuning.to_json())
    if args.write:
        command = command_line("pipelines.tune_gate", argv)
        update_manifest(args.checkpoint, appearance_gate={**tuning.to_json(), "command": command})
        print(f"gate {tuning.gate:.2f} -> {args.checkpoint / 'model.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
