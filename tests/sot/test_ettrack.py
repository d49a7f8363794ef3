"""E.T.Track (jaxmot.sot.model): backbone architecture, output shapes, the
template/track split, pixel-wise correlation, and the official-checkpoint converter
checked end to end against a PyTorch forward written from the official module code."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxmot.core.params import count_params
from jaxmot.core.torch_io import StateDictMismatchError
from jaxmot.sot.convert import ettrack_shapes, load_ettrack, to_official_state_dict
from jaxmot.sot.correlation import pixelwise_correlation
from jaxmot.sot.lighttrack import BlockSpec, decode_backbone_path, make_divisible
from jaxmot.sot.model import ETTrack, ETTrackConfig, preprocess

NARROW = ETTrackConfig.narrow()

# E.T.Track's LightTrack-Mobile path, decoded by hand from
# back_04502514044521042540+cls_211000022+reg_100000111_ops_32 (choices
# 0..5 = k3e4 k3e6 k5e4 k5e6 k7e4 k7e6; stages of 2, 4, 4, 4, 4 blocks; cut after
# block 2 of stage 3): (kind, kernel, expansion, channels, stride) per block.
BACKBONE = (
    (("ds", 3, 1, 16, 1),),
    (("ir", 7, 4, 24, 2), ("ir", 7, 6, 24, 1)),
    (("ir", 3, 4, 40, 2), ("ir", 5, 4, 40, 1), ("ir", 7, 6, 40, 1), ("ir", 3, 6, 40, 1)),
    (("ir", 7, 4, 80, 2), ("ir", 3, 4, 80, 1), ("ir", 7, 4, 80, 1), ("ir", 7, 4, 80, 1)),
    (("ir", 7, 6, 96, 1), ("ir", 5, 4, 96, 1), ("ir", 3, 6, 96, 1)),
)


# --- the official checkpoint layout, written from the official module names ----------


def official_shapes(cfg: ETTrackConfig) -> dict[str, tuple[int, ...]]:
    """Every key of `ET_Tracker(...).state_dict()` with its shape, for `cfg`'s widths."""
    shapes = {}

    def conv(name, out_ch, in_ch, k, bias=False):
        shapes[f"{name}.weight"] = (out_ch, in_ch, k, k)
        if bias:
            shapes[f"{name}.bias"] = (out_ch,)

    def bn(name, c):
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.{leaf}"] = (c,)
        shapes[f"{name}.num_batches_tracked"] = ()

    width = lambda c: make_divisible(c * cfg.backbone_width)  # noqa: E731 (timm round_channels)
    c_in = width(16)
    conv("backbone_net.conv_stem", c_in, 3, 3)
    bn("backbone_net.bn1", c_in)
    for i, stage in enumerate(BACKBONE):
        for j, (kind, k, e, c, _) in enumerate(stage):
            p, c_out = f"backbone_net.blocks.{i}.{j}", width(c)
            mid = c_in if kind == "ds" else make_divisible(c_in * e)
            se = make_divisible(mid * 0.25)
            if kind == "ir":
                conv(f"{p}.conv_pw", mid, c_in, 1)
                bn(f"{p}.bn1", mid)
            conv(f"{p}.conv_dw", mid, 1, k)
            bn(f"{p}.bn{1 if kind == 'ds' else 2}", mid)
            conv(f"{p}.se.conv_reduce", se, mid, 1, bias=True)
            conv(f"{p}.se.conv_expand", mid, se, 1, bias=True)
            conv(f"{p}.conv_pw" if kind == "ds" else f"{p}.conv_pwl", c_out, mid, 1)
            bn(f"{p}.bn{2 if kind == 'ds' else 3}", c_out)
            c_in = c_out
    bn("neck.BN_z.0", c_in)
    bn("neck.BN_x.0", c_in)
    conv("feature_fusor.pw_corr.0.CA_layer.fc1", 64, 64, 1, bias=True)
    conv("feature_fusor.pw_corr.0.CA_layer.fc2", 64, 64, 1, bias=True)
    conv("feature_fusor.adj_layer.0", cfg.adj_channels, 64, 1, bias=True)

    ex = cfg.exemplar
    for branch, ch, kernels in (
        ("cls_branch", cfg.cls_channels, cfg.cls_kernels),
        ("bbreg_branch", cfg.reg_channels, cfg.reg_kernels),
    ):
        for n, k in enumerate(kernels, start=1):
            p = f"{branch}_{n}"
            if n in (1, len(kernels)):  # SeparableConv2d_BNReLU
                c_in = cfg.adj_channels if n == 1 else ch
                conv(f"{p}.conv1", c_in, 1, k)
                conv(f"{p}.pointwise", ch, c_in, 1)
                bn(f"{p}.BN", ch)
                continue
            shapes[f"{p}.K"] = (ex.num_exemplars, ex.query_dim)
            shapes[f"{p}.V_dw"] = (ex.num_exemplars, ch * k * k)
            shapes[f"{p}.V_pw"] = (ex.num_exemplars, ch * ch)
            shapes[f"{p}.average_pooler.fc1.weight"] = (ex.query_dim, ch)
            shapes[f"{p}.average_pooler.fc1.bias"] = (ex.query_dim,)
            bn(f"{p}.dw_bn", ch)
            bn(f"{p}.pw_bn", ch)
            conv(f"{p}.se.conv_reduce", ch // 2, ch, 1, bias=True)
            conv(f"{p}.se.conv_expand", ch, ch // 2, 1, bias=True)
            for name, (o, i) in (("linear1", (ex.ffn_dim, ch)), ("linear2", (ch, ex.ffn_dim))):
                shapes[f"{p}.{name}.weight"], shapes[f"{p}.{name}.bias"] = (o, i), (o,)
            for name in ("norm1", "norm2"):
                shapes[f"{p}.{name}.weight"] = shapes[f"{p}.{name}.bias"] = (ch,)
    conv("cls_pred_head.cls_pred", 1, cfg.cls_channels, 3, bias=True)
    conv("reg_pred_head.bbox_pred", 4, cfg.reg_channels, 3, bias=True)
    return shapes


def official_state_dict(cfg: ETTrackConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Random weights in the official layout, scaled so that activations stay O(1)."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, shape in official_shapes(cfg).items():
        leaf = key.rsplit(".", 1)[-1]
        if leaf == "num_batches_tracked":
            value = np.array(1000, np.int64)
        elif leaf == "running_var" or (leaf == "weight" and len(shape) == 1):  # BN, LN
            value = rng.uniform(0.5, 1.5, shape)
        elif len(shape) == 1 or leaf == "K":  # biases, running means, keys
            value = (1.0 if leaf == "K" else 0.1) * rng.normal(size=shape)
        else:
            channels = cfg.cls_channels if key.startswith("cls") else cfg.reg_channels
            # Fan-in: k*k for V_dw [E, C*k*k], C for V_pw [E, C*C], in*k*k for a conv.
            fan_in = {"V_dw": shape[-1] // channels, "V_pw": channels}.get(
                leaf, int(np.prod(shape[1:]))
            )
            value = rng.normal(size=shape) / np.sqrt(fan_in)
        out[key] = np.asarray(value, np.int64 if leaf == "num_batches_tracked" else np.float32)
    return out


# --- a PyTorch forward of the official modules (eval mode), NCHW --------------------


def torch_forward(sd: dict, z: np.ndarray, x: np.ndarray, cfg: ETTrackConfig):
    """ET_Tracker.template(z); ET_Tracker.track(x), from the official module code, on
    NHWC RGB 0..255 inputs; returns NHWC cls and reg."""
    import torch
    import torch.nn.functional as F

    t = {k: torch.from_numpy(np.asarray(v)) for k, v in sd.items()}
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def normalize(img):
        return (torch.from_numpy(np.asarray(img)).float().permute(0, 3, 1, 2) / 255 - mean) / std

    def bn(v, p):
        w, b = t[f"{p}.weight"], t[f"{p}.bias"]
        return F.batch_norm(
            v, t[f"{p}.running_mean"], t[f"{p}.running_var"], w, b, False, 0.1, 1e-5
        )

    def conv(v, p, stride=1, padding=0, groups=1):
        return F.conv2d(v, t[f"{p}.weight"], t.get(f"{p}.bias"), stride, padding, 1, groups)

    def se(v, p, gate):
        s = F.relu(conv(v.mean((2, 3), keepdim=True), f"{p}.conv_reduce"))
        return v * gate(conv(s, f"{p}.conv_expand"))

    def backbone(v):
        v = F.silu(bn(conv(v, "backbone_net.conv_stem", 2, 1), "backbone_net.bn1"))
        for i, stage in enumerate(BACKBONE):
            for j, (kind, k, _, _, s) in enumerate(stage):
                p = f"backbone_net.blocks.{i}.{j}"
                u = v
                if kind == "ir":
                    u = F.silu(bn(conv(u, f"{p}.conv_pw"), f"{p}.bn1"))
                dw_bn = f"{p}.bn1" if kind == "ds" else f"{p}.bn2"
                u = F.silu(bn(conv(u, f"{p}.conv_dw", s, k // 2, u.shape[1]), dw_bn))
                u = se(u, f"{p}.se", F.hardsigmoid)
                u = conv(u, f"{p}.conv_pw" if kind == "ds" else f"{p}.conv_pwl")
                u = bn(u, f"{p}.bn2" if kind == "ds" else f"{p}.bn3")
                v = u + v if (s == 1 and u.shape == v.shape) else u
        return v

    def separable(v, p, k):
        v = conv(conv(v, f"{p}.conv1", 1, (k - 1) // 2, v.shape[1]), f"{p}.pointwise")
        return F.relu(bn(v, f"{p}.BN"))

    def exemplar(v, p, k):
        b, c, h, w = v.shape
        q = F.relu(
            F.linear(
                v.mean((2, 3)),
                t[f"{p}.average_pooler.fc1.weight"],
                t[f"{p}.average_pooler.fc1.bias"],
            )
        )
        qk = q @ t[f"{p}.K"].T / np.sqrt(q.shape[-1])
        attn = torch.softmax(qk / cfg.exemplar.temperature, dim=-1)
        dw = (attn @ t[f"{p}.V_dw"]).view(b * c, 1, k, k)
        u = F.conv2d(v.reshape(1, b * c, h, w), dw, None, 1, (k - 1) // 2, 1, b * c)
        u = se(F.relu(bn(u.view(b, c, h, w), f"{p}.dw_bn")), f"{p}.se", torch.sigmoid)
        pw = (attn @ t[f"{p}.V_pw"]).view(b * c, c, 1, 1)
        u = F.conv2d(u.reshape(1, b * c, h, w), pw, None, 1, 0, 1, b)
        u = F.relu(bn(u.view(b, c, h, w), f"{p}.pw_bn")) + v
        tokens = u.view(b, c, -1).permute(0, 2, 1)
        tokens = F.layer_norm(tokens, (c,), t[f"{p}.norm1.weight"], t[f"{p}.norm1.bias"])
        ff = F.relu(F.linear(tokens, t[f"{p}.linear1.weight"], t[f"{p}.linear1.bias"]))
        tokens = tokens + F.linear(ff, t[f"{p}.linear2.weight"], t[f"{p}.linear2.bias"])
        tokens = F.layer_norm(tokens, (c,), t[f"{p}.norm2.weight"], t[f"{p}.norm2.bias"])
        return tokens.permute(0, 2, 1).reshape(b, c, h, w)

    with torch.no_grad():
        zf = bn(backbone(normalize(z)), "neck.BN_z.0")
        xf = bn(backbone(normalize(x)), "neck.BN_x.0")
        b, c, h, w = xf.shape
        corr = (zf.view(b, c, -1).transpose(1, 2) @ xf.view(b, c, -1)).view(b, -1, h, w)
        ca = "feature_fusor.pw_corr.0.CA_layer"
        s = conv(F.relu(conv(corr.mean((2, 3), keepdim=True), f"{ca}.fc1")), f"{ca}.fc2")
        feat = conv(corr * torch.sigmoid(s), "feature_fusor.adj_layer.0")
        heads = {}
        for name, branch, kernels in (
            ("cls", "cls_branch", cfg.cls_kernels),
            ("reg", "bbreg_branch", cfg.reg_kernels),
        ):
            v = feat
            for n, k in enumerate(kernels, start=1):
                p = f"{branch}_{n}"
                v = separable(v, p, k) if n in (1, len(kernels)) else exemplar(v, p, k)
            heads[name] = v
        cls = 0.1 * conv(heads["cls"], "cls_pred_head.cls_pred", 1, 1)
        reg = F.relu(conv(heads["reg"], "reg_pred_head.bbox_pred", 1, 1)) * 16
    return cls.permute(0, 2, 3, 1).numpy(), reg.permute(0, 2, 3, 1).numpy()


# --- fixtures ----------------------------------------------------------------------


def _images(side, seed, batch=2):
    return np.random.default_rng(seed).integers(0, 256, (batch, side, side, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The narrow model loaded from a torch-saved, wrapped, DataParallel-prefixed
    official-format checkpoint; its state dict; the LoadResult."""
    torch = pytest.importorskip("torch")
    sd = official_state_dict(NARROW)
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint_e35.pth"
    wrapped = {f"module.{k}": torch.from_numpy(np.asarray(v)) for k, v in sd.items()}
    torch.save({"epoch": 35, "state_dict": wrapped}, path)
    model = nnx.eval_shape(lambda: ETTrack(NARROW, rngs=nnx.Rngs(0)))
    result = load_ettrack(model, path)
    model.eval()
    return model, sd, result


@pytest.fixture(scope="module")
def jitted():
    return {
        "embed": nnx.jit(lambda m, z: m.embed_template(z)),
        "track": nnx.jit(lambda m, zf, x: m.track(zf, x)),
        "call": nnx.jit(lambda m, z, x: m(z, x)),
    }


# --- tests -------------------------------------------------------------------------


def test_backbone_path_decodes_to_the_official_block_list():
    want = tuple(tuple(BlockSpec(*b) for b in stage) for stage in BACKBONE)
    assert decode_backbone_path() == want
    with pytest.raises(ValueError, match="block digits"):
        decode_backbone_path("back_0123+cls_211000022+reg_100000111_ops_32")


def test_full_model_has_official_keys_shapes_and_param_count():
    full = nnx.eval_shape(lambda: ETTrack(ETTrackConfig(), rngs=nnx.Rngs(0)))
    want = {k: v for k, v in official_shapes(ETTrackConfig()).items() if "num_batches" not in k}
    assert ettrack_shapes(full) == want
    assert ettrack_shapes(full)["cls_branch_2.V_dw"] == (4, 256 * 5 * 5)
    assert full.backbone.out_channels == 96
    assert count_params(full) == 9_047_221  # 36.2 MB float32
    narrow = nnx.eval_shape(lambda: ETTrack(NARROW, rngs=nnx.Rngs(0)))
    assert count_params(narrow) * 4 < 1.5e6
    assert ettrack_shapes(narrow) == {
        k: v for k, v in official_shapes(NARROW).items() if "num_batches" not in k
    }


def test_converter_loads_every_key_and_round_trips(loaded):
    model, sd, result = loaded
    n_stats = sum(k.endswith("num_batches_tracked") for k in sd)
    assert len(result.loaded) == len(sd) - n_stats and not result.missing
    assert len(result.skipped) == n_stats and not result.unexpected
    assert all(k.startswith("state_dict/module.") for k in result.skipped)
    back = to_official_state_dict(model)
    assert set(back) == {k for k in sd if not k.endswith("num_batches_tracked")}
    for key, value in back.items():
        np.testing.assert_array_equal(value, sd[key], err_msg=key)


def test_outputs_match_a_torch_forward_of_the_official_modules(loaded, jitted):
    model, sd, _ = loaded
    z, x = _images(127, 1), _images(256, 2)
    out = jitted["call"](model, z, x)
    cls, reg = torch_forward(sd, z, x, NARROW)
    assert out["cls"].shape == (2, 16, 16, 1) and out["reg"].shape == (2, 16, 16, 4)
    np.testing.assert_allclose(out["cls"], cls, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(out["reg"], reg, rtol=1e-3, atol=1e-3)
    assert np.std(cls) > 1e-3 and np.mean(reg > 0) > 0.1  # not a degenerate comparison

    # The tracker's split: template features once, then track, equals the full call.
    zf = jitted["embed"](model, z)
    assert zf.shape == (2, 8, 8, model.backbone.out_channels)
    split = jitted["track"](model, zf, x)
    for key in ("cls", "reg"):
        np.testing.assert_allclose(split[key], out[key], rtol=1e-5, atol=1e-5)


def test_big_search_size_and_template_check(loaded, jitted):
    model, _, _ = loaded
    zf = jitted["embed"](model, _images(127, 3, batch=1))
    out = jitted["track"](model, zf, _images(NARROW.big_search_size, 4, batch=1))
    assert out["cls"].shape == (1, 18, 18, 1) and out["reg"].shape == (1, 18, 18, 4)
    assert NARROW.feature_size(288) == 18 and NARROW.template_positions == 64
    with pytest.raises(ValueError, match="positions"):
        model.track(zf[:, :4], _images(256, 5, batch=1))


def test_mismatched_checkpoints_name_the_keys(loaded):
    model, sd, _ = loaded
    bad = dict(sd)
    del bad["cls_branch_3.V_pw"]
    bad["cls_branch_9.K"] = np.zeros((4, 32), np.float32)
    with pytest.raises(StateDictMismatchError) as err:
        load_ettrack(model, bad)
    assert "cls_branch_3.V_pw" in str(err.value) and "cls_branch_9.K" in str(err.value)

    wrong = dict(sd, **{"bbreg_branch_2.V_dw": np.zeros((4, 7), np.float32)})
    with pytest.raises(StateDictMismatchError, match=r"bbreg_branch_2.V_dw: checkpoint \[4, 7\]"):
        load_ettrack(model, wrong)

    # An abstract model cannot be left partly unset, whatever `strict` says.
    abstract = nnx.eval_shape(lambda: ETTrack(NARROW, rngs=nnx.Rngs(0)))
    with pytest.raises(StateDictMismatchError, match="abstract"):
        load_ettrack(abstract, bad, strict=False)
    # A concrete one keeps its value for a missing key when not strict.
    before = np.asarray(model.cls_tower[2].pw_kernels[...])
    result = load_ettrack(model, bad, strict=False)
    assert result.missing == ("cls_branch_3.V_pw",) and result.unexpected == ("cls_branch_9.K",)
    np.testing.assert_array_equal(model.cls_tower[2].pw_kernels[...], before)


def test_preprocess_is_the_official_normalisation():
    img = _images(4, 6, batch=1)
    want = (img / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(preprocess(img), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(preprocess(img.astype(np.float32)), preprocess(img))


def test_pixelwise_correlation_matches_a_loop():
    rng = np.random.default_rng(7)
    z = rng.normal(size=(2, 3, 2, 5)).astype(np.float32)
    x = rng.normal(size=(2, 4, 6, 5)).astype(np.float32)
    want = np.zeros((2, 4, 6, 6), np.float32)
    for b in range(2):
        for p in range(6):
            for i in range(4):
                for j in range(6):
                    want[b, i, j, p] = np.dot(z[b, p // 2, p % 2], x[b, i, j])
    np.testing.assert_allclose(pixelwise_correlation(z, x), want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="share"):
        pixelwise_correlation(z[:, :, :, :4], x)


@pytest.mark.slow  # ~20 s: compiling the train-mode graph on a 2-core CPU
def test_train_mode_runs_and_updates_batch_statistics(loaded):
    model, _, _ = loaded
    saved = jax.tree.map(np.array, nnx.state(model, nnx.BatchStat))
    model.train()
    try:
        out = nnx.jit(lambda m, z, x: m(z, x))(model, _images(127, 8), _images(256, 9))
        assert jnp.all(jnp.isfinite(out["cls"])) and jnp.all(jnp.isfinite(out["reg"]))
        assert not np.allclose(model.neck_search_bn.mean[...], saved["neck_search_bn"]["mean"])
        assert not np.allclose(
            model.cls_tower[1].dw_bn["var"][...], saved["cls_tower"][1]["dw_bn"]["var"]
        )
    finally:
        model.eval()
        nnx.update(model, saved)
