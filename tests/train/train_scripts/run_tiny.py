"""Train the tiny task in a fresh process (tests run this to control devices and kills).

    python tests/train/train_scripts/run_tiny.py --workdir W [--steps N] [--set K=V ...]
        [--step-sleep S] [--hang-in-save STEP] [--check-indivisible]
        [--distributed --coordinator HOST:PORT --num-processes N --process-id I]

Prints the device count and the batch sharding, writes W/final_state.npz at the end.
--hang-in-save STEP makes orbax stop inside the save of STEP, after its files are written
to the temporary directory and before the rename that finalizes them, and touches
W/in_save_STEP, so a test can kill the process mid-save.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import time

import jax
import numpy as np

from jaxmot.train import apply_args, train
from jaxmot.train.config import add_config_args
from jaxmot.train.mesh import make_data_mesh, shard_batch

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from tiny_task import TinyTask, flat_state, tiny_config  # noqa: E402

BASE = tiny_config(steps=60, batch_size=16, log_every=1, checkpoint_every=10, keep_checkpoints=3)


def hang_in_save(step: int, workdir: pathlib.Path) -> None:
    from orbax.checkpoint._src.path import atomicity

    original = atomicity.AtomicRenameTemporaryPath.finalize

    async def finalize(self):
        if self._final_path.name == str(step):
            (workdir / f"in_save_{step}").touch()
            time.sleep(120)
        await original(self)

    atomicity.AtomicRenameTemporaryPath.finalize = finalize


def main() -> None:
    parser = argparse.ArgumentParser()
    add_config_args(parser)
    parser.add_argument("--step-sleep", type=float, default=0.0)
    parser.add_argument("--hang-in-save", type=int, default=None)
    parser.add_argument("--check-indivisible", action="store_true")
    args = parser.parse_args()
    config = apply_args(BASE, args)
    workdir = pathlib.Path(args.workdir)
    task = TinyTask(config.batch_size, step_sleep=args.step_sleep)

    print("devices", len(jax.devices()), flush=True)
    x = shard_batch(task.batch(0), make_data_mesh())["x"]
    print("batch_sharding", x.sharding.spec, len(x.addressable_shards), flush=True)
    if args.check_indivisible:
        try:
            bad = dataclasses.replace(config, batch_size=len(jax.devices()) + 2)
            train(TinyTask(bad.batch_size), bad, workdir / "indivisible", progress=False)
        except ValueError as e:
            print("indivisible_error", e, flush=True)
    if args.hang_in_save is not None:
        hang_in_save(args.hang_in_save, workdir)

    result = train(task, config, workdir, progress=False)
    if jax.process_index() == 0:
        np.savez(workdir / "final_state.npz", **flat_state(result.model))
    print(
        "done", result.step, "process", jax.process_index(), "of", jax.process_count(), flush=True
    )


if __name__ == "__main__":
    main()
