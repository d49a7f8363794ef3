"""torchvision state dicts -> NNX ResNet: key names, layouts, errors, and a torch forward."""

import sys

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxmot.core.torch_io import StateDictMismatchError
from jaxmot.reid.model import ReIDModel
from jaxmot.reid.resnet import ResNet
from jaxmot.reid.resnet_convert import (
    load_torchvision_resnet,
    to_torchvision_state_dict,
    torchvision_shapes,
)

_BLOCKS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
}


def torchvision_state_shapes(depth, width=64, num_classes=1000):
    """`torchvision.models.resnet{depth}().state_dict()` keys and shapes, written out from
    torchvision's resnet.py (with every channel count scaled by width / 64)."""
    kind, counts = _BLOCKS[depth]
    shapes = {}

    def conv(name, out_ch, in_ch, k):
        shapes[f"{name}.weight"] = (out_ch, in_ch, k, k)

    def bn(name, ch):
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.{leaf}"] = (ch,)
        shapes[f"{name}.num_batches_tracked"] = ()

    conv("conv1", width, 3, 7)
    bn("bn1", width)
    inplanes = width
    for stage, count in enumerate(counts, start=1):
        planes = width * 2 ** (stage - 1)
        for b in range(count):
            p = f"layer{stage}.{b}"
            if kind == "basic":
                conv(f"{p}.conv1", planes, inplanes, 3), bn(f"{p}.bn1", planes)
                conv(f"{p}.conv2", planes, planes, 3), bn(f"{p}.bn2", planes)
                out = planes
            else:
                conv(f"{p}.conv1", planes, inplanes, 1), bn(f"{p}.bn1", planes)
                conv(f"{p}.conv2", planes, planes, 3), bn(f"{p}.bn2", planes)
                conv(f"{p}.conv3", planes * 4, planes, 1), bn(f"{p}.bn3", planes * 4)
                out = planes * 4
            if b == 0 and (stage > 1 or inplanes != out):  # stride 2 or a channel change
                conv(f"{p}.downsample.0", out, inplanes, 1), bn(f"{p}.downsample.1", out)
            inplanes = out
    shapes["fc.weight"], shapes["fc.bias"] = (num_classes, inplanes), (num_classes,)
    return shapes


def random_state_dict(depth, width, seed=0):
    rng = np.random.default_rng(seed)
    state = {}
    for key, shape in torchvision_state_shapes(depth, width).items():
        if key.endswith("num_batches_tracked"):
            state[key] = np.array(1000, np.int64)
        elif key.endswith("running_var"):
            state[key] = rng.uniform(0.5, 2.0, shape).astype(np.float32)
        else:
            state[key] = (rng.normal(size=shape) * 0.2).astype(np.float32)
    return state


def _nnx_to_torch(value):
    """What a torch array should look like after conversion: OIHW -> HWIO."""
    return value.transpose(2, 3, 1, 0) if value.ndim == 4 else value


_NNX_LEAF_TO_TORCH = {
    "kernel": "weight",
    "scale": "weight",
    "bias": "bias",
    "mean": "running_mean",
    "var": "running_var",
}


def assert_loaded(model, state):
    """Every variable of the model equals its torchvision source array."""
    count = 0
    for path, var in nnx.iter_graph(model):
        if isinstance(var, nnx.Param | nnx.BatchStat):
            key = ".".join([*map(str, path[:-1]), _NNX_LEAF_TO_TORCH[path[-1]]])
            np.testing.assert_array_equal(var[...], _nnx_to_torch(state[key]), err_msg=key)
            count += 1
    assert count == len([k for k in state if "num_batches" not in k and "fc." not in k])


@pytest.mark.parametrize(
    "depth, params", [(18, 11_689_512), (34, 21_797_672), (50, 25_557_032)]
)  # torchvision's documented parameter counts (ImageNet classifier included)
def test_torchvision_names_and_shapes_at_width_64(depth, params):
    reference = torchvision_state_shapes(depth)
    learnable = [k for k in reference if "running" not in k and "num_batches" not in k]
    assert sum(int(np.prod(reference[k])) for k in learnable) == params  # the reference is right
    abstract = nnx.eval_shape(lambda: ResNet(depth, rngs=nnx.Rngs(0)))
    expected = {k: s for k, s in reference.items() if "num_batches" not in k and "fc." not in k}
    assert torchvision_shapes(abstract) == expected


@pytest.fixture(scope="module")
def resnet18():
    """A concrete ResNet-18 (width 8); filled from a state dict, since a random
    initialisation costs seconds of compilation on a CPU and is tested in test_resnet."""
    model = nnx.eval_shape(lambda: ResNet(18, 8, rngs=nnx.Rngs(0)))
    load_torchvision_resnet(model, random_state_dict(18, 8, seed=100))
    return model


def test_load_state_dict_sets_every_variable(resnet18):
    state = random_state_dict(18, 8)
    result = load_torchvision_resnet(resnet18, state)
    assert_loaded(resnet18, state)
    assert set(result.skipped) == {k for k in state if "num_batches" in k or "fc." in k}
    assert result.missing == result.unexpected == ()
    exported = to_torchvision_state_dict(resnet18)  # and back, in torch layouts
    assert exported.keys() == set(state) - set(result.skipped)
    for key, value in exported.items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)
    # spot checks of the layout, spelled out
    np.testing.assert_array_equal(
        resnet18.layer2[0].downsample[0].kernel[...],
        state["layer2.0.downsample.0.weight"].transpose(2, 3, 1, 0),
    )
    np.testing.assert_array_equal(
        resnet18.layer4[1].bn2.var[...], state["layer4.1.bn2.running_var"]
    )


def test_load_npz_into_abstract_resnet50(tmp_path):
    state = random_state_dict(50, 8, seed=1)
    np.savez(tmp_path / "r50.npz", **state)
    model = nnx.eval_shape(lambda: ResNet(50, 8, rngs=nnx.Rngs(0)))
    load_torchvision_resnet(model, tmp_path / "r50.npz")
    assert_loaded(model, state)


def test_load_into_reid_backbone():
    model = nnx.eval_shape(
        lambda: ReIDModel(depth=18, width=8, embed_dim=16, num_classes=5, rngs=nnx.Rngs(0))
    )
    state = random_state_dict(18, 8, seed=2)
    load_torchvision_resnet(model, state)
    assert_loaded(model.backbone, state)


def test_pth_file(tmp_path):
    torch = pytest.importorskip("torch")
    state = random_state_dict(18, 8, seed=3)
    torch.save({k: torch.from_numpy(v) for k, v in state.items()}, tmp_path / "r18.pth")
    model = nnx.eval_shape(lambda: ResNet(18, 8, rngs=nnx.Rngs(0)))
    load_torchvision_resnet(model, tmp_path / "r18.pth")
    assert_loaded(model, state)


def test_safetensors_file(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    state = random_state_dict(18, 8, seed=4)
    safetensors_numpy.save_file(state, tmp_path / "r18.safetensors")
    model = nnx.eval_shape(lambda: ResNet(18, 8, rngs=nnx.Rngs(0)))
    load_torchvision_resnet(model, tmp_path / "r18.safetensors")
    assert_loaded(model, state)


def test_missing_unexpected_and_mismatched_keys_are_named(resnet18):
    before = np.asarray(resnet18.conv1.kernel[...])
    state = random_state_dict(18, 8, seed=5)
    del state["layer3.1.bn1.running_var"]
    state["layer5.0.conv1.weight"] = np.zeros((8, 8, 3, 3), np.float32)
    with pytest.raises(StateDictMismatchError) as info:
        load_torchvision_resnet(resnet18, state)
    message = str(info.value)
    assert "missing keys (1): layer3.1.bn1.running_var" in message
    assert "unexpected keys (1): layer5.0.conv1.weight" in message
    np.testing.assert_array_equal(resnet18.conv1.kernel[...], before)  # nothing written

    result = load_torchvision_resnet(resnet18, state, strict=False)
    assert result.missing == ("layer3.1.bn1.running_var",)
    assert result.unexpected == ("layer5.0.conv1.weight",)

    wide = random_state_dict(18, 16)  # a width-16 checkpoint into a width-8 model
    with pytest.raises(
        StateDictMismatchError,
        match=r"conv1.weight: checkpoint \[16, 3, 7, 7\] "
        r"vs model \[8, 3, 7, 7\]",
    ):
        load_torchvision_resnet(resnet18, wide, strict=False)


def test_abstract_model_needs_every_key():
    state = random_state_dict(18, 8)
    del state["bn1.bias"]
    model = nnx.eval_shape(lambda: ResNet(18, 8, rngs=nnx.Rngs(0)))
    with pytest.raises(StateDictMismatchError, match="abstract.*bn1.bias"):
        load_torchvision_resnet(model, state, strict=False)


def test_pth_without_torch_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    (tmp_path / "weights.pth").write_bytes(b"")
    with pytest.raises(ImportError, match=r"pip install torch==2\.13\.0"):
        load_torchvision_resnet(
            nnx.eval_shape(lambda: ResNet(18, 8, rngs=nnx.Rngs(0))), tmp_path / "weights.pth"
        )


def test_unknown_file_type(tmp_path):
    (tmp_path / "weights.h5").write_bytes(b"")
    with pytest.raises(ValueError, match="unsupported checkpoint type"):
        load_torchvision_resnet(
            nnx.eval_shape(lambda: ResNet(18, 8, rngs=nnx.Rngs(0))), tmp_path / "weights.h5"
        )


def test_stem_matches_numpy_convolution(resnet18):
    """conv1 (7x7, stride 2, padding 3) + bn1 (running statistics) + relu, from torch arrays."""
    state = random_state_dict(18, 8, seed=6)
    load_torchvision_resnet(resnet18, state)
    resnet18.eval()
    x = np.random.default_rng(7).normal(size=(2, 12, 10, 3)).astype(np.float32)
    got = nnx.relu(resnet18.bn1(resnet18.conv1(jnp.asarray(x))))

    w = state["conv1.weight"].astype(np.float64)  # [O, I, 7, 7]
    padded = np.pad(x.astype(np.float64), ((0, 0), (3, 3), (3, 3), (0, 0)))
    out_h, out_w = (12 + 6 - 7) // 2 + 1, (10 + 6 - 7) // 2 + 1
    conv = np.zeros((2, out_h, out_w, w.shape[0]))
    for i in range(out_h):
        for j in range(out_w):
            patch = padded[:, 2 * i : 2 * i + 7, 2 * j : 2 * j + 7, :]  # [B, 7, 7, I]
            conv[:, i, j, :] = np.einsum("bhwi,oihw->bo", patch, w)
    scale = state["bn1.weight"] / np.sqrt(state["bn1.running_var"] + 1e-5)
    want = np.maximum((conv - state["bn1.running_mean"]) * scale + state["bn1.bias"], 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    resnet18.train()


def _torch_resnet(torch, state, depth, x):
    """torchvision's ResNet forward in eval mode, written with torch.nn.functional."""
    functional = torch.nn.functional
    sd = {k: torch.from_numpy(v) for k, v in state.items()}

    def bn(name, y):
        return functional.batch_norm(
            y,
            sd[f"{name}.running_mean"],
            sd[f"{name}.running_var"],
            sd[f"{name}.weight"],
            sd[f"{name}.bias"],
            training=False,
            eps=1e-5,
        )

    def conv(name, y, stride=1):
        w = sd[f"{name}.weight"]
        return functional.conv2d(y, w, stride=stride, padding=w.shape[-1] // 2)

    kind, counts = _BLOCKS[depth]
    y = functional.relu(bn("bn1", conv("conv1", x, 2)))
    y = functional.max_pool2d(y, 3, 2, 1)
    for stage, count in enumerate(counts, start=1):
        for b in range(count):
            p, stride = f"layer{stage}.{b}", 2 if (b == 0 and stage > 1) else 1
            if kind == "basic":
                out = functional.relu(bn(f"{p}.bn1", conv(f"{p}.conv1", y, stride)))
                out = bn(f"{p}.bn2", conv(f"{p}.conv2", out))
            else:
                out = functional.relu(bn(f"{p}.bn1", conv(f"{p}.conv1", y)))
                out = functional.relu(bn(f"{p}.bn2", conv(f"{p}.conv2", out, stride)))
                out = bn(f"{p}.bn3", conv(f"{p}.conv3", out))
            shortcut = y
            if f"{p}.downsample.0.weight" in sd:
                shortcut = bn(f"{p}.downsample.1", conv(f"{p}.downsample.0", y, stride))
            y = functional.relu(out + shortcut)
    return y


@pytest.mark.parametrize("depth", [18, 50])
def test_forward_matches_torch(depth):
    torch = pytest.importorskip("torch")
    state = random_state_dict(depth, 8, seed=8)
    # Gentle weights so activations stay O(1) through every block.
    for key in state:
        if key.endswith("conv3.weight") or key.endswith("conv2.weight") and depth == 18:
            state[key] *= 0.5
    model = nnx.eval_shape(lambda: ResNet(depth, 8, rngs=nnx.Rngs(0)))
    load_torchvision_resnet(model, state)
    model.eval()
    x = np.random.default_rng(9).normal(size=(2, 35, 29, 3)).astype(np.float32)  # odd sizes
    got = nnx.jit(lambda m, images: m(images))(model, jnp.asarray(x))
    with torch.no_grad():
        want = _torch_resnet(torch, state, depth, torch.from_numpy(x.transpose(0, 3, 1, 2)))
    want = want.numpy().transpose(0, 2, 3, 1)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3 * np.abs(want).max())
