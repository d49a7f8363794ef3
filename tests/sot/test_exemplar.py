"""Exemplar attention (jaxmot.sot.exemplar) and its NNX layer, against a NumPy reference
and against the PyTorch grouped-convolution formulation."""

import functools
import math
import operator

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.test_util import check_grads

from jaxmot.sot.exemplar import (
    ExemplarConfig,
    batch_norm,
    dynamic_conv_kernels,
    exemplar_attention_weights,
    exemplar_layer,
    init_exemplar_params,
    layer_norm,
    se_channels,
    squeeze_excite,
)
from jaxmot.sot.exemplar_layer import ExemplarTransformerLayer

# One set of small shapes, so the tests share compiled programs.
B, H, W, C, K = 2, 5, 6, 6, 3
CONFIG = ExemplarConfig(query_dim=8, ffn_dim=12)
DN = ("NHWC", "HWIO", "NHWC")


def _random_params(seed=0, c=C, k=K, config=CONFIG, dtype=np.float32):
    """Params with the shapes of init_exemplar_params, random values from NumPy (no
    compilation), BN running statistics included (var > 0)."""
    shapes = jax.eval_shape(lambda key: init_exemplar_params(key, c, k, config), jax.random.key(0))
    rng = np.random.default_rng(seed)

    def fill(path, leaf):
        name = path[-1].key
        if name == "var":
            return rng.uniform(0.5, 1.5, leaf.shape).astype(dtype)
        scale = 0.1 if name == "mean" else 0.5
        return (scale * rng.normal(size=leaf.shape)).astype(dtype)

    return jax.tree.map_with_path(fill, shapes)


def _x(seed=1, shape=(B, H, W, C), dtype=np.float32):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


# --- NumPy reference (plain loops) ----------------------------------------------------


def _np_bn(bn, y, train, eps):
    if train:
        mean, var = y.mean((0, 1, 2)), y.var((0, 1, 2))
    else:
        mean, var = bn["mean"], bn["var"]
    return (y - mean) / np.sqrt(var + eps) * bn["scale"] + bn["bias"]


def _np_ln(ln, y, eps):
    mean, var = y.mean(-1, keepdims=True), y.var(-1, keepdims=True)
    return (y - mean) / np.sqrt(var + eps) * ln["scale"] + ln["bias"]


def exemplar_reference(params, x, config, train=False):
    """The official ExemplarTransformer.forward (eval dropout), sample by sample, in
    float64 with explicit loops for the per-sample convolutions."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    x = np.asarray(x, np.float64)
    bsz, h, w, c = x.shape
    e, k = p["dw_kernels"].shape[:2]
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731

    dw_out = np.zeros_like(x)
    attn_all = []
    for b in range(bsz):
        q = relu(x[b].mean((0, 1)) @ p["query"]["kernel"] + p["query"]["bias"])
        logits = q @ p["keys"].T
        if config.scale_by_sqrt_dim:
            logits = logits / math.sqrt(q.shape[0])
        logits = logits / config.temperature
        attn = np.exp(logits - logits.max())
        attn /= attn.sum()
        attn_all.append(attn)
        dw = sum(attn[i] * p["dw_kernels"][i] for i in range(e))  # [k, k, C]
        pad = (k - 1) // 2
        xp = np.pad(x[b], ((pad, pad), (pad, pad), (0, 0)))
        for i in range(h):
            for j in range(w):
                for u in range(k):
                    for v in range(k):
                        dw_out[b, i, j] += xp[i + u, j + v] * dw[u, v]
    y = relu(_np_bn(p["dw_bn"], dw_out, train, config.bn_eps))
    s = relu(y.mean((1, 2)) @ p["se"]["reduce"]["kernel"] + p["se"]["reduce"]["bias"])
    y = y * sigmoid(s @ p["se"]["expand"]["kernel"] + p["se"]["expand"]["bias"])[:, None, None]
    pw_out = np.zeros_like(y)
    for b in range(bsz):
        pw = sum(attn_all[b][i] * p["pw_kernels"][i] for i in range(e))  # [C_in, C_out]
        for i in range(h):
            for j in range(w):
                pw_out[b, i, j] = y[b, i, j] @ pw
    y = relu(_np_bn(p["pw_bn"], pw_out, train, config.bn_eps)) + x
    y = _np_ln(p["norm1"], y, config.ln_eps)
    f = relu(y @ p["ffn1"]["kernel"] + p["ffn1"]["bias"]) @ p["ffn2"]["kernel"] + p["ffn2"]["bias"]
    return _np_ln(p["norm2"], y + f, config.ln_eps), np.stack(attn_all)


# --- the PyTorch formulation: batch folded into channels, grouped convolutions -------


def exemplar_layer_grouped(params, x, config, train=False):
    """As the official forward: x viewed as [1, B*C, H, W] (NHWC: [1, H, W, B*C]), one
    conv with groups = B*C (depth-wise) and one with groups = B (point-wise)."""
    bsz, h, w, c = x.shape
    k = params["dw_kernels"].shape[1]
    attn = exemplar_attention_weights(params, x, config)
    dw, pw = dynamic_conv_kernels(params, attn)  # [B, k, k, C], [B, C, C]

    def fold(t):  # [B, H, W, C] -> [1, H, W, B*C], channel b*C + c
        return t.transpose(1, 2, 0, 3).reshape(1, h, w, bsz * c)

    def unfold(t):
        return t.reshape(h, w, bsz, c).transpose(2, 0, 1, 3)

    pad = (k - 1) // 2
    y = jax.lax.conv_general_dilated(
        fold(x),
        dw.transpose(1, 2, 0, 3).reshape(k, k, 1, bsz * c),
        (1, 1),
        ((pad, pad), (pad, pad)),
        dimension_numbers=DN,
        feature_group_count=bsz * c,
    )
    y, _ = batch_norm(params["dw_bn"], unfold(y), train=train, eps=config.bn_eps)
    y = squeeze_excite(params["se"], jax.nn.relu(y))
    # Group b holds input channels b*C.. and output channels b*C..: kernel[0, 0, i, b*C + o]
    # = pw[b, i, o].
    y = jax.lax.conv_general_dilated(
        fold(y),
        pw.transpose(1, 0, 2).reshape(1, 1, c, bsz * c),
        (1, 1),
        ((0, 0), (0, 0)),
        dimension_numbers=DN,
        feature_group_count=bsz,
    )
    y, _ = batch_norm(params["pw_bn"], unfold(y), train=train, eps=config.bn_eps)
    y = layer_norm(params["norm1"], jax.nn.relu(y) + x, config.ln_eps)
    f = jax.nn.relu(y @ params["ffn1"]["kernel"] + params["ffn1"]["bias"])
    f = f @ params["ffn2"]["kernel"] + params["ffn2"]["bias"]
    return layer_norm(params["norm2"], y + f, config.ln_eps)


# --- tests -------------------------------------------------------------------------


@pytest.mark.parametrize("train", [False, True])
def test_matches_numpy_reference(train):
    params, x = _random_params(), _x()
    y, stats = exemplar_layer(params, x, config=CONFIG, train=train, deterministic=True)
    want, attn = exemplar_reference(params, x, CONFIG, train=train)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        exemplar_attention_weights(params, x, CONFIG), attn, rtol=1e-5, atol=1e-6
    )
    assert (stats is None) == (not train)


def test_temperature_and_sqrt_scaling_follow_config():
    params, x = _random_params(), _x()
    for config in (
        ExemplarConfig(query_dim=8, ffn_dim=12, temperature=30.0, scale_by_sqrt_dim=False),
        ExemplarConfig(query_dim=8, ffn_dim=12, temperature=0.5),
    ):
        _, attn = exemplar_reference(params, x, config)
        np.testing.assert_allclose(
            exemplar_attention_weights(params, x, config), attn, rtol=1e-5, atol=1e-6
        )


def test_matches_grouped_convolution_formulation():
    params, x = _random_params(), _x()
    for train in (False, True):
        y, _ = exemplar_layer(params, x, config=CONFIG, train=train, deterministic=True)
        np.testing.assert_allclose(
            y, exemplar_layer_grouped(params, x, CONFIG, train), rtol=1e-5, atol=1e-5
        )


def test_gradients_match_grouped_formulation_and_finite_differences():
    params, x = _random_params(), _x()

    def loss(fn):
        def f(p, x):
            return jnp.sum(jnp.sin(fn(p, x)))

        return f

    vmapped = loss(
        lambda p, x: exemplar_layer(p, x, config=CONFIG, train=True, deterministic=True)[0]
    )
    grouped = loss(lambda p, x: exemplar_layer_grouped(p, x, CONFIG, train=True))
    g1 = jax.jit(jax.grad(vmapped, argnums=(0, 1)))(params, x)
    g2 = jax.jit(jax.grad(grouped, argnums=(0, 1)))(params, x)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5), g1, g2)
    # Every parameter (running statistics aside, unused in train mode) gets a gradient.
    for name, sub in g1[0].items():
        for leaf_path, g in jax.tree_util.tree_leaves_with_path(sub):
            if name in ("dw_bn", "pw_bn") and leaf_path[-1].key in ("mean", "var"):
                continue
            assert np.any(np.asarray(g) != 0), (name, leaf_path)

    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
        x64 = np.asarray(x[:, :4, :4], np.float64)
        # Train mode: the gradient also flows through the batch statistics.
        layer = jax.jit(
            lambda p, x: exemplar_layer(p, x, config=CONFIG, train=True, deterministic=True)[0]
        )
        check_grads(layer, (p64, x64), order=1, modes=("rev",), atol=1e-4, rtol=1e-4)


def test_jit_equals_eager():
    params, x = _random_params(), _x()
    for train in (False, True):
        fn = lambda p, x, t=train: exemplar_layer(p, x, config=CONFIG, train=t, deterministic=True)  # noqa: E731
        eager, eager_stats = fn(params, x)
        jitted, jit_stats = jax.jit(fn)(params, x)
        np.testing.assert_allclose(eager, jitted, rtol=1e-5, atol=1e-5)
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5), eager_stats, jit_stats
        )


def test_train_returns_batch_stats_eval_uses_running_stats():
    params, x = _random_params(), _x()
    _, stats = exemplar_layer(params, x, config=CONFIG, train=True, deterministic=True)
    # The depth-wise conv output, recomputed, gives the dw_bn statistics.
    attn = exemplar_attention_weights(params, x, CONFIG)
    dw, _ = dynamic_conv_kernels(params, attn)
    conv = jax.lax.conv_general_dilated(
        x.transpose(1, 2, 0, 3).reshape(1, H, W, B * C),
        dw.transpose(1, 2, 0, 3).reshape(K, K, 1, B * C),
        (1, 1),
        ((1, 1), (1, 1)),
        dimension_numbers=DN,
        feature_group_count=B * C,
    )
    conv = np.asarray(conv).reshape(H, W, B, C)
    n = B * H * W
    np.testing.assert_allclose(stats["dw_bn"]["mean"], conv.mean((0, 1, 2)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        stats["dw_bn"]["var"], conv.var((0, 1, 2)) * n / (n - 1), rtol=1e-4, atol=1e-6
    )
    assert set(stats) == {"dw_bn", "pw_bn"} and stats["pw_bn"]["var"].shape == (C,)

    # Eval: the output moves with the running statistics (and matches the reference).
    shifted = jax.tree.map(lambda a: a, params)
    shifted["pw_bn"] = dict(params["pw_bn"], mean=params["pw_bn"]["mean"] + 1.0)
    y0, _ = exemplar_layer(params, x, config=CONFIG)
    y1, _ = exemplar_layer(shifted, x, config=CONFIG)
    assert not np.allclose(y0, y1)
    np.testing.assert_allclose(y1, exemplar_reference(shifted, x, CONFIG)[0], rtol=1e-4, atol=1e-4)


def test_dropout_needs_rng_and_is_reproducible():
    params, x = _random_params(), _x()
    with pytest.raises(ValueError, match="dropout_rng"):
        exemplar_layer(params, x, config=CONFIG, train=True)
    key = jax.random.key(3, impl="rbg")
    layer = jax.jit(lambda p, x, k: exemplar_layer(p, x, config=CONFIG, train=True, dropout_rng=k))
    a, _ = layer(params, x, key)
    b, _ = layer(params, x, key)
    c, _ = exemplar_layer(params, x, config=CONFIG, train=True, deterministic=True)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_init_shapes_and_torch_initialisation():
    config = ExemplarConfig(query_dim=8, ffn_dim=12)
    # Jitted, with the cheap-to-compile rbg generator: threefry's per-shape compilations
    # dominate otherwise.
    params = jax.jit(init_exemplar_params, static_argnums=(1, 2, 3))(
        jax.random.key(0, impl="rbg"), 10, 5, config
    )
    assert params["dw_kernels"].shape == (4, 5, 5, 10)
    assert params["pw_kernels"].shape == (4, 10, 10)
    assert params["se"]["reduce"]["kernel"].shape == (10, 5)  # ratio 0.5
    assert np.all(np.abs(params["dw_kernels"]) <= 1 / 5)  # U(+-1/sqrt(k*k))
    assert np.all(np.abs(params["pw_kernels"]) <= 1 / math.sqrt(10))
    np.testing.assert_array_equal(params["dw_bn"]["var"], 1.0)
    assert (se_channels(256, 0.5), se_channels(192, 0.5), se_channels(3, 0.5)) == (128, 96, 2)
    with pytest.raises(ValueError, match="pool_size"):
        ExemplarConfig(pool_size=2)


def _layer(config=CONFIG):
    """An ExemplarTransformerLayer with the random params of `_random_params` (built
    abstractly: no initialiser compiles)."""
    layer = nnx.eval_shape(lambda: ExemplarTransformerLayer(C, K, config, rngs=nnx.Rngs(0)))
    params = _random_params()
    for name in layer.param_names:
        target = getattr(layer, name)
        if isinstance(target, nnx.Variable):
            target.set_value(jnp.asarray(params[name]))
            continue
        for path, var in nnx.iter_graph(target):
            if isinstance(var, nnx.Variable):
                var.set_value(jnp.asarray(functools.reduce(operator.getitem, path, params[name])))
    layer.rngs.key.set_value(jax.random.key(5, impl="rbg"))
    layer.rngs.count.set_value(jnp.zeros((), jnp.uint32))
    return layer, params


def test_module_train_updates_running_stats_eval_does_not():
    layer, params = _layer(ExemplarConfig(query_dim=8, ffn_dim=12, dropout=0.0))
    x = _x()
    y = layer(x)  # a new layer is in train mode
    want, stats = exemplar_layer(params, x, config=layer.config, train=True)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    for bn in ("dw_bn", "pw_bn"):
        for k in ("mean", "var"):
            expected = 0.9 * params[bn][k] + 0.1 * np.asarray(stats[bn][k])
            np.testing.assert_allclose(getattr(layer, bn)[k][...], expected, rtol=1e-5, atol=1e-6)

    layer.eval()
    before = jax.tree.map(np.asarray, layer.params_tree())
    y_eval = nnx.jit(lambda m, x: m(x))(layer, x)
    np.testing.assert_allclose(
        y_eval, exemplar_layer(before, x, config=layer.config)[0], rtol=1e-5, atol=1e-5
    )
    jax.tree.map(np.testing.assert_array_equal, before, layer.params_tree())


def test_module_dropout_uses_rngs_in_train_mode_only():
    layer, _ = _layer()
    x = _x()
    step = nnx.jit(lambda m, x: m(x))
    a, b = step(layer, x), step(layer, x)  # the stream advances: new masks
    assert not np.allclose(a, b)
    layer.eval()
    np.testing.assert_array_equal(step(layer, x), step(layer, x))
