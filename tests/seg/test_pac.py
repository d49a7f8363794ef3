"""Pixel-adaptive convolution (jaxmot.seg.pac), its NNX layers and its benchmark."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.test_util import check_grads

from jaxmot.seg.bench import PACBenchConfig, format_pac_records, pac_conv2d_unfold, run_pac_bench
from jaxmot.seg.pac import pac_conv2d, pac_conv_transpose2d, scale_guide
from jaxmot.seg.pac_layers import PacConv2d, PacConvTranspose2d

TOL = {"rtol": 1e-5, "atol": 1e-5}
DN = ("NHWC", "HWIO", "NHWC")
# One set of shapes throughout (B, H, W odd sizes, Cin, Cout, guide channels), so tests
# share the ops' compiled programs: the file's time is almost all compilation.
B, H, W, CIN, COUT, CG = 2, 7, 5, 3, 4, 2


def _arrays(k=3, seed=0, out_hw=(H, W)):
    """x [B, H, W, CIN], guide [B, *out_hw, CG], kernel [k, k, CIN, COUT], bias [COUT]."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, H, W, CIN)).astype(np.float32)
    g = (0.7 * rng.normal(size=(B, *out_hw, CG))).astype(np.float32)
    kernel = rng.normal(size=(k, k, CIN, COUT)).astype(np.float32)
    bias = rng.normal(size=(COUT,)).astype(np.float32)
    return x, g, kernel, bias


# --- NumPy references (plain loops) ---------------------------------------------------


def pac_reference(x, g, kernel, bias=None, dilation=1, normalize=False, sample=None):
    """y[b,i,j] = bias + sum over in-image taps of K(g_ij, g_nb) kernel[u,v].T x_nb.

    sample: optional [B, H, W] bool, the pixels holding real data; with normalize only
    they count in the kernel sum (an empty window gives 0 before the bias).
    """
    x, g, kernel = (np.asarray(a, np.float64) for a in (x, g, kernel))
    bsz, h, w, _ = x.shape
    kh, kw, _, cout = kernel.shape
    y = np.zeros((bsz, h, w, cout))
    for b in range(bsz):
        for i in range(h):
            for j in range(w):
                total, ksum = np.zeros(cout), 0.0
                for u in range(kh):
                    for v in range(kw):
                        ii, jj = i + (u - kh // 2) * dilation, j + (v - kw // 2) * dilation
                        if not (0 <= ii < h and 0 <= jj < w):
                            continue
                        kern = np.exp(-0.5 * np.sum((g[b, i, j] - g[b, ii, jj]) ** 2))
                        total += kern * (x[b, ii, jj] @ kernel[u, v])
                        if sample is None or sample[b, ii, jj]:
                            ksum += kern
                if normalize:
                    total = total / ksum if ksum > 0 else 0.0 * total
                y[b, i, j] = total
    return y if bias is None else y + bias


def zero_insert(x, stride):
    """x [B, H, W, C] -> ([B, sH, sW, C] with x[i, j] at (s*i, s*j), sample mask)."""
    b, h, w, c = x.shape
    z = np.zeros((b, stride * h, stride * w, c), x.dtype)
    z[:, ::stride, ::stride] = x
    sample = np.zeros(z.shape[:3], bool)
    sample[:, ::stride, ::stride] = True
    return z, sample


def pac_transpose_reference(x, g, kernel, bias=None, stride=2, normalize=False):
    z, sample = zero_insert(np.asarray(x), stride)
    return pac_reference(z, g, kernel, bias, 1, normalize, sample)


# --- values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "k,dilation,normalize", [(3, 1, False), (3, 1, True), (3, 2, False), (5, 1, True)]
)  # dilation 2 with normalize: in the jit / vmap and finite-difference tests
def test_pac_conv2d_matches_numpy_loops(k, dilation, normalize):
    x, g, kernel, bias = _arrays(k, seed=k + dilation)
    got = pac_conv2d(x, g, kernel, bias, dilation=dilation, normalize=normalize)
    assert got.shape == (B, H, W, COUT)
    np.testing.assert_allclose(got, pac_reference(x, g, kernel, bias, dilation, normalize), **TOL)


@pytest.mark.parametrize(
    "k,stride,normalize",
    # (1, 2): phases whose windows hold no sample give the bias only (empty windows)
    [(3, 2, True), (5, 2, True), (3, 3, False), (1, 2, True)],
)  # (3, 2) without normalize: checked against pac_conv2d on the zero-inserted input
def test_pac_conv_transpose2d_matches_numpy_loops(k, stride, normalize):
    x, g, kernel, bias = _arrays(k, seed=10 + k, out_hw=(stride * H, stride * W))
    got = pac_conv_transpose2d(x, g, kernel, bias, stride=stride, normalize=normalize)
    assert got.shape == (B, stride * H, stride * W, COUT)
    want = pac_transpose_reference(x, g, kernel, bias, stride, normalize)
    np.testing.assert_allclose(got, want, **TOL)


def test_transpose_without_normalize_is_pac_on_the_zero_inserted_input():
    x, g, kernel, bias = _arrays(seed=5, out_hw=(2 * H, 2 * W))
    z, _ = zero_insert(x, 2)
    np.testing.assert_allclose(
        pac_conv_transpose2d(x, g, kernel, bias), pac_conv2d(z, g, kernel, bias), **TOL
    )


def test_constant_guide_is_a_plain_convolution():
    x, _, kernel, bias = _arrays(seed=2)
    g = np.full((B, H, W, CG), 0.3, np.float32)
    conv = jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=DN)
    np.testing.assert_allclose(pac_conv2d(x, g, kernel, bias), conv + bias, **TOL)
    # normalize: divided by the number of in-image taps, i.e. by a conv of ones
    count = jax.lax.conv_general_dilated(
        jnp.ones((B, H, W, 1)), jnp.ones((3, 3, 1, 1)), (1, 1), "SAME", dimension_numbers=DN
    )
    got = pac_conv2d(x, g, kernel, 0 * bias, normalize=True)
    np.testing.assert_allclose(got * count, conv, **TOL)
    # transposed: a conv with lhs dilation, sample i landing on output 2i
    want = jax.lax.conv_general_dilated(
        x, kernel, (1, 1), ((1, 2), (1, 2)), lhs_dilation=(2, 2), dimension_numbers=DN
    )
    gt = np.zeros((B, 2 * H, 2 * W, CG), np.float32)
    np.testing.assert_allclose(pac_conv_transpose2d(x, gt, kernel, bias), want + bias, **TOL)


def test_guide_edge_cuts_the_window():
    """Two regions of very different guide values do not mix (K ~ 0 across the edge)."""
    x = np.zeros((B, H, W, CIN), np.float32)
    x[:, :, 3:] = 1.0
    g = np.zeros((B, H, W, CG), np.float32)
    g[:, :, 3:] = 100.0
    kernel = np.zeros((3, 3, CIN, COUT), np.float32)
    kernel[..., 0, 0] = 1.0
    y = np.asarray(pac_conv2d(x, g, kernel, np.zeros(COUT, np.float32), normalize=True))
    np.testing.assert_allclose(y[:, :, :3, 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(y[:, :, 3:, 0], 1.0, atol=1e-6)


def test_scale_guide_is_exp_parametrised():
    g = np.ones((1, 2, 2, 3), np.float32)
    np.testing.assert_allclose(scale_guide(g, jnp.zeros(3)), g)
    np.testing.assert_allclose(
        scale_guide(g, jnp.log(jnp.array([1.0, 2.0, 0.5])))[0, 0, 0], [1.0, 2.0, 0.5], rtol=1e-6
    )


# --- transformations --------------------------------------------------------------------


def test_jit_and_vmap_equal_eager():
    """jit(vmap(op)) over a stack of two batches equals the op called on each."""
    x, g, kernel, bias = _arrays(seed=7)
    gt = np.repeat(np.repeat(g, 2, 1), 2, 2)
    for fn, guide in (
        (lambda *a: pac_conv2d(*a, normalize=True, dilation=2), g),
        (lambda *a: pac_conv_transpose2d(*a, normalize=True), gt),
    ):
        stacked = jax.jit(jax.vmap(fn, in_axes=(0, 0, None, None)))(
            np.stack([x, x[::-1]]), np.stack([guide, guide[::-1]]), kernel, bias
        )
        np.testing.assert_allclose(stacked[0], fn(x, guide, kernel, bias), **TOL)
        np.testing.assert_allclose(stacked[1], fn(x[::-1], guide[::-1], kernel, bias), **TOL)


def test_gradients_check_against_finite_differences():
    """w.r.t. x, guide, kernel and bias, both ops, with normalize (the longer path)."""
    rng = np.random.default_rng(8)
    x, g, gt = (
        rng.normal(size=(1, 4, 3, 2)),
        rng.normal(size=(1, 4, 3, 2)),
        rng.normal(size=(1, 8, 6, 2)),
    )
    kernel, bias = rng.normal(size=(3, 3, 2, 2)), rng.normal(size=(2,))
    # float64: finite differences in float32 are too coarse to compare against.
    with jax.enable_x64(True):
        x, g, gt, kernel, bias = (jnp.asarray(a, jnp.float64) for a in (x, g, gt, kernel, bias))

        @jax.jit  # both ops in one program: one forward and one backward compile
        def both(x, g, gt, kernel, bias):
            return (
                pac_conv2d(x, g, kernel, bias, normalize=True, dilation=2),
                pac_conv_transpose2d(x, gt, kernel, bias, normalize=True),
            )

        check_grads(both, (x, g, gt, kernel, bias), order=1, modes=["rev"])


def test_gradients_equal_the_unfold_implementation():
    """The bench's unfold form (the PyTorch reference's formulation) as a naive oracle:
    its values match the loops and its autodiff gradients match ours."""
    x, g, kernel, _ = _arrays(seed=11)
    unfold = jax.jit(pac_conv2d_unfold, static_argnames="normalize")
    want = pac_reference(x, g, kernel, normalize=True)
    np.testing.assert_allclose(unfold(x, g, kernel, normalize=True), want, **TOL)
    target = np.random.default_rng(12).normal(size=(B, H, W, COUT)).astype(np.float32)

    def grads(fn):
        loss = lambda *a: jnp.sum((fn(*a, normalize=True) - target) ** 2)  # noqa: E731
        return jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(x, g, kernel)

    for ours, naive in zip(grads(pac_conv2d), grads(pac_conv2d_unfold), strict=True):
        np.testing.assert_allclose(ours, naive, rtol=1e-4, atol=1e-4)


# --- layers -----------------------------------------------------------------------------


def test_layers_shapes_and_parameters():
    layer = PacConv2d(CIN, COUT, 3, guide_features=CG, rngs=nnx.Rngs(0))
    assert layer.kernel[...].shape == (3, 3, CIN, COUT) and layer.bias[...].shape == (COUT,)
    assert layer.guide_log_scale is None
    x, g, _, _ = _arrays()
    assert layer(x, g).shape == (B, H, W, COUT)
    up = PacConvTranspose2d(CIN, COUT, guide_features=CG, rngs=nnx.Rngs(1))
    assert up.kernel[...].shape == (3, 3, CIN, COUT)
    assert PacConv2d(CIN, COUT, guide_features=CG, use_bias=False, rngs=nnx.Rngs(2)).bias is None
    assert up(x, np.zeros((B, 2 * H, 2 * W, CG), np.float32)).shape == (B, 2 * H, 2 * W, COUT)
    with pytest.raises(ValueError, match="guide_features"):
        layer(x, np.zeros((B, H, W, CG + 1), np.float32))
    with pytest.raises(ValueError, match="odd"):
        PacConv2d(CIN, COUT, 4, guide_features=CG, rngs=nnx.Rngs(0))


def test_learnable_guide_scale_changes_the_output_and_gets_a_gradient():
    layer = PacConv2d(
        CIN, COUT, guide_features=CG, learn_guide_scale=True, normalize=True, rngs=nnx.Rngs(0)
    )
    np.testing.assert_array_equal(layer.guide_log_scale[...], 0.0)
    x, g, _, _ = _arrays(seed=3)
    before = layer(x, g)
    graphdef, params = nnx.split(layer, nnx.Param)
    grads = jax.grad(lambda p: jnp.sum(nnx.merge(graphdef, p)(x, g) ** 2))(params)
    assert np.all(np.abs(np.asarray(grads["guide_log_scale"][...])) > 0)
    layer.guide_log_scale[...] = jnp.array([1.0, -1.0])
    assert np.max(np.abs(np.asarray(layer(x, g) - before))) > 1e-3


# --- errors -----------------------------------------------------------------------------


def test_bad_shapes_fail_with_clear_messages():
    x, g, kernel, bias = _arrays()
    cases = [
        (lambda: pac_conv2d(x, g, np.zeros((4, 4, CIN, COUT), np.float32)), "odd"),
        (lambda: pac_conv2d(x[0], g, kernel), r"x must be \[B, H, W, Cin\]"),
        (lambda: pac_conv2d(x, g[0], kernel), r"guide must be"),
        (lambda: pac_conv2d(x, g, kernel[0]), r"kernel must be"),
        (lambda: pac_conv2d(x, g[:1], kernel), r"guide .* must be"),
        (lambda: pac_conv2d(x, g[:, :5], kernel), r"guide .* must be"),
        (lambda: pac_conv2d(x[..., :2], g, kernel), "Cin = 3"),
        (lambda: pac_conv2d(x, g, kernel, bias[:2]), "bias"),
        (lambda: pac_conv2d(x, g, kernel, dilation=0), "dilation"),
        (lambda: pac_conv_transpose2d(x, g, kernel), r"guide .* must be"),
        (lambda: pac_conv_transpose2d(x, g, kernel, stride=0), "stride"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()


# --- benchmark --------------------------------------------------------------------------


def test_bench_runs_and_formats_tiny_sizes():
    config = PACBenchConfig(sizes=(8,), forms=("pac", "unfold"), grad_size=0, repeats=1)
    records = run_pac_bench(config, progress=lambda _: None)
    assert [(r["form"], r["pass"]) for r in records] == [("pac", "forward"), ("unfold", "forward")]
    assert all(r["ms_median"] > 0 for r in records)
    assert "temp MiB" in format_pac_records(records)
