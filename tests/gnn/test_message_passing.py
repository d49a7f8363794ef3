"""Bipartite message passing (jaxmot.gnn.message_passing) and its benchmark."""

import functools
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxmot.core.compiles import CompileCounter
from jaxmot.gnn import message_passing as mp

D, NODE, EDGE, STEPS = 16, 8, 12, 2  # small sizes: the whole file runs in seconds
TOL = {"rtol": 1e-5, "atol": 1e-5}


@pytest.fixture(scope="module")
def params():
    init = jax.jit(mp.init_params, static_argnames=("reid_dim", "node_dim", "edge_dim"))
    return init(jax.random.key(0), reid_dim=D, node_dim=NODE, edge_dim=EDGE)


_edge_features = jax.jit(mp.edge_features)


def _graph(n, m, seed=0, d=D):
    """Random boxes/times/features for n tracks and m detections -> model inputs."""
    rng = np.random.default_rng(seed)
    tb = np.c_[
        rng.uniform(0, 500, (n, 2)), rng.uniform(10, 80, (n, 1)), rng.uniform(40, 200, (n, 1))
    ]
    db = np.c_[
        rng.uniform(0, 500, (m, 2)), rng.uniform(10, 80, (m, 1)), rng.uniform(40, 200, (m, 1))
    ]
    tt = rng.integers(80, 100, n).astype(np.float32)
    dt = np.full(m, 100.0, np.float32)
    tf = rng.normal(size=(n, d)).astype(np.float32)
    df = rng.normal(size=(m, d)).astype(np.float32)
    ef = _edge_features(tb.astype(np.float32), db.astype(np.float32), tt, dt, tf, df)
    return tf, df, np.asarray(ef), np.ones(n, bool), np.ones(m, bool)


def _pad(tf, df, ef, n_to, m_to, seed=1, scale=1e6):
    """Pad to (n_to, m_to) with large garbage in every padded entry."""
    rng = np.random.default_rng(seed)
    n, m = ef.shape[:2]
    tf2 = scale * rng.normal(size=(n_to, tf.shape[1])).astype(np.float32)
    df2 = scale * rng.normal(size=(m_to, df.shape[1])).astype(np.float32)
    ef2 = scale * rng.normal(size=(n_to, m_to, ef.shape[2])).astype(np.float32)
    tf2[:n], df2[:m], ef2[:n, :m] = tf, df, ef
    return tf2, df2, ef2, np.arange(n_to) < n, np.arange(m_to) < m


# --- edge features -----------------------------------------------------------------


def test_motion_features_and_cosine_distance_match_numpy_loops():
    rng = np.random.default_rng(3)
    tb = np.c_[rng.uniform(0, 500, (4, 2)), rng.uniform(5, 80, (4, 2))].astype(np.float32)
    db = np.c_[rng.uniform(0, 500, (5, 2)), rng.uniform(5, 80, (5, 2))].astype(np.float32)
    tt, dt = np.array([1.0, 5, 7, 9], np.float32), np.full(5, 10.0, np.float32)
    a, b = rng.normal(size=(4, 7)).astype(np.float32), rng.normal(size=(5, 7)).astype(np.float32)
    a[2] = 0  # a zero vector: distance 1, not NaN
    expected = np.zeros((4, 5, 5))
    cos = np.zeros((4, 5))
    for i in range(4):
        for j in range(5):
            xi, yi, wi, hi = tb[i]
            xj, yj, wj, hj = db[j]
            cxi, cyi, cxj, cyj = xi + wi / 2, yi + hi / 2, xj + wj / 2, yj + hj / 2
            expected[i, j] = [
                2 * (cxj - cxi) / (hi + hj),
                2 * (cyj - cyi) / (hi + hj),
                np.log(hi / hj),
                np.log(wi / wj),
                dt[j] - tt[i],
            ]
            na, nb = max(np.linalg.norm(a[i]), 1e-8), np.linalg.norm(b[j])
            cos[i, j] = 1 - a[i] @ b[j] / (na * nb)
    np.testing.assert_allclose(
        mp.motion_edge_features(tb, db, tt, dt), expected, rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(mp.cosine_distance(a, b), cos, rtol=1e-5, atol=1e-5)
    assert np.all(np.asarray(mp.cosine_distance(a, b))[2] == 1)
    ef = mp.edge_features(tb, db, tt, dt, a, b)
    assert ef.shape == (4, 5, mp.EDGE_FEATURE_DIM)
    np.testing.assert_allclose(ef[..., 5], cos, rtol=1e-5, atol=1e-5)


# --- fast form == plain form -------------------------------------------------------


def test_params_shapes_at_course_defaults():
    shapes = jax.tree.map(lambda x: x.shape, jax.eval_shape(mp.init_params, jax.random.key(1)))
    assert shapes["node_in"]["kernel"] == (512, 32)
    assert [layer["kernel"] for layer in shapes["edge_mlp"]] == [(128 + 64, 64), (64, 64)]
    assert [layer["kernel"] for layer in shapes["node_mlp"]] == [(96, 32), (32, 32)]
    assert shapes["classifier"][1]["kernel"] == (64, 1)


def test_fast_matches_reference_eager_and_jit(params):
    inputs = _graph(7, 9)
    ref = mp.message_passing_reference(params, *inputs, STEPS)
    fast = mp.message_passing(params, *inputs, STEPS)
    jitted = jax.jit(mp.message_passing, static_argnums=6)(params, *inputs, STEPS)
    assert ref.shape == fast.shape == (STEPS, 7, 9)
    np.testing.assert_allclose(fast, ref, **TOL)
    np.testing.assert_allclose(jitted, ref, **TOL)
    assert np.std(np.asarray(ref[-1])) > 1e-3  # not a degenerate all-equal output


@pytest.mark.parametrize("form", [mp.message_passing, mp.message_passing_reference])
def test_last_step_only_equals_the_last_row(params, form):
    """all_steps=False (what the tracker runs) skips the intermediate classifiers but
    gives the same last-step logits, under jit, with padding."""
    inputs = _pad(*_graph(5, 6, seed=4)[:3], 8, 8)
    full = form(params, *inputs, 3)
    last = jax.jit(functools.partial(form, all_steps=False), static_argnums=6)(params, *inputs, 3)
    assert last.shape == (1, 8, 8)
    np.testing.assert_allclose(last[0], full[-1], **TOL)


def _masked_loss(form, params, tf, df, ef, tv, dv, labels):
    logits = form(params, tf, df, ef, tv, dv, STEPS)
    return mp.association_loss(logits, labels, tv[:, None] & dv[None, :])


# jitted: eager grads of a 3-step unrolled model cost seconds of op-by-op dispatch
_param_grad = jax.jit(jax.grad(_masked_loss, argnums=1), static_argnums=0)


_JITTED = {
    mp.message_passing: jax.jit(
        mp.message_passing, static_argnums=6, static_argnames="dropout_rate"
    ),
    mp.message_passing_reference: jax.jit(mp.message_passing_reference, static_argnums=6),
}


def _run(form, params, *inputs, **kwargs):
    return _JITTED[form](params, *inputs, **kwargs)


def test_fast_and_reference_gradients_agree(params):
    inputs = _graph(6, 8, seed=2)
    labels = np.eye(6, 8)
    g_ref = _param_grad(mp.message_passing_reference, params, *inputs, labels)
    g_fast = _param_grad(mp.message_passing, params, *inputs, labels)
    for a, b in zip(jax.tree.leaves(g_fast), jax.tree.leaves(g_ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert all(np.any(np.asarray(g) != 0) for g in jax.tree.leaves(g_fast))  # all params used


# --- padding -----------------------------------------------------------------------


@pytest.mark.parametrize("form", [mp.message_passing, mp.message_passing_reference])
def test_padding_with_garbage_changes_no_real_logit_or_gradient(params, form):
    tf, df, ef, tv, dv = _graph(5, 7, seed=4)
    labels = np.zeros((5, 7))
    labels[[0, 1, 3], [2, 0, 6]] = 1
    base = _run(form, params, tf, df, ef, tv, dv, STEPS)
    padded_inputs = _pad(tf, df, ef, 12, 11)
    padded = _run(form, params, *padded_inputs, STEPS)
    np.testing.assert_allclose(padded[:, :5, :7], base, **TOL)
    assert np.all(np.asarray(padded[:, 5:, :]) == 0) and np.all(np.asarray(padded[:, :, 7:]) == 0)
    padded_labels = np.zeros((12, 11))
    padded_labels[:5, :7] = labels
    g = _param_grad(form, params, tf, df, ef, tv, dv, labels)
    g_pad = _param_grad(form, params, *padded_inputs, padded_labels)
    for a, b in zip(jax.tree.leaves(g_pad), jax.tree.leaves(g), strict=True):
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_padded_nodes_send_no_messages(params):
    inputs = _pad(*_graph(4, 5, seed=5)[:3], 8, 8, seed=6, scale=1.0)
    other = _pad(*_graph(4, 5, seed=5)[:3], 8, 8, seed=7, scale=1.0)  # other padded values
    a = _run(mp.message_passing, params, *inputs, STEPS)
    b = _run(mp.message_passing, params, *other, STEPS)
    np.testing.assert_allclose(a[:, :4, :5], b[:, :4, :5], **TOL)
    # while a *valid* extra node does change the real logits after one step
    tf, df, ef, tv, dv = inputs
    c = _run(mp.message_passing, params, tf, df, ef, tv, dv | (np.arange(8) == 6), STEPS)
    assert not np.allclose(a[1:, :4, :5], c[1:, :4, :5], **TOL)


# --- vmap and trace counts ---------------------------------------------------------


def test_vmap_matches_loop_over_samples(params):
    samples = [_pad(*_graph(n, m, seed=n)[:3], 8, 10) for n, m in [(3, 4), (8, 10), (1, 6)]]
    batch = [np.stack(x) for x in zip(*samples, strict=True)]
    out = jax.jit(jax.vmap(lambda *a: mp.message_passing(params, *a, STEPS)))(*batch)
    for k, s in enumerate(samples):
        ref = _run(mp.message_passing_reference, params, *s, STEPS)
        np.testing.assert_allclose(out[k], ref, **TOL)
    # and the loss batches the same way
    labels = np.stack([np.eye(8, 10)] * 3)
    pair = batch[3][:, :, None] & batch[4][:, None, :]
    losses = jax.vmap(mp.association_loss)(out, labels, pair)
    for k in range(3):
        np.testing.assert_allclose(losses[k], mp.association_loss(out[k], labels[k], pair[k]), 1e-6)


def test_dropout_is_active_only_with_rate_and_rng(params):
    inputs = _graph(4, 5)
    plain = _run(mp.message_passing, params, *inputs, STEPS)
    no_rng = _run(mp.message_passing, params, *inputs, STEPS, dropout_rate=0.5)
    np.testing.assert_array_equal(no_rng, plain)
    key = jax.random.key(1)
    dropped = _run(mp.message_passing, params, *inputs, STEPS, dropout_rate=0.5, rng=key)
    assert not np.allclose(dropped, plain)
    again = _run(mp.message_passing, params, *inputs, STEPS, dropout_rate=0.5, rng=key)
    np.testing.assert_array_equal(dropped, again)


def test_jit_traces_once_per_bucket(params):
    fn = jax.jit(functools.partial(mp.message_passing, params, num_steps=STEPS))
    buckets = {(4, 4): [(1, 2), (3, 4), (4, 1)], (8, 12): [(5, 9), (8, 12)]}
    inputs = [
        _pad(*_graph(n, m, seed=n)[:3], n_to, m_to)
        for (n_to, m_to), sizes in buckets.items()
        for n, m in sizes
    ]
    with CompileCounter() as compiles:
        for x in inputs:
            fn(*x).block_until_ready()
    assert compiles.count == len(buckets)


# --- loss and FLOPs ----------------------------------------------------------------


def test_association_loss_by_hand():
    logits = np.array([[[0.0, 2.0], [-1.0, 50.0]], [[1.0, -3.0], [0.5, 0.0]]], np.float32)
    labels = np.array([[1, 0], [0, 1]])
    valid = np.array([[True, True], [True, False]])  # (1, 1) ignored, even at logit 50

    def bce(x, y, pw):  # -(pw y log s(x) + (1 - y) log(1 - s(x))), written out
        s = 1 / (1 + np.exp(-x))
        return -(pw * y * np.log(s) + (1 - y) * np.log(1 - s))

    # step 0: pairs (0,0) y=1 x=0, (0,1) y=0 x=2, (1,0) y=0 x=-1; step 1: x = 1, -3, 0.5
    terms = [
        bce(0.0, 1, 20),
        bce(2.0, 0, 20),
        bce(-1.0, 0, 20),
        bce(1.0, 1, 20),
        bce(-3.0, 0, 20),
        bce(0.5, 0, 20),
    ]
    assert terms[0] == pytest.approx(20 * np.log(2))
    np.testing.assert_allclose(mp.association_loss(logits, labels, valid), np.mean(terms), 1e-6)
    # pos_weight scales only the positive terms
    unweighted = [bce(0.0, 1, 1), *terms[1:3], bce(1.0, 1, 1), *terms[4:]]
    np.testing.assert_allclose(
        mp.association_loss(logits, labels, valid, pos_weight=1.0), np.mean(unweighted), 1e-6
    )
    # stable for large logits (log-sigmoid, no log(0))
    big = mp.association_loss(np.full((1, 1, 1), -200.0), np.ones((1, 1)), np.ones((1, 1), bool))
    np.testing.assert_allclose(big, 20 * 200.0, 1e-6)


def test_association_loss_with_no_valid_pair_is_zero_with_finite_grad():
    logits = jnp.ones((2, 3, 3))
    loss, grad = jax.value_and_grad(mp.association_loss)(
        logits, jnp.eye(3), jnp.zeros((3, 3), bool)
    )
    assert float(loss) == 0.0
    assert np.all(np.asarray(grad) == 0)


def test_reference_flops_explicit_sum():
    n, m, d, nd, e, s = 3, 4, 10, 5, 6, 2
    node_in = 2 * (3 + 4) * 10 * 5
    edge_in = 2 * 12 * (6 * 6 + 6 * 6)
    per_step = (
        2 * 12 * ((2 * 5 + 2 * 6) * 6 + 6 * 6)  # edge_mlp on every pair
        + 2 * 7 * ((5 + 6) * 5 + 5 * 5)  # node_mlp on every node
        + 2 * 12 * (6 * 6 + 6 * 1)  # classifier on every pair
    )
    assert mp.reference_flops(n, m, d, nd, e, s) == node_in + edge_in + s * per_step
    classifier = 2 * 12 * (6 * 6 + 6 * 1)
    last_only = node_in + edge_in + s * per_step - (s - 1) * classifier
    assert mp.reference_flops(n, m, d, nd, e, s, all_steps=False) == last_only


# --- benchmark ---------------------------------------------------------------------


def test_bench_gnn_writes_json(tmp_path):
    from pipelines import bench

    out = tmp_path / "gnn.json"
    argv = ["gnn", "--sizes", "4", "--batches", "2", "--reid-dim", "8", "--node-dim", "4",
            "--edge-dim", "8", "--steps", "1", "--repeats", "1", "--matmul-size", "64",
            "--train-size", "4", "--train-batch", "2", "--json", str(out)]  # fmt: skip
    assert bench.main(argv) == 0
    records = json.loads(out.read_text())
    forms = {(r["form"], r["logits"]) for r in records}
    assert forms == {(f, o) for f in ("fast", "plain") for o in ("all", "last")} | {
        ("fast-train", "all")
    }
    for r in records:
        assert {
            "form",
            "n",
            "batch",
            "ms_median",
            "effective_gflops",
            "matmul_gflops",
            "compile_s",
        } <= set(r)
        assert r["ms_median"] > 0 and r["matmul_gflops"] > 0
    assert [r["batch"] for r in records] == [2] * 5


def test_bench_gnn_shards_the_batch_over_cpu_devices(tmp_path):
    """A fresh process split into 2 CPU devices: the sharded call gives the unsharded
    logits, and the bench's records say how many devices ran each row."""
    script = """
import json, sys
import jax, numpy as np
from pipelines import bench
from jaxmot.gnn import bench as bench_gnn
from jaxmot.gnn import message_passing as mp
from jaxmot.core.runtime import use_cpu_devices
use_cpu_devices(2)
params = mp.init_params(jax.random.key(0), 8, 4, 8)
fn = lambda *x: mp.message_passing(params, *x, num_steps=2)
inputs = bench_gnn.random_batch(5, 4, 8)
sharded, devices = bench_gnn.shard_batch(bench_gnn.batched(fn, 1), 4)
assert devices == 2, devices
np.testing.assert_allclose(jax.jit(sharded)(*inputs), jax.jit(jax.vmap(fn))(*inputs),
                           rtol=1e-5, atol=1e-5)
assert bench.main(["gnn", "--sizes", "4", "--batches", "1", "2", "--reid-dim", "8",
                   "--node-dim", "4", "--edge-dim", "8", "--steps", "1", "--repeats", "1",
                   "--matmul-size", "64", "--train-size", "4", "--train-batch", "2",
                   "--logits", "last", "--cpu-devices", "2", "--json", sys.argv[1]]) == 0
"""
    out = tmp_path / "gnn.json"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = json.loads(out.read_text())
    assert [(r["form"], r["batch"], r["devices"]) for r in records] == [
        ("fast", 1, 1),
        ("plain", 1, 1),
        ("fast", 2, 2),
        ("plain", 2, 2),
        ("fast-train", 2, 2),
    ]
