"""pacnet's joint upsampling network (jaxmot.seg.joint_upsample) against a plain NumPy
forward written here from pacnet's layer definitions (task_jointUpsampling/models.py,
pac.py), its checkpoint loader on a state dict built here with pacnet's key names, and
the `pacnet` segmentation head, loss and presets."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxmot.core.torch_io import StateDictMismatchError
from jaxmot.seg.joint_upsample import (
    PacJointConfig,
    PacJointUpsample,
    load_pacnet_joint_upsampler,
    target_range,
    torch_bilinear_downsample,
)
from jaxmot.seg.model import SegmenterConfig, build_segmenter, pacnet_l2_loss, probabilities

# --- plain NumPy references ----------------------------------------------------------------


def np_conv(x, w_oihw, b):
    """nn.Conv2d(k, padding=k//2) on one image: x [H, W, Cin], weight OIHW -> [H, W, Cout]."""
    h, w, _ = x.shape
    k = w_oihw.shape[-1]
    p = k // 2
    xp = np.pad(x, ((p, p), (p, p), (0, 0)))
    y = np.zeros((h, w, w_oihw.shape[0]))
    for u in range(k):
        for v in range(k):
            y += xp[u : u + h, v : v + w] @ w_oihw[:, :, u, v].T
    return y + b


def np_bilinear(x, out_h, out_w):
    """torch F.interpolate(mode='bilinear', align_corners=False), no antialias:
    x [H, W, C] -> [out_h, out_w, C], half-pixel centres, source clamped at 0."""

    def weights(n_in, n_out):
        m = np.zeros((n_out, n_in))
        for d in range(n_out):
            src = max((d + 0.5) * n_in / n_out - 0.5, 0.0)
            i0 = int(np.floor(src))
            i1 = min(i0 + 1, n_in - 1)
            m[d, i0] += 1 - (src - i0)
            m[d, i1] += src - i0
        return m

    return np.einsum("ai,bj,ijc->abc", weights(x.shape[0], out_h), weights(x.shape[1], out_w), x)


def np_pac_transpose(x, guide, w_io, b):
    """pacnet's PacConvTranspose2d(k, stride 2, padding k//2, output_padding 1), Gaussian
    kernel, not normalised, on one image: zero insertion, then every output pixel o sums
    K(g[o], g[o + t]) * W[t] * z[o + t] over the k x k taps t (weight [in, out, k, k]
    correlated, not flipped)."""
    h, w, cin = x.shape
    k = w_io.shape[-1]
    c = k // 2
    z = np.zeros((2 * h, 2 * w, cin))
    z[::2, ::2] = x
    zp = np.pad(z, ((c, c), (c, c), (0, 0)))
    gp = np.pad(guide, ((c, c), (c, c), (0, 0)))
    y = np.zeros((2 * h, 2 * w, w_io.shape[1]))
    for u in range(k):
        for v in range(k):
            kern = np.exp(-0.5 * ((gp[u : u + 2 * h, v : v + 2 * w] - guide) ** 2).sum(-1))
            y += (kern[..., None] * zp[u : u + 2 * h, v : v + 2 * w]) @ w_io[:, :, u, v]
    return y + b


def np_conv_transpose(x, w_io, b, padding=2, output_padding=1):
    """torch's plain ConvTranspose2d(stride 2) in scatter form: x[i] adds x[i] @ W[u] to
    output 2i + u - padding."""
    h, w, _ = x.shape
    k = w_io.shape[-1]
    full = np.zeros(
        ((h - 1) * 2 + k + output_padding, (w - 1) * 2 + k + output_padding, w_io.shape[1])
    )
    for i in range(h):
        for j in range(w):
            for u in range(k):
                for v in range(k):
                    full[2 * i + u, 2 * j + v] += x[i, j] @ w_io[:, :, u, v]
    return full[padding : padding + 2 * h, padding : padding + 2 * w] + b


def relu(x):
    return np.maximum(x, 0)


def np_pacnet(sd, low, image, factor, k_ch=16, plain_transpose=False):
    """pacnet's PacJointUpsample with its data-side normalisation, one channel at a time:
    low [B, h, w, C], image [B, f*h, f*w, 3] 0-255 -> [B, f*h, f*w, C]. With
    `plain_transpose` the transposed PACs are torch ConvTranspose2d with the spatially
    flipped weight (what PAC becomes with a constant guide)."""
    steps = int(math.log2(factor))
    b_, h, w, ch = low.shape
    out = np.zeros((b_, factor * h, factor * w, ch))

    def branch(x, name, n):
        for layer in range(n):
            x = np_conv(x, sd[f"{name}.conv{layer + 1}.weight"], sd[f"{name}.conv{layer + 1}.bias"])
            x = relu(x) if layer < n - 1 else x
        return x

    for bi in range(b_):
        guide = branch(image[bi].astype(np.float64) / 255.0, "branch_g", 3)
        for c in range(ch):
            t = low[bi, :, :, c : c + 1].astype(np.float64)
            lo, hi = t.min(), t.max()
            if lo == hi:
                lo, hi = lo - 0.5, hi + 0.5
            x = branch((t - lo) / (hi - lo), "branch_t", 3)
            for i in range(steps):
                g = np_bilinear(
                    guide[..., i * k_ch : (i + 1) * k_ch], h * 2 ** (i + 1), w * 2 ** (i + 1)
                )
                wt, bias = sd[f"up_convts.{i}.weight"], sd[f"up_convts.{i}.bias"]
                if plain_transpose:
                    x = relu(np_conv_transpose(x, wt[:, :, ::-1, ::-1], bias))
                else:
                    x = relu(np_pac_transpose(x, g, wt, bias))
            x = branch(x, "branch_f", 2)
            out[bi, :, :, c] = x[..., 0] * (hi - lo) + lo
    return out


def pacnet_shapes(factor):
    """pacnet's PacJointUpsample(factor) state-dict keys and shapes (defaults: 32
    filters, k_ch 16, 5x5), written out from models.py."""
    steps = int(math.log2(factor))
    shapes = {}
    for name, chans in (
        ("branch_t", (1, 32, 32, 32)),
        ("branch_g", (3, 32, 32, 16 * steps)),
        ("branch_f", (32, 32, 1)),
    ):
        for layer in range(len(chans) - 1):
            shapes[f"{name}.conv{layer + 1}.weight"] = (chans[layer + 1], chans[layer], 5, 5)
            shapes[f"{name}.conv{layer + 1}.bias"] = (chans[layer + 1],)
    for i in range(steps):
        shapes[f"up_convts.{i}.weight"] = (32, 32, 5, 5)  # [in, out, kh, kw]
        shapes[f"up_convts.{i}.bias"] = (32,)
    return shapes


def random_state_dict(factor, seed=0, guide_gain=4.0):
    """Uniform +-1/sqrt(fan_in) weights (PyTorch's init); the guidance branch scaled up by
    `guide_gain` so its features differ by O(1) and the Gaussian kernel matters."""
    rng = np.random.default_rng(seed)
    sd = {}
    for key, shape in pacnet_shapes(factor).items():
        fan_in = 32 * 25 if key.startswith("up_convts") else None
        if fan_in is None:
            w_shape = pacnet_shapes(factor)[key.replace(".bias", ".weight")]
            fan_in = w_shape[1] * 25
        bound = 1 / math.sqrt(fan_in) * (guide_gain if key.startswith("branch_g") else 1.0)
        sd[key] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return sd


def inputs(factor, b=2, h=3, w=4, c=1, seed=0):
    rng = np.random.default_rng(seed)
    low = rng.uniform(0, 5, (b, h, w, c)).astype(np.float32)
    image = rng.uniform(0, 255, (b, factor * h, factor * w, 3)).astype(np.float32)
    return low, image


# --- the network -------------------------------------------------------------------------


@pytest.mark.parametrize("factor", [2, 4, 8, 16])
def test_shapes_for_every_factor(factor):
    model = PacJointUpsample(factor, rngs=nnx.Rngs(0))
    assert len(model.up_convts) == int(math.log2(factor))
    assert model.branch_g[-1].out_features == 16 * int(math.log2(factor))
    low, image = inputs(factor, b=2, h=2, w=3, c=2)
    out = model(low, image)
    assert out.shape == (2, 2 * factor, 3 * factor, 2)
    assert np.isfinite(np.asarray(out)).all()


def test_layers_are_pacnets_default_model():
    model = PacJointUpsample(8, rngs=nnx.Rngs(0))
    assert [(c.in_features, c.out_features, c.kernel_size) for c in model.branch_t] == [
        (1, 32, (5, 5)),
        (32, 32, (5, 5)),
        (32, 32, (5, 5)),
    ]
    assert [(c.in_features, c.out_features) for c in model.branch_g] == [
        (3, 32),
        (32, 32),
        (32, 48),
    ]
    assert [(c.in_features, c.out_features) for c in model.branch_f] == [(32, 32), (32, 1)]
    for up in model.up_convts:
        assert up.kernel.shape == (5, 5, 32, 32) and up.stride == 2 and up.guide_features == 16
        assert not up.normalize and up.guide_log_scale is None and up.bias is not None
    # PyTorch's init: weights and biases within +-1/sqrt(fan_in)
    bound = 1 / math.sqrt(32 * 25)
    assert np.abs(np.asarray(model.up_convts[0].kernel[...])).max() <= bound
    assert np.abs(np.asarray(model.branch_f[0].bias[...])).max() <= bound


def test_bad_inputs_fail_with_one_clear_error():
    with pytest.raises(ValueError, match="power of two"):
        PacJointUpsample(6, rngs=nnx.Rngs(0))
    model = PacJointUpsample(4, rngs=nnx.Rngs(0))
    low, image = inputs(4)
    with pytest.raises(ValueError, match=r"must be \[B, 4\*h, 4\*w, 3\]"):
        model(low, image[:, :-1])
    with pytest.raises(ValueError, match="target_low must be"):
        model(low[0], image)


def test_bilinear_downsample_is_torchs_half_pixel_bilinear():
    rng = np.random.default_rng(0)
    for r in (1, 2, 3, 4, 8):
        x = rng.normal(size=(2, 3 * r, 2 * r, 5)).astype(np.float32)
        got = np.asarray(torch_bilinear_downsample(jnp.asarray(x), r))
        want = np.stack([np_bilinear(xi, 3, 2) for xi in x])
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_bilinear_downsample_matches_torch_interpolate():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x = np.random.default_rng(1).normal(size=(1, 16, 24, 3)).astype(np.float32)
    for r in (2, 4, 8):
        t = torch.from_numpy(x).permute(0, 3, 1, 2)
        want = F.interpolate(t, scale_factor=1 / r, mode="bilinear", align_corners=False)
        got = torch_bilinear_downsample(jnp.asarray(x), r)
        np.testing.assert_allclose(np.asarray(got), want.permute(0, 2, 3, 1).numpy(), atol=1e-6)


def test_target_range_is_pacnets_min_max_with_flat_channels_widened():
    low = np.zeros((2, 2, 2, 2), np.float32)
    low[0, :, :, 0] = [[1, 3], [2, 5]]
    low[1, :, :, 1] = 7.0  # flat
    lo, scale = target_range(jnp.asarray(low))
    np.testing.assert_allclose(np.asarray(lo)[:, 0, 0], [[1, -0.5], [-0.5, 6.5]])
    np.testing.assert_allclose(np.asarray(scale)[:, 0, 0], [[4, 1], [1, 1]])


def _with_weights(factor, sd):
    model = PacJointUpsample(factor, rngs=nnx.Rngs(0))
    for i, conv in enumerate(model.branch_t):
        conv.kernel.set_value(jnp.asarray(sd[f"branch_t.conv{i + 1}.weight"].transpose(2, 3, 1, 0)))
        conv.bias.set_value(jnp.asarray(sd[f"branch_t.conv{i + 1}.bias"]))
    for i, conv in enumerate(model.branch_g):
        conv.kernel.set_value(jnp.asarray(sd[f"branch_g.conv{i + 1}.weight"].transpose(2, 3, 1, 0)))
        conv.bias.set_value(jnp.asarray(sd[f"branch_g.conv{i + 1}.bias"]))
    for i, conv in enumerate(model.branch_f):
        conv.kernel.set_value(jnp.asarray(sd[f"branch_f.conv{i + 1}.weight"].transpose(2, 3, 1, 0)))
        conv.bias.set_value(jnp.asarray(sd[f"branch_f.conv{i + 1}.bias"]))
    for i, up in enumerate(model.up_convts):
        up.kernel.set_value(jnp.asarray(sd[f"up_convts.{i}.weight"].transpose(2, 3, 0, 1)))
        up.bias.set_value(jnp.asarray(sd[f"up_convts.{i}.bias"]))
    return model


def test_constant_guide_makes_every_pac_a_plain_transposed_conv():
    """With the guidance branch's last conv zeroed, every guide feature is its bias, K = 1
    at every tap, and the network must equal convolutions and torch-style transposed
    convolutions with the flipped weight (the NumPy scatter form)."""
    factor = 4
    sd = random_state_dict(factor, seed=3)
    sd["branch_g.conv3.weight"][:] = 0.0
    low, image = inputs(factor, b=1, h=3, w=3, c=1, seed=2)
    got = np.asarray(_with_weights(factor, sd)(low, image))
    want = np_pacnet(sd, low, image, factor, plain_transpose=True)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # ...and the PAC definition gives the same thing with that guide
    np.testing.assert_allclose(np_pacnet(sd, low, image, factor), want, rtol=1e-9, atol=1e-9)


def test_forward_matches_numpy_pacnet_with_multichannel_targets():
    factor = 4
    sd = random_state_dict(factor, seed=4)
    low, image = inputs(factor, b=2, h=3, w=4, c=2, seed=5)
    model = _with_weights(factor, sd)
    got = np.asarray(model(low, image))
    want = np_pacnet(sd, low, image, factor)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    # the guide matters here: with a constant one the output differs clearly
    plain = np_pacnet(sd, low, image, factor, plain_transpose=True)
    assert np.abs(plain - want).max() > 100 * np.abs(got - want).max()


def test_equivariances_of_the_normalised_model():
    """pacnet's min-max normalisation makes the model affine-equivariant in the target
    (a > 0); channels are upsampled independently; images of a batch do not mix."""
    model = PacJointUpsample(4, rngs=nnx.Rngs(1))
    low, image = inputs(4, b=2, h=3, w=3, c=2, seed=6)
    out = np.asarray(model(low, image))
    np.testing.assert_allclose(model(2.5 * low - 3.0, image), 2.5 * out - 3.0, rtol=1e-4, atol=1e-4)
    one = np.asarray(model(low[..., 1:], image))
    np.testing.assert_allclose(out[..., 1:], one, rtol=1e-5, atol=1e-5)
    other = low.copy()
    other[1] = 100.0 * np.random.default_rng(0).normal(size=other[1].shape)
    np.testing.assert_allclose(np.asarray(model(other, image))[0], out[0], rtol=1e-5, atol=1e-5)
    flat = np.full_like(low, 2.0)
    assert np.isfinite(np.asarray(model(flat, image))).all()


def test_jit_equals_eager_and_gradients_are_finite():
    cfg = SegmenterConfig(kind="pacnet", patch_size=4)
    model = build_segmenter(cfg, nnx.Rngs(0))
    low, image = inputs(4, b=2, h=3, w=3, c=1, seed=7)
    low = low / 5.0
    eager = np.asarray(model(low, image))
    jitted = np.asarray(nnx.jit(lambda m, a, b: m(a, b))(model, low, image))
    np.testing.assert_allclose(jitted, eager, rtol=1e-5, atol=1e-6)

    masks = np.random.default_rng(0).uniform(size=image.shape[:3]) > 0.5
    grads = nnx.grad(lambda m: pacnet_l2_loss(m, low, image, masks)[0])(model)
    leaves = {
        "/".join(map(str, path)): np.asarray(v.get_value()) for path, v in nnx.to_flat_state(grads)
    }
    assert all(np.isfinite(g).all() for g in leaves.values())
    for key in ("net/up_convts/0/kernel", "net/branch_g/0/kernel", "net/branch_t/0/kernel"):
        assert np.abs(leaves[key]).max() > 0, key


def test_pacnet_l2_loss_is_mse_in_the_normalised_scale():
    cfg = SegmenterConfig(kind="pacnet", patch_size=2)
    model = build_segmenter(cfg, nnx.Rngs(2))
    rng = np.random.default_rng(1)
    low = rng.uniform(0.2, 0.6, (1, 3, 3, 1)).astype(np.float32)
    image = rng.uniform(0, 255, (1, 6, 6, 3)).astype(np.float32)
    masks = rng.uniform(size=(1, 6, 6)) > 0.5
    loss, values = pacnet_l2_loss(model, low, image, masks)
    scale = low.max() - low.min()
    pred = np.asarray(model(low, image))[0, :, :, 0]
    np.testing.assert_allclose(values[0, :, :, 0], pred, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss, np.mean((pred - masks[0]) ** 2) / scale**2, rtol=1e-4)
    np.testing.assert_allclose(probabilities("pacnet", jnp.array([-0.2, 0.3, 1.4])), [0, 0.3, 1])


# --- pacnet's checkpoints --------------------------------------------------------------------


def test_loader_reads_a_pacnet_state_dict_file_and_matches_numpy(tmp_path):
    torch = pytest.importorskip("torch")
    factor = 4
    sd = random_state_dict(factor, seed=8)
    path = tmp_path / "x4_pac_weights_epoch_5000.pth"
    torch.save({k: torch.from_numpy(v) for k, v in sd.items()}, path)  # model.state_dict()
    model = load_pacnet_joint_upsampler(path, factor)
    low, image = inputs(factor, b=1, h=3, w=4, c=2, seed=9)
    got = np.asarray(model(low, image))
    want = np_pacnet(sd, low, image, factor)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())

    # a 'state_dict' wrapper and DataParallel's 'module.' prefix load the same weights
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {f"module.{k}": torch.from_numpy(v) for k, v in sd.items()}}, wrapped)
    np.testing.assert_allclose(load_pacnet_joint_upsampler(wrapped, factor)(low, image), got)


def test_loader_names_missing_unexpected_and_misshaped_keys():
    factor = 8
    sd = random_state_dict(factor, seed=1)
    del sd["up_convts.2.bias"]
    sd["up_convts.3.weight"] = np.zeros((32, 32, 5, 5), np.float32)
    sd["branch_f.conv2.weight"] = np.zeros((2, 32, 5, 5), np.float32)
    with pytest.raises(StateDictMismatchError) as err:
        load_pacnet_joint_upsampler(sd, factor)
    msg = str(err.value)
    assert "\n" not in msg
    assert "missing keys (1): up_convts.2.bias" in msg
    assert "unexpected keys (1): up_convts.3.weight" in msg
    assert "branch_f.conv2.weight (2, 32, 5, 5) != (1, 32, 5, 5)" in msg
    # a checkpoint of another factor: the guide layer and the step count differ
    with pytest.raises(StateDictMismatchError, match="branch_g.conv3.weight"):
        load_pacnet_joint_upsampler(random_state_dict(4), 8)


# --- presets -----------------------------------------------------------------------------------


def test_presets():
    from jaxmot.seg.configs import get_config

    assert get_config("obj_seg_pac").model.learn_guide_scale is False
    assert get_config("synthetic_joint").model.learn_guide_scale is True  # as shipped
    for name in ("joint_pacnet_synthetic", "joint_pacnet_davis"):
        exp = get_config(name)
        assert exp.model.kind == "pacnet" and exp.model.pacnet == PacJointConfig()
        assert exp.model.patch_size == 16
    assert get_config("joint_pacnet_davis").data == get_config("davis_joint").data
    with pytest.raises(ValueError, match="power of two"):
        SegmenterConfig(kind="pacnet", patch_size=12)
