"""JDE's Darknet-53 + FPN model (jaxmot.jde.model) and the official-checkpoint
converter (jaxmot.jde.convert).

The full model's layer list is checked against facts read off the official
cfg/yolov3.cfg; output shapes are traced with nnx.eval_shape (no compilation). The
converter is checked end to end on a tiny network: a PyTorch Darknet written here from
the official module semantics (models.py create_modules / Darknet.forward: module
names conv_i, batch_norm_i, leaky_i, upsample_i, route_i, shortcut_i, yolo_i) is saved
as the official training checkpoint, loaded, and both forwards compared.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxmot.core.params import count_params
from jaxmot.core.torch_io import StateDictMismatchError
from jaxmot.jde.convert import (
    convert_state_dict,
    jde_shapes,
    load_official_jde,
    official_shapes,
    to_official_state_dict,
)
from jaxmot.jde.model import JDE, JDEConfig, darknet_layers
from jaxmot.jde.ops import UNCERTAINTY_INIT

torch = pytest.importorskip("torch")
F = torch.nn.functional

TINY = JDEConfig(
    width=64, height=64, width_multiplier=0.125, blocks=(1, 1, 1, 1, 1), embedding_dim=16, num_ids=5
)
# Every conv 8 wide, no residual blocks, 1 anchor: few distinct weight shapes, so a
# concrete model initialises quickly.
MINIMAL = JDEConfig(
    width=32,
    height=32,
    width_multiplier=0.01,
    blocks=(0,) * 5,
    embedding_dim=8,
    num_anchors=1,
    num_ids=3,
)


@functools.cache
def _abstract_once(config: JDEConfig) -> JDE:
    return nnx.eval_shape(lambda: JDE(config, rngs=nnx.Rngs(0)))


def _abstract(config: JDEConfig = TINY) -> JDE:
    """A fresh abstract model (converting fills it in place); tracing one is slow."""
    return nnx.clone(_abstract_once(config))


# cfg/yolov3.cfg, section by section: conv filters in order (78 convs), 116 layers.
# fmt: off
_BACKBONE_FILTERS = (
    [32, 64, 32, 64]
    + [128] + [64, 128] * 2
    + [256] + [128, 256] * 8
    + [512] + [256, 512] * 8
    + [1024] + [512, 1024] * 4
)
CFG_CONV_FILTERS = (
    _BACKBONE_FILTERS
    + [512, 1024] * 3 + [24, 512]
    + [256] + [256, 512] * 3 + [24, 512]
    + [128] + [128, 256] * 3 + [24, 512]
)
# fmt: on
CFG_ROUTES = {
    82: (-3,),
    84: (-3, -1),
    86: (-7,),
    89: (-1, 61),
    97: (-3,),
    99: (-3, -1),
    101: (-7,),
    104: (-1, 36),
    112: (-3,),
    114: (-3, -1),
}
CFG_YOLO = {85: (8, 9, 10, 11), 100: (4, 5, 6, 7), 115: (0, 1, 2, 3)}  # layer -> mask
CFG_UPSAMPLE = (88, 103)


def test_full_layer_list_is_the_official_cfg():
    layers = darknet_layers(JDEConfig.full())
    assert len(layers) == 116
    convs = [layer for layer in layers if layer.kind == "conv"]
    assert [c.out_channels for c in convs] == CFG_CONV_FILTERS
    assert {i: la.layers for i, la in enumerate(layers) if la.kind == "route"} == CFG_ROUTES
    assert {i: la.mask for i, la in enumerate(layers) if la.kind == "yolo"} == CFG_YOLO
    assert tuple(i for i, la in enumerate(layers) if la.kind == "upsample") == CFG_UPSAMPLE
    shortcuts = [i for i, la in enumerate(layers) if la.kind == "shortcut"]
    assert len(shortcuts) == 23 and all(layers[i].layers == (-3,) for i in shortcuts)
    # Darknet-53 is layers 0-74 (darknet53.conv.74); the 3 stride-2 convs after layer 0
    # and the two stage outputs the FPN reads (36: stride 8, 61: stride 16).
    stride2 = [i for i, la in enumerate(layers) if la.kind == "conv" and la.stride == 2]
    assert stride2 == [1, 5, 12, 37, 62]
    assert layers[36].kind == layers[61].kind == layers[74].kind == "shortcut"
    # Route channels: concat(upsampled 256, layer 61's 512) and (128, 256); heads 24 + 512.
    assert (layers[89].out_channels, layers[104].out_channels) == (768, 384)
    assert all(layers[i - 1].out_channels == 536 for i in CFG_YOLO)
    assert all(c.leaky == c.batch_norm and c.size in (1, 3) for c in convs)
    heads = [c for c in convs if not c.batch_norm]
    assert [(c.out_channels, c.size) for c in heads] == [(24, 1), (512, 3)] * 3
    assert [layers[i].in_channels for i in (83, 98, 113)] == [512, 256, 128]  # the 5th convs


def test_config_width_blocks_and_validation():
    small = darknet_layers(JDEConfig.small())
    convs = [la for la in small if la.kind == "conv"]
    assert convs[0].out_channels == 8 and max(c.out_channels for c in convs) == 256
    assert sum(la.kind == "shortcut" for la in small) == 7  # blocks (1, 1, 2, 2, 1)
    # The prediction and embedding convs are not scaled.
    assert [c.out_channels for c in convs if not c.batch_norm] == [24, 128] * 3
    cfg = JDEConfig(width_multiplier=0.3)
    assert [cfg.filters(f) for f in (32, 64, 1024)] == [8, 16, 304]  # 9.6 -> 8, 19.2 -> 16
    assert JDEConfig(width_multiplier=0.01).filters(1024) == 8
    assert (JDEConfig.full("864x480").width, JDEConfig.full("864x480").height) == (864, 480)
    assert JDEConfig(blocks=[1, 2, 8, 8, 4]).blocks == (1, 2, 8, 8, 4)  # from JSON lists
    with pytest.raises(ValueError, match="1000x608"):
        JDEConfig(width=1000)
    with pytest.raises(ValueError, match="blocks"):
        JDEConfig(blocks=(1, 2, 8, 8))
    with pytest.raises(ValueError, match="official resolutions"):
        JDEConfig.full("640x480")


def _output_shapes(model: JDE, batch: int, height: int, width: int):
    graphdef, state = nnx.split(model)
    images = jax.ShapeDtypeStruct((batch, height, width, 3), jnp.float32)
    outs = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s)(x), state, images)
    assert len(outs) == 3
    e, a = model.config.embedding_dim, model.config.num_anchors
    for out, stride in zip(outs, (8, 16, 32), strict=True):
        h, w = height // stride, width // stride
        assert out.deltas.shape == (batch, h, w, a, 4)
        assert out.conf.shape == (batch, h, w, a, 2)
        assert out.embedding.shape == (batch, h, w, e)
        assert out.deltas.dtype == out.embedding.dtype == jnp.float32
    assert model.uncertainty.shape == (3, 3)
    assert (model.classifier is None) == (model.config.num_ids == 0)


def test_output_shapes():
    _output_shapes(_abstract(), 2, 64, 96)  # non-square: h and w must not swap


@pytest.mark.slow
def test_full_model_shapes_and_keys():
    config = JDEConfig.full(num_ids=14455)
    model = _abstract(config)
    _output_shapes(model, 1, 608, 1088)
    want = {k: v for k, v in official_shapes(config).items() if "num_batches" not in k}
    assert jde_shapes(model) == want
    assert len(want) == 78 + 6 + 72 * 4 + 3 * 3 + 2


def test_bfloat16_compute_keeps_float32_params_and_outputs():
    def forward():
        model = JDE(MINIMAL, dtype=jnp.bfloat16, rngs=nnx.Rngs(0))
        return model(jnp.zeros((1, 32, 32, 3)))[0], model.layers[0].conv.kernel[...]

    out, kernel = nnx.eval_shape(forward)
    assert out.conf.dtype == kernel.dtype == jnp.float32


@pytest.mark.parametrize("shape", [(1, 60, 64, 3), (1, 64, 48, 3), (1, 64, 64, 1), (64, 64, 3)])
def test_input_size_must_be_multiple_of_32(shape):
    # The check runs before any layer, so an abstract model raises it eagerly.
    with pytest.raises(ValueError, match=str(shape).replace("(", r"\(").replace(")", r"\)")):
        _abstract()(jnp.zeros(shape))


def test_initial_values():
    model = JDE(MINIMAL, rngs=nnx.Rngs(jax.random.key(0, impl="rbg")))
    np.testing.assert_allclose(model.uncertainty[...], np.tile(UNCERTAINTY_INIT, (3, 1)))
    assert model.uncertainty[...].tolist()[0] == pytest.approx([-4.85, -4.15, -2.3])
    assert isinstance(model.classifier, nnx.Linear) and model.classifier.kernel.shape == (8, 3)
    # Official BN init: weight ~ U(0, 1), bias 0.
    scale = np.asarray(model.layers[0].bn.scale[...])
    assert scale.min() >= 0 and scale.max() <= 1 and not np.all(scale == 1)
    assert count_params(model) > 0


# --- a PyTorch Darknet written from the official module semantics --------------------


class _Yolo(torch.nn.Module):
    def __init__(self, s_c, s_r, s_id):
        super().__init__()
        self.s_c = torch.nn.Parameter(torch.tensor([s_c]))
        self.s_r = torch.nn.Parameter(torch.tensor([s_r]))
        self.s_id = torch.nn.Parameter(torch.tensor([s_id]))


class TorchDarknet(torch.nn.Module):
    """Official create_modules / Darknet.forward on our layer list (eval mode)."""

    def __init__(self, config: JDEConfig, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.defs = darknet_layers(config)
        self.module_list = torch.nn.ModuleList()
        for i, d in enumerate(self.defs):
            seq = torch.nn.Sequential()
            if d.kind == "conv":
                pad = (d.size - 1) // 2
                conv = torch.nn.Conv2d(
                    d.in_channels, d.out_channels, d.size, d.stride, pad, bias=not d.batch_norm
                )
                seq.add_module(f"conv_{i}", conv)
                if d.batch_norm:
                    bn = torch.nn.BatchNorm2d(d.out_channels)
                    with torch.no_grad():
                        bn.weight.uniform_(0.5, 1.5, generator=gen)
                        bn.bias.normal_(0, 0.1, generator=gen)
                        bn.running_mean.normal_(0, 0.1, generator=gen)
                        bn.running_var.uniform_(0.5, 2.0, generator=gen)
                    seq.add_module(f"batch_norm_{i}", bn)
                if d.leaky:
                    seq.add_module(f"leaky_{i}", torch.nn.LeakyReLU(0.1))
            elif d.kind == "yolo":
                seq.add_module(f"yolo_{i}", _Yolo(-4.0 - i / 100, -5.0 - i / 100, -2.0 - i / 100))
            else:  # route / shortcut / upsample hold no state
                seq.add_module(f"{d.kind}_{i}", torch.nn.Identity())
            self.module_list.append(seq)
        self.classifier = torch.nn.Linear(config.embedding_dim, config.num_ids)

    def forward(self, x):
        outputs, heads = [], []
        for d, module in zip(self.defs, self.module_list, strict=True):
            if d.kind == "conv":
                x = module(x)
            elif d.kind == "upsample":
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            elif d.kind == "route":
                parts = [outputs[v] for v in d.layers]
                x = parts[0] if len(parts) == 1 else torch.cat(parts, 1)
            elif d.kind == "shortcut":
                x = outputs[-1] + outputs[d.layers[0]]
            else:
                heads.append(x)
            outputs.append(x)
        return heads  # p_cat of the yolo layers: stride 32, 16, 8


@pytest.fixture(scope="module")
def torch_net():
    torch.manual_seed(0)
    return TorchDarknet(TINY).eval()


def test_official_keys_are_exactly_the_torch_modules(torch_net):
    state = torch_net.state_dict()
    assert official_shapes(TINY) == {k: tuple(v.shape) for k, v in state.items()}
    counters = {k for k in state if k.endswith("num_batches_tracked")}
    assert jde_shapes(_abstract()) == {
        k: tuple(v.shape) for k, v in state.items() if k not in counters
    }


def test_checkpoint_converts_and_matches_torch_forward(torch_net, tmp_path):
    path = tmp_path / "latest.pt"
    torch.save({"epoch": 3, "model": torch_net.state_dict(), "optimizer": None}, path)
    model = load_official_jde(path, TINY)

    images = np.random.default_rng(0).uniform(size=(2, 64, 96, 3)).astype(np.float32)
    with torch.no_grad():
        heads = torch_net(torch.from_numpy(images).permute(0, 3, 1, 2))
    outs = nnx.jit(lambda m, x: m(x))(model, jnp.asarray(images))
    a = TINY.num_anchors
    for out, p_cat in zip(outs, heads[::-1], strict=True):  # ours: stride 8 first
        b, _, h, w = p_cat.shape
        # The official YOLOLayer: p.view(nB, nA, 6, h, w).permute(0, 1, 3, 4, 2).
        p = p_cat[:, : a * 6].view(b, a, 6, h, w).permute(0, 3, 4, 1, 2).numpy()
        emb = p_cat[:, a * 6 :].permute(0, 2, 3, 1).numpy()
        np.testing.assert_allclose(out.deltas, p[..., :4], atol=1e-4, rtol=1e-4)
        np.testing.assert_allclose(out.conf, p[..., 4:], atol=1e-4, rtol=1e-4)
        np.testing.assert_allclose(out.embedding, emb, atol=1e-4, rtol=1e-4)

    # Uncertainty rows in stride order; yolo layers come stride 32, 16, 8 in the cfg.
    yolo = [i for i, d in enumerate(torch_net.defs) if d.kind == "yolo"][::-1]
    want = [[-5.0 - i / 100, -4.0 - i / 100, -2.0 - i / 100] for i in yolo]  # s_r, s_c, s_id
    np.testing.assert_allclose(model.uncertainty[...], want, rtol=1e-6)
    # Round trip: the model's official state dict is the checkpoint's (bar counters).
    exported = to_official_state_dict(model)
    state = {k: v.numpy() for k, v in torch_net.state_dict().items()}
    assert set(exported) == {k for k in state if not k.endswith("num_batches_tracked")}
    for key, value in exported.items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)


def test_bare_state_dict_with_module_prefix_uses_every_key(torch_net):
    state = {f"module.{k}": v for k, v in torch_net.state_dict().items()}
    result = convert_state_dict(state, _abstract())
    assert not result.missing and not result.unexpected
    assert set(result.loaded) | {k.removeprefix("module.") for k in result.skipped} == {
        k.removeprefix("module.") for k in state
    }
    assert all(k.endswith("num_batches_tracked") for k in result.skipped)


@pytest.mark.parametrize(
    "edit, match",
    [
        ("drop", r"missing keys \(1\).*module_list\.3\.batch_norm_3\.running_var"),
        ("extra", r"unexpected keys \(1\).*module_list\.7\.yolo_7\.anchors"),
        (
            "shape",
            r"module_list\.0\.conv_0\.weight: checkpoint \[8, 3, 1, 1\] "
            r"vs model \[8, 3, 3, 3\]",
        ),
    ],
)
def test_key_and_shape_errors_name_the_key(torch_net, edit, match):
    state = dict(torch_net.state_dict())
    if edit == "drop":
        del state["module_list.3.batch_norm_3.running_var"]
    elif edit == "extra":
        # (the official YOLOLayer keeps its anchors as a plain attribute, not a buffer)
        state["module_list.7.yolo_7.anchors"] = torch.zeros(4, 2)
    else:
        state["module_list.0.conv_0.weight"] = torch.zeros(8, 3, 1, 1)
    with pytest.raises(StateDictMismatchError, match=match):
        convert_state_dict({"model": state}, _abstract())


def test_classifier_needs_num_ids_or_ignore(torch_net):
    tracking = dataclasses.replace(TINY, num_ids=0)
    state = torch_net.state_dict()
    with pytest.raises(StateDictMismatchError, match="num_ids=5 or pass ignore_classifier"):
        convert_state_dict(state, _abstract(tracking))
    result = convert_state_dict(state, _abstract(tracking), ignore_classifier=True)
    assert {"classifier.weight", "classifier.bias"} <= set(result.skipped)
    wrong = dataclasses.replace(TINY, num_ids=7)
    with pytest.raises(StateDictMismatchError, match=r"classifier\.weight: checkpoint \[5, 16\]"):
        convert_state_dict(state, _abstract(wrong))
