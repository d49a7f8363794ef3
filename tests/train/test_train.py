"""The generic training stack (jaxmot.train): configs, schedules, sharding, checkpoints, resume.

Runs that need their own device count or get killed run tests/train/train_scripts/run_tiny.py in
a subprocess (JAX reads XLA_FLAGS once, at start). They share a persistent compilation
cache so each compiles the tiny model's programs only once per session.

Damage handling checked here: a torn last line of metrics.jsonl is dropped with a warning;
any other malformed line is a ValueError naming file and line; an uncommitted (temporary)
checkpoint directory is ignored and removed; a finalized checkpoint that fails to load is
skipped with a warning (renamed `<step>.corrupt`) and the next older one is used; when
none loads (e.g. the model changed) it is a RuntimeError and nothing is renamed.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib.util
import json
import math
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import types
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jaxmot.core.compiles import CompileCounter
from jaxmot.train import (
    Checkpoints,
    OptimizerConfig,
    TrainConfig,
    add_config_args,
    apply_args,
    apply_overrides,
    make_optimizer,
    make_schedule,
    read_records,
    restore_model,
    train,
)
from jaxmot.train.ema import ema_params, params_ema
from jaxmot.train.mesh import check_batch_size, make_data_mesh, replicate, shard_batch
from jaxmot.train.metrics_log import TIMING_FIELDS, MetricsWriter, truncate_records
from jaxmot.train.step import make_train_step

SCRIPTS = pathlib.Path(__file__).parent / "train_scripts"
RUN_TINY = SCRIPTS / "run_tiny.py"
TOTAL_STEPS = 60  # run_tiny.py's default config: checkpoint every 10, log every step

_spec = importlib.util.spec_from_file_location("tiny_task", SCRIPTS / "tiny_task.py")
tiny_task = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_task)
TinyTask, flat_state = tiny_task.TinyTask, tiny_task.flat_state


# ----------------------------------------------------------------------------- subprocesses


@pytest.fixture(scope="session")
def compile_cache(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("jax_cache")


def _env(cache: pathlib.Path, devices: int = 1) -> dict[str, str]:
    env = dict(os.environ)
    env["JAX_PLATFORMS"] = "cpu"
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_COMPILATION_CACHE_DIR"] = str(cache)
    env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _popen(workdir: pathlib.Path, cache: pathlib.Path, *args: str, devices: int = 1):
    cmd = [sys.executable, str(RUN_TINY), "--workdir", str(workdir), *args]
    return subprocess.Popen(
        cmd, env=_env(cache, devices), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _finish(proc: subprocess.Popen, timeout: float = 120) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def _losses(workdir: pathlib.Path) -> dict[int, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a torn last line while the writer is running
        records = read_records(workdir / "metrics.jsonl")
    steps = [r["step"] for r in records]
    assert len(steps) == len(set(steps)), f"steps logged twice: {steps}"
    return {r["step"]: r["loss"] for r in records}


def _kill_when(condition, proc: subprocess.Popen, timeout: float = 60) -> None:
    """SIGKILL `proc` as soon as `condition()` holds (and in any case, on failure)."""
    deadline = time.monotonic() + timeout
    try:
        while not condition():
            assert proc.poll() is None, f"run ended before the kill:\n{proc.communicate()[0]}"
            assert time.monotonic() < deadline, "timed out waiting for the run"
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def _assert_same_run(workdir: pathlib.Path, reference: pathlib.Path) -> None:
    """Exactly the same final variables and metrics.jsonl (timing fields aside)."""
    got, want = np.load(workdir / "final_state.npz"), np.load(reference / "final_state.npz")
    assert sorted(got.files) == sorted(want.files)
    for name in want.files:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)

    def strip(path):
        return [
            {k: v for k, v in r.items() if k not in TIMING_FIELDS}
            for r in read_records(path / "metrics.jsonl")
        ]

    records = strip(workdir)
    assert [r["step"] for r in records] == list(range(1, TOTAL_STEPS + 1))
    assert records == strip(reference)


class _Background:
    """A run started now and waited for when its result is needed."""

    def __init__(self, workdir: pathlib.Path, proc: subprocess.Popen):
        self.workdir, self._proc, self._done = workdir, proc, False

    def result(self) -> pathlib.Path:
        if not self._done:
            _finish(self._proc)
            self._done = True
        return self.workdir


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, compile_cache):
    """An uninterrupted 60-step run of the tiny task (running while the test that needs it
    first runs its own)."""
    workdir = tmp_path_factory.mktemp("reference")
    run = _Background(workdir, _popen(workdir, compile_cache))
    yield run
    run.result()


def test_sharded_equals_single_device(tmp_path, compile_cache):
    common = ("--steps", "5", "--set", "checkpoint_every=5")
    four = _popen(tmp_path / "four", compile_cache, *common, "--check-indivisible", devices=4)
    one = _popen(tmp_path / "one", compile_cache, *common, devices=1)
    out4, out1 = _finish(four), _finish(one)
    assert "devices 4" in out4 and "batch_sharding P('data',) 4" in out4, out4
    assert "devices 1" in out1, out1
    # batch_size=6 on 4 devices is refused before anything runs.
    assert "indivisible_error batch_size=6 does not divide by the 4 devices" in out4, out4

    loss4, loss1 = _losses(tmp_path / "four"), _losses(tmp_path / "one")
    assert sorted(loss4) == sorted(loss1) == [1, 2, 3, 4, 5]
    np.testing.assert_allclose([loss4[s] for s in loss1], list(loss1.values()), rtol=1e-5)
    s4, s1 = np.load(tmp_path / "four/final_state.npz"), np.load(tmp_path / "one/final_state.npz")
    for name in s1.files:  # params and BatchNorm statistics
        np.testing.assert_allclose(s4[name], s1[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_two_processes_train_as_one_with_four_devices(tmp_path, compile_cache):
    """`--distributed` on two local processes of two CPU devices each (JAX's gloo
    collectives): each builds only its rows of every batch (`batch_rows`), and the run
    equals one process with four devices; one metrics.jsonl and one set of checkpoints."""
    common = ("--steps", "4", "--set", "checkpoint_every=2")
    one = _popen(tmp_path / "one", compile_cache, *common, devices=4)
    port = _free_port()
    hosts = [
        _popen(
            tmp_path / "two",
            compile_cache,
            *common,
            "--distributed",
            "--coordinator",
            f"127.0.0.1:{port}",
            "--num-processes",
            "2",
            "--process-id",
            str(i),
            devices=2,
        )  # fmt: skip
        for i in range(2)
    ]
    outs = [_finish(p, timeout=300) for p in hosts]
    _finish(one, timeout=300)
    assert "devices 4" in outs[0] and "process 1 of 2" in outs[1], outs
    assert "batch_sharding P('data',) 2" in outs[1], outs[1]  # 2 of the 4 shards are local
    loss2, loss1 = _losses(tmp_path / "two"), _losses(tmp_path / "one")
    assert sorted(loss2) == [1, 2, 3, 4]
    np.testing.assert_allclose([loss2[s] for s in loss1], list(loss1.values()), rtol=1e-5)
    s2, s1 = np.load(tmp_path / "two/final_state.npz"), np.load(tmp_path / "one/final_state.npz")
    for name in s1.files:
        np.testing.assert_allclose(s2[name], s1[name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert Checkpoints(tmp_path / "two/checkpoints", read_only=True).steps() == [2, 4]


@pytest.mark.parametrize("workers", [0, 2])
def test_kill_and_resume_matches_uninterrupted(tmp_path, reference_run, compile_cache, workers):
    """Killed anywhere and resumed, a run with batches built on worker threads (queued
    ahead of the step) equals the uninterrupted single-threaded reference."""
    workdir = tmp_path / "killed"
    # slow enough to be killed in the middle
    cmd = ("--step-sleep", "0.04", "--set", f"data_workers={workers}", "--set", "prefetch=3")
    proc = _popen(workdir, compile_cache, *cmd)
    _kill_when(lambda: max(_losses(workdir), default=0) >= 25, proc)
    killed_at = max(_losses(workdir))
    assert 25 <= killed_at < TOTAL_STEPS
    last_checkpoint = Checkpoints(workdir / "checkpoints", read_only=True).latest_step()
    assert last_checkpoint is not None and last_checkpoint <= killed_at

    out = _finish(_popen(workdir, compile_cache, *cmd))  # the same command again
    assert f"Resumed from checkpoint step {last_checkpoint}" in out, out
    _assert_same_run(workdir, reference_run.result())


def test_kill_during_checkpoint_save(tmp_path, reference_run, compile_cache):
    workdir = tmp_path / "killed_in_save"
    proc = _popen(workdir, compile_cache, "--hang-in-save", "30")
    _kill_when(lambda: (workdir / "in_save_30").exists(), proc)
    checkpoint_dir = workdir / "checkpoints"
    assert list(checkpoint_dir.glob("30.orbax-checkpoint-tmp*")), "no half-written checkpoint"
    assert Checkpoints(checkpoint_dir, read_only=True).steps() == [10, 20]

    out = _finish(_popen(workdir, compile_cache))
    assert "Resumed from checkpoint step 20" in out, out
    assert not list(checkpoint_dir.glob("*tmp*"))
    _assert_same_run(workdir, reference_run.result())


# ----------------------------------------------------------------------------- in process


BASE = tiny_task.tiny_config(
    steps=6, batch_size=8, log_every=2, checkpoint_every=2, keep_checkpoints=2
)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("short")
    return workdir, train(TinyTask(BASE.batch_size), BASE, workdir, progress=False)


def test_run_outputs_and_keep_last_n(short_run):
    workdir, result = short_run
    assert result.step == 6
    assert Checkpoints(workdir / "checkpoints", read_only=True).steps() == [4, 6]
    assert json.loads((workdir / "config.json").read_text())["optimizer"]["learning_rate"] == 1e-2
    records = read_records(workdir / "metrics.jsonl")
    assert records == result.history
    assert [r["step"] for r in records] == [2, 4, 6]
    for key in ("loss", "learning_rate", "examples_per_sec", "time", "mae", "grad_norm"):
        assert all(math.isfinite(r[key]) for r in records), key
    assert records[0]["learning_rate"] == pytest.approx(1e-2)


def test_resume_when_complete_returns_at_once(short_run, capsys):
    workdir, first = short_run
    before = (workdir / "metrics.jsonl").read_text()
    again = train(TinyTask(BASE.batch_size), BASE, workdir, progress=False)
    assert "already complete at step 6" in capsys.readouterr().out
    assert again.step == 6 and again.history == first.history
    assert (workdir / "metrics.jsonl").read_text() == before
    x = TinyTask(8).batch(99)["x"]
    np.testing.assert_array_equal(again.model(x), first.model(x))


def test_restore_model_equals_trained(short_run):
    workdir, result = short_run
    x = TinyTask(8).batch(123)["x"]
    for path in (workdir, workdir / "checkpoints"):
        restored = restore_model(TinyTask(8), path)
        np.testing.assert_array_equal(restored(x), result.model(x))
    older = restore_model(TinyTask(8), workdir, step=4)
    assert not np.array_equal(older(x), result.model(x))
    with pytest.raises(FileNotFoundError, match="no checkpoint for step 2"):
        restore_model(TinyTask(8), workdir, step=2)
    with pytest.raises(FileNotFoundError, match="no checkpoint directory"):
        restore_model(TinyTask(8), workdir / "nowhere")


def test_train_step_updates_batchnorm_compiles_once_and_donates():
    task, cfg = TinyTask(8), OptimizerConfig()
    mesh = make_data_mesh()
    model = task.init_model(nnx.Rngs(0))
    model.train()
    graphdef, state = nnx.split(model)
    tx = make_optimizer(cfg, 10)
    step_fn = make_train_step(graphdef, task.loss_fn, tx, make_schedule(cfg, 10), mesh)
    opt_state = replicate(tx.init(nnx.filter_state(state, nnx.Param)), mesh)
    key = replicate(jax.random.key(0), mesh)
    h = np.asarray(model.fc1(task.batch(0)["x"]))  # BatchNorm's input on the first batch

    def run(step, state, opt_state):
        return step_fn(state, opt_state, shard_batch(task.batch(step), mesh), key, np.int32(step))

    state, opt_state, _ = run(0, replicate(state, mesh), opt_state)
    # Running statistics left the jitted step: momentum 0.9 from mean 0 / var 1 towards the
    # batch moments.
    np.testing.assert_allclose(state["bn"]["mean"][...], 0.1 * h.mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(state["bn"]["var"][...], 0.9 + 0.1 * h.var(0), rtol=1e-4, atol=1e-6)

    old_leaf = jax.tree.leaves(state)[0]
    with CompileCounter() as compiles:
        for step in range(1, 4):
            state, opt_state, metrics = run(step, state, opt_state)
        jax.block_until_ready(metrics)
    assert compiles.count == 0
    assert old_leaf.is_deleted()  # donated: updated in place
    assert sorted(metrics) == ["grad_norm", "learning_rate", "loss", "mae"]


# A failed orbax restore leaves coroutines that complain when collected; collect them here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_corrupt_checkpoint_is_skipped_with_warning(short_run, tmp_path, capsys):
    source, result = short_run
    workdir = tmp_path / "copy"
    shutil.copytree(source, workdir)
    for f in (workdir / "checkpoints/6/state").rglob("*"):
        if f.is_file():
            f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with pytest.warns(UserWarning, match=r"checkpoints/6 could not be loaded, using step 4"):
        again = train(TinyTask(BASE.batch_size), BASE, workdir, progress=False)
    assert "Resumed from checkpoint step 4" in capsys.readouterr().out
    assert (workdir / "checkpoints/6.corrupt").is_dir()
    assert Checkpoints(workdir / "checkpoints", read_only=True).steps() == [4, 6]
    for name, value in flat_state(result.model).items():
        np.testing.assert_array_equal(flat_state(again.model)[name], value, err_msg=name)
    gc.collect()


# A failed orbax restore leaves coroutines that complain when collected; collect them here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_loadable_checkpoint_is_an_error(short_run):
    workdir = short_run[0]
    with pytest.raises(RuntimeError, match=r"none of the 2 checkpoints .* could be loaded"):
        restore_model(TinyTask(8, hidden=32), workdir)  # the model changed
    assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == ["4", "6"]
    gc.collect()


def test_uncommitted_checkpoint_directory_is_ignored(short_run, tmp_path):
    workdir = tmp_path / "copy"
    shutil.copytree(short_run[0] / "checkpoints", workdir)
    partial = workdir / "8.orbax-checkpoint-tmp-1234567"
    (partial / "state").mkdir(parents=True)
    (partial / "state" / "half").write_bytes(b"\0" * 10)
    assert Checkpoints(workdir, read_only=True).steps() == [4, 6]
    Checkpoints(workdir).close()  # a writing run removes it (in a background thread)
    deadline = time.monotonic() + 10
    while partial.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not partial.exists()


def test_batch_errors(tmp_path):
    with pytest.raises(ValueError, match=r"leading axis must be the global batch_size=8"):
        train(TinyTask(4), BASE, tmp_path, progress=False)
    four_devices = types.SimpleNamespace(devices=np.empty(4))
    with pytest.raises(ValueError, match="batch_size=6 does not divide by the 4 devices"):
        check_batch_size(6, four_devices)
    check_batch_size(8, four_devices)


# ----------------------------------------------------------------------------- metrics log


def test_metrics_log_damage(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "loss": 1.0}\n{"step": 2, "loss": 0.5}\n{"step": 3, "lo')
    with pytest.warns(UserWarning, match=r"metrics.jsonl:3: dropping a torn last line"):
        assert [r["step"] for r in read_records(path)] == [1, 2]
    with pytest.warns(UserWarning):
        assert truncate_records(path, 1) == [{"step": 1, "loss": 1.0}]
    assert path.read_text() == '{"step": 1, "loss": 1.0}\n'

    path.write_text('{"step": 1}\nnot json\n{"step": 3}\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl:2: malformed metrics record"):
        read_records(path)
    assert read_records(tmp_path / "missing.jsonl") == []


def test_tensorboard_missing_warns(tmp_path, monkeypatch):
    for module in ("tensorboardX", "torch.utils.tensorboard"):
        monkeypatch.setitem(sys.modules, module, None)  # makes the import fail
    with pytest.warns(UserWarning, match="no TensorBoard writer"):
        writer = MetricsWriter(tmp_path / "m.jsonl", tensorboard_dir=tmp_path / "tb")
    writer.write({"step": 1, "loss": 0.5})
    writer.close()
    assert read_records(tmp_path / "m.jsonl") == [{"step": 1, "loss": 0.5}]


# ----------------------------------------------------------------------------- config


def test_schedules_match_hand_computation():
    lr = 0.1

    def values(total=100, **kw):
        schedule = make_schedule(OptimizerConfig(learning_rate=lr, **kw), total)
        return lambda t: float(schedule(t))

    constant = values()
    assert constant(0) == constant(99) == pytest.approx(lr)

    cosine = values(schedule="cosine")
    for t in (0, 25, 50, 99):
        assert cosine(t) == pytest.approx(lr * 0.5 * (1 + math.cos(math.pi * t / 100)), abs=1e-7)

    warm = values(schedule="warmup_cosine", warmup_steps=10)
    assert warm(0) == 0.0
    assert warm(5) == pytest.approx(0.05, rel=1e-6)
    assert warm(10) == pytest.approx(lr, rel=1e-6)
    assert warm(55) == pytest.approx(lr * 0.5 * (1 + math.cos(math.pi * 45 / 90)), rel=1e-5)

    step = values(schedule="step", decay_every=30, decay_factor=0.5)
    assert [step(t) for t in (0, 29, 30, 59, 60, 95)] == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125], rel=1e-6
    )
    warm_step = values(schedule="step", decay_every=30, decay_factor=0.5, warmup_steps=4)
    assert [warm_step(t) for t in (2, 4, 33, 34)] == pytest.approx([0.05, 0.1, 0.1, 0.05])

    with pytest.raises(ValueError, match="decay_every > 0"):
        make_schedule(OptimizerConfig(schedule="step"), 100)
    with pytest.raises(ValueError, match="warmup_steps > 0"):
        make_schedule(OptimizerConfig(schedule="warmup_cosine"), 100)


def test_optimizers_first_update():
    params = {"w": jnp.array([1.0, -2.0])}
    grads = {"w": jnp.array([0.5, 0.25])}

    def first_update(**kw):
        tx = make_optimizer(OptimizerConfig(learning_rate=0.1, **kw), 10)
        return np.asarray(tx.update(grads, tx.init(params), params)[0]["w"])

    np.testing.assert_allclose(first_update(name="sgd"), [-0.05, -0.025], rtol=1e-6)
    # coupled L2 for sgd: g + wd * p
    np.testing.assert_allclose(
        first_update(name="sgd", weight_decay=0.1), [-0.06, -0.005], rtol=1e-6
    )
    # adam's first step is lr * sign(g)
    np.testing.assert_allclose(first_update(name="adam"), [-0.1, -0.1], rtol=1e-5)
    # adamw: decoupled decay lr * wd * p on top
    np.testing.assert_allclose(
        first_update(name="adamw", weight_decay=0.5), [-0.15, -0.0], atol=1e-6
    )
    # clipping the global norm (0.559) to 0.1 before sgd
    clipped = first_update(name="sgd", grad_clip_norm=0.1)
    assert np.linalg.norm(clipped) == pytest.approx(0.01, rel=1e-5)
    assert isinstance(make_optimizer(OptimizerConfig(), 10), optax.GradientTransformation)


@dataclasses.dataclass(frozen=True)
class _Model:
    widths: tuple[int, ...] = (8, 16)
    pair: tuple[float, str] = (1.0, "a")
    name: str | None = "x"


@dataclasses.dataclass(frozen=True)
class _Experiment:
    model: _Model = _Model()
    train: TrainConfig = TrainConfig()


def test_apply_overrides_nested_and_typed():
    cfg = apply_overrides(
        _Experiment(),
        [
            "train.optimizer.learning_rate=1e-3",
            "train.steps=50",
            "train.tensorboard=true",
            "train.optimizer.grad_clip_norm=1.5",
            "train.optimizer.name=sgd",
            "model.widths=(4, 5, 6)",
            "model.pair=2,b",
            "model.name=none",
        ],
    )
    assert cfg.train.optimizer.learning_rate == 1e-3 and cfg.train.steps == 50
    assert cfg.train.tensorboard is True and cfg.train.optimizer.grad_clip_norm == 1.5
    assert cfg.train.optimizer.name == "sgd"
    assert cfg.model == _Model(widths=(4, 5, 6), pair=(2.0, "b"), name=None)
    assert apply_overrides(cfg, ["train.optimizer.grad_clip_norm=None"]).train.optimizer == (
        dataclasses.replace(cfg.train.optimizer, grad_clip_norm=None)
    )
    assert apply_overrides(_Model(), ["widths=()"]).widths == ()
    assert _Experiment().train.steps == 1000  # the original is untouched


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.optimizer.lerning_rate=1", r"unknown config key .* did you mean learning_rate"),
        ("train.stepz=1", r"unknown config key 'train.stepz'"),
        ("train.steps=1.5", r"'train.steps': expected an int, got '1.5'"),
        ("train.tensorboard=maybe", r"expected a bool"),
        ("train.optimizer.learning_rate=fast", r"expected a float"),
        ("train.optimizer.name=lion", r"optimizer.name must be one of"),
        ("train.steps=0", r"steps must be >= 1"),
        ("train.optimizer=adam", r"is a OptimizerConfig: set its fields"),
        ("train.steps.x=1", r"int has no fields"),
        ("model.pair=1,2,3", r"expected 2 values"),
        ("train.steps", r"not of the form KEY=VALUE"),
    ],
)
def test_apply_overrides_errors(override, message):
    with pytest.raises(ValueError, match=message):
        apply_overrides(_Experiment(), [override])


def test_config_args():
    parser = argparse.ArgumentParser()
    add_config_args(parser)
    args = parser.parse_args(
        ["--workdir", "w", "--steps", "7", "--set", "batch_size=4", "--set", "seed=3"]
    )
    assert args.workdir == "w"
    assert apply_args(TrainConfig(), args) == TrainConfig(steps=7, batch_size=4, seed=3)
    nested = apply_args(_Experiment(), argparse.Namespace(overrides=[], steps=9), "train.steps")
    assert nested.train.steps == 9
    with pytest.raises(SystemExit):
        parser.parse_args(["--steps", "3"])  # --workdir is required


def test_cpu_devices_argument():
    """--cpu-devices reaches use_cpu_devices; in a process where JAX already runs (this
    one) a different count warns instead of silently doing nothing. (A fresh process
    really splits the CPU: test_message_passing's bench test, 2 devices.)"""
    parser = argparse.ArgumentParser()
    add_config_args(parser)
    assert parser.parse_args(["--workdir", "w"]).cpu_devices is None
    running = len(jax.devices("cpu"))
    same = parser.parse_args(["--workdir", "w", "--cpu-devices", str(running)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert apply_args(TrainConfig(), same) == TrainConfig()
    other = parser.parse_args(["--workdir", "w", "--cpu-devices", str(running + 1)])
    with pytest.warns(UserWarning, match="after JAX started"):
        apply_args(TrainConfig(), other)


# ----------------------------------------------------------------------------- parameter EMA


def test_params_ema_matches_hand_computation():
    decay = 0.5
    tx = optax.chain(optax.sgd(0.1), params_ema(decay))
    params = {"w": jnp.array([1.0, -2.0])}
    state = tx.init(params)
    expected = np.array([1.0, -2.0])
    for t in range(1, 4):
        grads = {"w": jnp.array([1.0, 1.0]) * t}
        updates, state = tx.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        rate = min(decay, (1 + t) / (10 + t))
        expected = rate * expected + (1 - rate) * np.asarray(params["w"])
        np.testing.assert_allclose(ema_params(state)["w"], expected, rtol=1e-6)
    assert ema_params(optax.sgd(0.1).init(params)) is None
    with pytest.raises(ValueError, match="decay"):
        params_ema(1.0)


def test_train_with_ema_gives_averaged_model_and_resumes(tmp_path):
    cfg = dataclasses.replace(BASE, ema_decay=0.9)
    result = train(TinyTask(cfg.batch_size), cfg, tmp_path, progress=False)
    assert result.ema_model is not None
    x = TinyTask(8).batch(7)["x"]
    assert not np.allclose(result.ema_model(x), result.model(x))
    again = train(TinyTask(cfg.batch_size), cfg, tmp_path, progress=False)  # already complete
    np.testing.assert_array_equal(again.ema_model(x), result.ema_model(x))
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(ema_decay=1.0)
