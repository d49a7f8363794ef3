"""The loop's input threads, bfloat16 compute and evaluation during training
(jaxmot.train.input, jaxmot.train.precision, `train(..., evaluator=)`), on the tiny task."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import pathlib
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxmot.train import Checkpoints, read_records, restore_model, train
from jaxmot.train.experiment import final_model
from jaxmot.train.input import DeviceBatches, host_batches
from jaxmot.train.loop import Evaluator
from jaxmot.train.mesh import make_data_mesh
from jaxmot.train.precision import as_float32, compute_graphdef

SCRIPTS = pathlib.Path(__file__).parent / "train_scripts"
_spec = importlib.util.spec_from_file_location("tiny_task", SCRIPTS / "tiny_task.py")
tiny_task = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_task)
TinyTask, flat_state = tiny_task.TinyTask, tiny_task.flat_state

BASE = tiny_task.tiny_config(
    steps=6, batch_size=8, log_every=1, checkpoint_every=3, keep_checkpoints=2
)


def _strip(records):
    return [{k: v for k, v in r.items() if k not in ("examples_per_sec", "data_wait_s",
             "step_s", "eval_s", "time")} for r in records]  # fmt: skip


# ----------------------------------------------------------------------------- input


class _ThreadRecordingTask(TinyTask):
    """The tiny task, noting which threads built its batches."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.threads = set()

    def batch(self, step):
        self.threads.add(threading.get_ident())
        return super().batch(step)


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_host_batches_in_order_whatever_the_workers(workers):
    task = _ThreadRecordingTask(4)
    got = list(host_batches(task.batch, 5, 12, workers=workers, prefetch=2))
    want = [TinyTask(4).batch(step) for step in range(5, 12)]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g["x"], w["x"])
    on_main = task.threads == {threading.get_ident()}
    assert on_main == (workers == 0)


def test_device_batches_shard_check_and_count_wait():
    mesh = make_data_mesh()
    checked = []
    stream = DeviceBatches(
        TinyTask(4).batch, 2, 5, mesh, workers=2, check=lambda b, s: checked.append(s)
    )
    steps = [step for step, batch in stream]
    assert steps == [2, 3, 4] and checked == [2, 3, 4]
    assert stream.wait_s > 0
    _, batch = next(iter(DeviceBatches(TinyTask(4).batch, 0, 1, mesh)))
    assert isinstance(batch["x"], jax.Array) and batch["x"].shape == (4, tiny_task.IN_DIM)
    with pytest.raises(ValueError, match="workers and prefetch must be >= 0"):
        host_batches(TinyTask(4).batch, 0, 1, workers=-1)


def test_a_failing_batch_on_a_worker_is_raised_in_the_loop(tmp_path):
    class Broken(TinyTask):
        def batch(self, step):
            if step == 3:
                raise ValueError("frame 7 of seq.mp4 is unreadable")
            return super().batch(step)

    config = dataclasses.replace(BASE, data_workers=2)
    with pytest.raises(ValueError, match="frame 7 of seq.mp4 is unreadable"):
        train(Broken(8), config, tmp_path, progress=False)
    # The steps before it were trained and logged.
    assert [r["step"] for r in read_records(tmp_path / "metrics.jsonl")] == [1, 2, 3]


def test_workers_train_the_same_run_and_log_input_time(tmp_path):
    plain = train(TinyTask(8), BASE, tmp_path / "w0", progress=False)
    config = dataclasses.replace(BASE, data_workers=2, prefetch=4)
    threaded = train(TinyTask(8), config, tmp_path / "w2", progress=False)
    assert _strip(threaded.history) == _strip(plain.history)
    for name, value in flat_state(plain.model).items():
        np.testing.assert_array_equal(flat_state(threaded.model)[name], value, err_msg=name)
    for record in read_records(tmp_path / "w2/metrics.jsonl"):
        assert record["data_wait_s"] >= 0 and record["step_s"] >= 0
        assert "interval_s" not in record


# ----------------------------------------------------------------------------- bfloat16


def test_bfloat16_graph_computes_matmuls_in_bfloat16():
    task = TinyTask(8)
    model = task.init_model(nnx.Rngs(0))
    model.eval()  # no dropout
    graphdef, state = nnx.split(model)
    assert compute_graphdef(graphdef, state, "float32") is graphdef
    bf16 = compute_graphdef(graphdef, state, "bfloat16")
    x = task.batch(0)["x"]

    def forward(state):
        return nnx.merge(bf16, state)(x)

    dots = [
        [v.aval.dtype for v in eqn.invars]
        for eqn in jax.make_jaxpr(forward)(state).eqns
        if eqn.primitive.name == "dot_general"
    ]
    assert dots and all(d == [jnp.bfloat16, jnp.bfloat16] for d in dots)
    assert forward(state).dtype == jnp.bfloat16
    assert as_float32({"a": forward(state), "n": jnp.arange(3)})["a"].dtype == jnp.float32
    assert as_float32({"n": jnp.arange(3)})["n"].dtype == jnp.int32
    # The model itself (and so checkpoints and exports) is unchanged: float32.
    assert all(v.dtype == jnp.float32 for v in jax.tree.leaves(nnx.state(model, nnx.Param)))


def test_bfloat16_training_is_close_to_float32(tmp_path):
    f32 = train(TinyTask(8), BASE, tmp_path / "f32", progress=False)
    config = dataclasses.replace(BASE, compute_dtype="bfloat16")
    bf16 = train(TinyTask(8), config, tmp_path / "bf16", progress=False)
    loss32 = np.array([r["loss"] for r in f32.history])
    loss16 = np.array([r["loss"] for r in bf16.history])
    assert np.isfinite(loss16).all()
    # bfloat16 keeps 8 bits of mantissa: relative error ~4e-3 per op.
    np.testing.assert_allclose(loss16, loss32, rtol=0.05)
    assert not np.array_equal(loss16, loss32)  # it did compute in bfloat16
    params = jax.tree.leaves(nnx.state(bf16.model, nnx.Param))
    assert all(p.dtype == jnp.float32 for p in params)


def test_bad_compute_dtype_names_the_key():
    with pytest.raises(ValueError, match="compute_dtype must be one of"):
        dataclasses.replace(BASE, compute_dtype="float16")


# ----------------------------------------------------------------------------- evaluation


VALIDATION = TinyTask(64, seed=1).batch(10_000)


def _validation_mse(model) -> dict[str, float]:
    err = np.asarray(model(VALIDATION["x"])) - VALIDATION["y"]
    return {"mse": float(np.mean(err**2)), "neg_mse": -float(np.mean(err**2))}


EVALUATOR = Evaluator(_validation_mse, metric="neg_mse")


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("evaluated")
    config = dataclasses.replace(BASE, steps=7, eval_every=2, export_weights="best")
    return workdir, config, train(TinyTask(8), config, workdir, progress=False, evaluator=EVALUATOR)


def test_evaluation_rows_and_best_checkpoint(evaluated_run):
    workdir, _, result = evaluated_run
    records = read_records(workdir / "metrics.jsonl")
    assert records == result.history
    evals = [r for r in records if "eval" in r]
    assert [r["step"] for r in evals] == [2, 4, 6, 7]  # every 2 steps and the last
    assert all(set(r["eval"]) == {"mse", "neg_mse"} and r["eval_s"] >= 0 for r in evals)
    assert [r["step"] for r in records if "loss" in r] == list(range(1, 8))

    best_step = max(evals, key=lambda r: r["eval"]["neg_mse"])["step"]
    assert result.best_step == best_step
    assert Checkpoints(workdir / "best", read_only=True).steps() == [best_step]
    # The best model is the one evaluated at that step.
    want = next(r for r in evals if r["step"] == best_step)["eval"]
    assert _validation_mse(result.best_model)["mse"] == pytest.approx(want["mse"], rel=1e-6)
    restored = restore_model(TinyTask(8), workdir / "best")
    np.testing.assert_array_equal(restored(VALIDATION["x"]), result.best_model(VALIDATION["x"]))
    model, weights = final_model(result, "best")
    assert weights == "best" and model is result.best_model
    assert final_model(result, "last") == (result.model, "last")


def test_a_finished_run_keeps_its_best(evaluated_run):
    workdir, config, first = evaluated_run
    again = train(TinyTask(8), config, workdir, progress=False, evaluator=EVALUATOR)
    assert again.best_step == first.best_step
    x = VALIDATION["x"]
    np.testing.assert_array_equal(again.best_model(x), first.best_model(x))


def test_lower_is_better_metric(tmp_path):
    config = dataclasses.replace(BASE, steps=4, eval_every=1, best_metric="-mse")
    result = train(TinyTask(8), config, tmp_path, progress=False, evaluator=EVALUATOR)
    evals = [r for r in result.history if "eval" in r]
    assert result.best_step == min(evals, key=lambda r: r["eval"]["mse"])["step"]


def test_evaluation_settings_errors(tmp_path):
    with pytest.raises(ValueError, match="export_weights=best needs evaluations"):
        train(TinyTask(8), dataclasses.replace(BASE, export_weights="best"), tmp_path)
    config = dataclasses.replace(BASE, eval_every=2, best_metric="rank1")
    with pytest.raises(ValueError, match=r"best_metric='rank1' is not a metric .*'mse'"):
        train(TinyTask(8), config, tmp_path / "r", progress=False, evaluator=EVALUATOR)
    with pytest.warns(UserWarning, match="no evaluator"):
        train(TinyTask(8), dataclasses.replace(BASE, steps=1, eval_every=2), tmp_path / "n",
              progress=False)  # fmt: skip
    assert math.isfinite(read_records(tmp_path / "n/metrics.jsonl")[0]["loss"])
