"""Training checkpoints: orbax, synchronous, keep-last-N, one directory per step.

Layout: `<directory>/<step>/{state,opt_state,meta}`: the model's full nnx state (params,
BatchNorm statistics, ...), the optax state, and JSON metadata (step, data position, seed,
config). Saving is synchronous and orbax writes into `<step>.orbax-checkpoint-tmp-*`
before renaming it to `<step>`, so a process killed mid-save leaves only a temporary
directory, which orbax never lists as a step (and deletes, in a background thread, when
the next run opens the directory). A finalized checkpoint that later fails to load
(truncated files, a bad copy) is skipped with a warning: the next older one is used and
the bad one renamed to `<step>.corrupt` (see `Checkpoints.restore_latest`).
"""

from __future__ import annotations

import os
import pathlib
import warnings
from typing import Any

import jax
import orbax.checkpoint as ocp
from jax.experimental import multihost_utils

_ITEMS = ("state", "opt_state", "meta")
FORMAT_VERSION = 1


class Checkpoints:
    """The checkpoints of one run (a thin layer over `ocp.CheckpointManager`).

    Args:
      directory: where step directories live (created if missing unless read_only).
      keep: keep only the newest `keep` checkpoints (None: all).
      read_only: never write or delete (restoring shipped checkpoints).
    """

    def __init__(
        self, directory: str | os.PathLike, keep: int | None = None, read_only: bool = False
    ):
        self.directory = pathlib.Path(directory).absolute()
        options = ocp.CheckpointManagerOptions(
            # Synchronous: when save() returns the checkpoint is final, and no background
            # thread can be killed half-way through a rename.
            enable_async_checkpointing=False,
            preservation_policy=ocp.checkpoint_managers.LatestN(keep),
            cleanup_tmp_directories=not read_only,
            create=not read_only,
            read_only=read_only,
        )
        self._read_only = read_only
        self._manager = ocp.CheckpointManager(
            self.directory,
            item_names=_ITEMS,
            item_handlers={
                "state": ocp.StandardCheckpointHandler(),
                "opt_state": ocp.StandardCheckpointHandler(),
                "meta": ocp.JsonCheckpointHandler(),
            },
            options=options,
        )

    def steps(self) -> list[int]:
        """Steps with a finalized checkpoint, ascending."""
        return sorted(self._manager.all_steps())

    def latest_step(self) -> int | None:
        steps = self.steps()
        return steps[-1] if steps else None

    def save(self, step: int, state: Any, opt_state: Any, meta: dict[str, Any]) -> None:
        """Write checkpoint `step` and return once it is final; drops the oldest beyond `keep`.

        Args:
          state: the model's nnx.State (all variables, not only params).
          opt_state: the optax state (None: a model-only checkpoint, e.g. the best one).
          meta: JSON-serialisable metadata (the loop stores step, data position, seed and
            config).
        """
        items = {
            "state": ocp.args.StandardSave(state),
            "meta": ocp.args.JsonSave({"format": FORMAT_VERSION, **meta}),
        }
        if opt_state is not None:
            items["opt_state"] = ocp.args.StandardSave(opt_state)
        args = ocp.args.Composite(**items)
        # force: our loop decides when to save; orbax's own interval logic stays out of it.
        self._manager.save(step, args=args, force=True)
        self._manager.wait_until_finished()

    def restore(
        self, step: int, abstract_state: Any, abstract_opt_state: Any | None = None
    ) -> tuple[Any, Any | None, dict[str, Any]]:
        """Load checkpoint `step` into the structure, dtypes and shardings of the templates.

        Args:
          abstract_state: the model state as `jax.ShapeDtypeStruct`s (with `sharding`), e.g.
            from `nnx.eval_shape`.
          abstract_opt_state: the same for the optax state; None to skip it (inference).

        Returns:
          (state, opt_state or None, meta).
        """
        items = {
            "state": ocp.args.StandardRestore(abstract_state),
            "meta": ocp.args.JsonRestore(),
        }
        if abstract_opt_state is not None:
            items["opt_state"] = ocp.args.StandardRestore(abstract_opt_state)
        restored = self._manager.restore(step, args=ocp.args.Composite(**items))
        opt_state = restored["opt_state"] if abstract_opt_state is not None else None
        return restored["state"], opt_state, dict(restored["meta"])

    def meta(self, step: int) -> dict[str, Any]:
        """The JSON metadata of checkpoint `step` alone."""
        restored = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
        return dict(restored["meta"])

    def restore_latest(
        self, abstract_state: Any, abstract_opt_state: Any | None = None
    ) -> tuple[int, Any, Any | None, dict[str, Any]] | None:
        """`restore` the newest checkpoint that loads; None when there is none.

        A checkpoint that fails to load while an older one loads is skipped with a warning
        naming it and the error; unless read-only it is renamed to `<step>.corrupt` so that
        the run can write that step again. If none loads (typically: the model changed
        since they were written) nothing is renamed and RuntimeError says why.
        """
        failures = []
        for step in reversed(self.steps()):
            try:
                restored = self.restore(step, abstract_state, abstract_opt_state)
            except Exception as e:  # orbax/tensorstore raise many kinds for damaged files
                failures.append((self.directory / str(step), f"{type(e).__name__}: {e}"))
                continue
            for path, error in failures:
                warnings.warn(
                    f"checkpoint {path} could not be loaded, using step {step} instead"
                    f" ({error[:300]})",
                    stacklevel=2,
                )
                self._set_aside(path)
            return (step, *restored)
        if failures:
            path, error = failures[0]
            raise RuntimeError(
                f"none of the {len(failures)} checkpoints in {self.directory} could be loaded;"
                f" the newest, {path}, failed with: {error[:1000]}. If the model or optimizer"
                " changed, train in a new workdir."
            )
        return None

    def _set_aside(self, path: pathlib.Path) -> None:
        if self._read_only:
            return
        if jax.process_index() == 0 and path.exists():
            target = path.with_name(path.name + ".corrupt")
            n = 1
            while target.exists():
                n += 1
                target = path.with_name(f"{path.name}.corrupt{n}")
            path.rename(target)
        if jax.process_count() > 1:
            multihost_utils.sync_global_devices(f"jaxmot_set_aside_{path.name}")
        self._manager.reload()

    def close(self) -> None:
        self._manager.close()

    def __enter__(self) -> Checkpoints:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


BEST_DIR = "best"


class BestCheckpoint:
    """WORKDIR/best/: the one model state with the best evaluation so far.

    Args:
      directory: the folder (created at the first save).
      metric: the metric of the evaluations that decides, higher is better; a leading
        "-" means lower is better. "" when there are no evaluations.

    Resuming reads the kept checkpoint's value from its metadata, so a run killed and
    restarted keeps the same best state; a tie keeps the earlier step.
    """

    def __init__(self, directory: str | os.PathLike, metric: str):
        self.directory = pathlib.Path(directory)
        self.metric, self.sign = (metric[1:], -1.0) if metric.startswith("-") else (metric, 1.0)
        self._checkpoints: Checkpoints | None = None
        self.step: int | None = None
        self.value: float | None = None
        if self.directory.is_dir():
            self._checkpoints = Checkpoints(self.directory, keep=1)
            self.step = self._checkpoints.latest_step()
            if self.step is not None:
                self.value = self._checkpoints.meta(self.step).get("best_value")

    def offer(self, step: int, state: Any, scores: dict[str, float], meta: dict[str, Any]) -> bool:
        """Keep `state` (a model state) if `scores[metric]` beats the kept one; True if kept.

        Raises:
          ValueError: the evaluation has no `metric`.
        """
        if self.metric not in scores:
            raise ValueError(
                f"train.best_metric={self.metric!r} is not a metric of the evaluation"
                f" (it reports {sorted(scores)})"
            )
        value = self.sign * scores[self.metric]
        if value != value or (self.value is not None and value <= self.value):  # NaN: never
            return False
        if self._checkpoints is None:
            self._checkpoints = Checkpoints(self.directory, keep=1)
        record = {"step": step, "best_metric": self.metric, "best_value": value, "eval": scores}
        self._checkpoints.save(step, state, None, {**meta, **record})
        self.step, self.value = step, value
        return True

    def restore(self, abstract_state: Any) -> tuple[int, Any] | None:
        """(step, state) of the kept checkpoint; None when there is none."""
        if self._checkpoints is None or self.step is None:
            return None
        return self.step, self._checkpoints.restore(self.step, abstract_state)[0]

    def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.close()

    def __enter__(self) -> BestCheckpoint:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
