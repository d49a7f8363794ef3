"""DINO ViT: torch-compatible bicubic, a torch reference forward, and the state dict converter."""

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxmot.core.torch_io import StateDictMismatchError
from jaxmot.seg.dino_convert import dino_shapes, load_dino_vit, to_dino_state_dict
from jaxmot.seg.vit import (
    VisionTransformer,
    dino_preprocess,
    dino_resize_matrix,
    torch_bicubic_matrix,
    vit_small,
)

# A tiny DINO-style ViT: patch 8, dim 48, 2 blocks, 3 heads, pretrained on a 4x4 grid (32 px).
TINY = dict(patch_size=8, embed_dim=48, depth=2, num_heads=3, mlp_ratio=4.0, pretrain_grid=4)


def tiny_abstract():
    return nnx.eval_shape(lambda: VisionTransformer(**TINY, rngs=nnx.Rngs(0)))


def dino_state_shapes(patch_size, embed_dim, depth, num_heads, mlp_ratio, pretrain_grid):
    """`vision_transformer.VisionTransformer(...).state_dict()` keys and shapes (no head),
    written out from facebookresearch/dino."""
    d, hidden = embed_dim, int(embed_dim * mlp_ratio)
    shapes = {
        "cls_token": (1, 1, d),
        "pos_embed": (1, 1 + pretrain_grid**2, d),
        "patch_embed.proj.weight": (d, 3, patch_size, patch_size),
        "patch_embed.proj.bias": (d,),
    }
    for i in range(depth):
        for name, shape in {
            "norm1.weight": (d,), "norm1.bias": (d,),
            "attn.qkv.weight": (3 * d, d), "attn.qkv.bias": (3 * d,),
            "attn.proj.weight": (d, d), "attn.proj.bias": (d,),
            "norm2.weight": (d,), "norm2.bias": (d,),
            "mlp.fc1.weight": (hidden, d), "mlp.fc1.bias": (hidden,),
            "mlp.fc2.weight": (d, hidden), "mlp.fc2.bias": (d,),
        }.items():  # fmt: skip
            shapes[f"blocks.{i}.{name}"] = shape
    shapes["norm.weight"], shapes["norm.bias"] = (d,), (d,)
    return shapes


def random_state_dict(seed=0, **config):
    rng = np.random.default_rng(seed)
    state = {}
    for key, shape in dino_state_shapes(**{**TINY, **config}).items():
        if "norm" in key and key.endswith("weight"):
            state[key] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:
            scale = 0.5 if key in ("cls_token", "pos_embed") else 0.15
            state[key] = (rng.normal(size=shape) * scale).astype(np.float32)
    return state


@pytest.fixture(scope="module")
def tiny():
    model = tiny_abstract()
    load_dino_vit(model, random_state_dict(seed=100))
    return model


def jitted(model):
    """The model's forward under jax.jit (eager runs compile op by op: slow on a CPU)."""
    graphdef, state = nnx.split(model)
    forward = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x))
    return lambda images: forward(state, images)


# --- a plain torch reference: DINO's forward, written with torch ops -------------------


def torch_dino_forward(torch, sd, images, patch_size, num_heads):
    """DINO VisionTransformer.prepare_tokens + blocks + norm, on NCHW images; returns the
    patch tokens [B, N, D] (CLS dropped)."""
    functional = torch.nn.functional
    sd = {k: torch.from_numpy(v) for k, v in sd.items()}
    b, _, height, width = images.shape
    x = functional.conv2d(
        images, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=patch_size
    )
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([sd["cls_token"].expand(b, -1, -1), x], dim=1)
    # interpolate_pos_encoding, as in facebookresearch/dino (w, h there are dims 2, 3)
    pos = sd["pos_embed"]
    npatch, n, d = x.shape[1] - 1, pos.shape[1] - 1, x.shape[2]
    if not (npatch == n and height == width):
        g = int(math.sqrt(n))
        h0, w0 = height // patch_size + 0.1, width // patch_size + 0.1
        grid = functional.interpolate(
            pos[:, 1:].reshape(1, g, g, d).permute(0, 3, 1, 2),
            scale_factor=(h0 / g, w0 / g),
            mode="bicubic",
        )
        assert grid.shape[-2:] == (int(h0), int(w0))
        pos = torch.cat([pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, -1, d)], dim=1)
    x = x + pos

    def layer_norm(x, name):
        return functional.layer_norm(x, (d,), sd[f"{name}.weight"], sd[f"{name}.bias"], 1e-6)

    def linear(x, name):
        return functional.linear(x, sd[f"{name}.weight"], sd[f"{name}.bias"])

    depth = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
    for i in range(depth):
        p = f"blocks.{i}"
        y = layer_norm(x, f"{p}.norm1")
        t = y.shape[1]
        qkv = linear(y, f"{p}.attn.qkv").reshape(b, t, 3, num_heads, d // num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = ((q @ k.transpose(-2, -1)) * (d // num_heads) ** -0.5).softmax(dim=-1)
        x = x + linear((attn @ v).transpose(1, 2).reshape(b, t, d), f"{p}.attn.proj")
        y = functional.gelu(linear(layer_norm(x, f"{p}.norm2"), f"{p}.mlp.fc1"))
        x = x + linear(y, f"{p}.mlp.fc2")
    return layer_norm(x, "norm")[:, 1:]


@pytest.mark.parametrize("height, width", [(40, 56), (32, 32), (16, 40)])
def test_forward_matches_torch(tiny, height, width):
    torch = pytest.importorskip("torch")
    state = random_state_dict(seed=100)
    images = np.random.default_rng(1).normal(size=(2, height, width, 3)).astype(np.float32)
    got = np.asarray(jitted(tiny)(jnp.asarray(images)))
    assert got.shape == (2, height // 8, width // 8, 48)
    with torch.no_grad():
        want = torch_dino_forward(
            torch, state, torch.from_numpy(images.transpose(0, 3, 1, 2)), 8, 3
        ).numpy()
    np.testing.assert_allclose(got.reshape(want.shape), want, atol=2e-5, rtol=1e-5)


def test_position_embeddings_interpolate_unless_the_grid_is_the_pretraining_one(tiny):
    """A 2x8 grid has the pretraining patch count (16) but is not square: DINO interpolates."""
    pos = np.asarray(tiny.pos_embed[...])
    np.testing.assert_array_equal(tiny.position_embeddings(4, 4), pos)
    got = np.asarray(tiny.position_embeddings(2, 8))
    assert got.shape == (1, 1 + 16, 48)
    np.testing.assert_array_equal(got[:, 0], pos[:, 0])  # CLS position as is
    grid = pos[0, 1:].reshape(4, 4, 48)
    want = np.einsum("ai,bj,ijd->abd", dino_resize_matrix(4, 2), dino_resize_matrix(4, 8), grid)
    np.testing.assert_allclose(got[0, 1:], want.reshape(16, 48), atol=1e-6)


# --- torch-compatible bicubic -------------------------------------------------------


@pytest.mark.parametrize("grid", [4, 14, 28])
def test_dino_resize_matches_torch_interpolate(grid):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(grid).normal(size=(5, grid, grid)).astype(np.float32)
    for n_rows, n_cols in [(1, 3), (grid - 1, grid + 1), (2 * grid + 3, grid // 2), (37, 61)]:
        scale = ((n_rows + 0.1) / grid, (n_cols + 0.1) / grid)  # DINO's scale factors
        want = torch.nn.functional.interpolate(
            torch.from_numpy(x)[None], scale_factor=scale, mode="bicubic"
        )[0].numpy()
        assert want.shape == (5, n_rows, n_cols)
        rows, cols = dino_resize_matrix(grid, n_rows), dino_resize_matrix(grid, n_cols)
        got = np.einsum("ai,bj,cij->cab", rows, cols, x)
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=f"{n_rows}x{n_cols}")


def test_bicubic_by_size_matches_torch_and_differs_from_jax_image():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).normal(size=(6, 9)).astype(np.float32)
    want = torch.nn.functional.interpolate(
        torch.from_numpy(x)[None, None], size=(13, 4), mode="bicubic", align_corners=False
    )[0, 0].numpy()
    got = torch_bicubic_matrix(6, 13) @ x @ torch_bicubic_matrix(9, 4).T
    np.testing.assert_allclose(got, want, atol=1e-5)
    # jax.image.resize's bicubic is Keys with a = -0.5 (and antialiases when shrinking)
    other = np.asarray(jax.image.resize(x, (13, 4), "bicubic"))
    assert np.abs(other - want).max() > 1e-3


def test_bicubic_matrix_rows_sum_to_one_and_identity_at_same_size():
    np.testing.assert_allclose(torch_bicubic_matrix(7, 19).sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(torch_bicubic_matrix(7, 7), np.eye(7), atol=1e-7)


# --- converter: coverage, errors, files ------------------------------------------------


def test_shapes_and_every_parameter_loaded(tiny):
    state = random_state_dict(seed=100)
    assert dino_shapes(tiny) == dino_state_shapes(**TINY)
    exported = to_dino_state_dict(tiny)
    assert exported.keys() == state.keys()
    for key, value in exported.items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)
    np.testing.assert_array_equal(  # layouts, spelled out
        tiny.blocks[1].attn.qkv.kernel[...], state["blocks.1.attn.qkv.weight"].T
    )
    np.testing.assert_array_equal(
        tiny.patch_embed.proj.kernel[...], state["patch_embed.proj.weight"].transpose(2, 3, 1, 0)
    )
    np.testing.assert_array_equal(tiny.blocks[0].norm2.scale[...], state["blocks.0.norm2.weight"])


def test_vit_small_shapes():
    """The official ViT-S/16 and /8 layouts (21.7M parameters with pos_embed for 224 px)."""
    for patch in (16, 8):
        abstract = nnx.eval_shape(lambda p=patch: vit_small(p, rngs=nnx.Rngs(0)))
        shapes = dino_shapes(abstract)
        assert shapes == dino_state_shapes(patch, 384, 12, 6, 4.0, 224 // patch)
        assert shapes["pos_embed"] == (1, 1 + (224 // patch) ** 2, 384)
        assert abstract.num_patches == (224 // patch) ** 2 and abstract.patch_size == patch
    assert sum(math.prod(s) for s in dino_state_shapes(16, 384, 12, 6, 4.0, 14).values()) == (
        21_665_664
    )
    out = jax.eval_shape(lambda: vit_small(16, rngs=nnx.Rngs(0))(jnp.zeros((1, 32, 48, 3))))
    assert out.shape == (1, 2, 3, 384)
    out = jax.eval_shape(lambda: vit_small(8, rngs=nnx.Rngs(0))(jnp.zeros((1, 32, 48, 3))))
    assert out.shape == (1, 4, 6, 384)
    with pytest.raises(ValueError, match="patch size 8 or 16"):
        vit_small(14, rngs=nnx.Rngs(0))


@pytest.mark.parametrize(
    "change, named",
    [
        (lambda s: s.pop("blocks.1.mlp.fc2.bias"), "missing keys (1): blocks.1.mlp.fc2.bias"),
        (
            lambda s: s.update({"blocks.2.norm1.weight": np.ones(48, np.float32)}),
            "unexpected keys (1): blocks.2.norm1.weight",
        ),
        (
            lambda s: s.update({"pos_embed": np.zeros((1, 26, 48), np.float32)}),
            "pos_embed: checkpoint [1, 26, 48] vs model [1, 17, 48]",
        ),
        (
            lambda s: s.update({"blocks.0.attn.qkv.weight": np.zeros((48, 144), np.float32)}),
            "blocks.0.attn.qkv.weight: checkpoint [48, 144] vs model [144, 48]",
        ),
        (
            lambda s: s.update({"backbone.cls_token": s["cls_token"]}),
            "cls_token and backbone.cls_token",
        ),
    ],
)
def test_mismatch_raises_naming_the_key_and_writes_nothing(tiny, change, named):
    before = to_dino_state_dict(tiny)
    state = random_state_dict(seed=5)
    change(state)
    with pytest.raises(StateDictMismatchError, match=re.escape(named)):
        load_dino_vit(tiny, state)
    after = to_dino_state_dict(tiny)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)


def test_non_strict_reports_and_keeps_the_rest(tiny):
    state = random_state_dict(seed=6)
    del state["norm.bias"]
    state["extra"] = np.zeros(3, np.float32)
    result = load_dino_vit(tiny, state, strict=False)
    assert result.missing == ("norm.bias",) and result.unexpected == ("extra",)
    np.testing.assert_array_equal(tiny.norm.scale[...], state["norm.weight"])
    load_dino_vit(tiny, random_state_dict(seed=100))  # restore the fixture
    with pytest.raises(StateDictMismatchError, match="the model is abstract"):
        load_dino_vit(tiny_abstract(), {"norm.weight": state["norm.weight"]}, strict=False)


@pytest.mark.parametrize("prefix", ["module.", "backbone.", "module.backbone."])
def test_prefixed_training_checkpoint_keys_load_and_head_is_skipped(prefix):
    state = random_state_dict(seed=7)
    prefixed = {prefix + k: v for k, v in state.items()}
    head = prefix.replace("backbone.", "") + "head.mlp.0.weight"
    prefixed[head] = np.zeros((8, 48), np.float32)
    model = tiny_abstract()
    result = load_dino_vit(model, prefixed)
    assert result.skipped == (head,) and set(result.loaded) == set(state)
    for key, value in to_dino_state_dict(model).items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)


def test_round_trip_through_pth_and_npz(tmp_path):
    state = random_state_dict(seed=8)
    np.savez(tmp_path / "vit.npz", **state)
    files = [tmp_path / "vit.npz"]
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.save({k: torch.from_numpy(v) for k, v in state.items()}, tmp_path / "vit.pth")
        files.append(tmp_path / "vit.pth")
    for path in files:
        model = tiny_abstract()
        result = load_dino_vit(model, path)
        assert set(result.loaded) == set(state)
        for key, value in to_dino_state_dict(model).items():
            np.testing.assert_array_equal(value, state[key], err_msg=f"{path.name}: {key}")
    # and an exported model saves and loads back
    np.savez(tmp_path / "back.npz", **to_dino_state_dict(model))
    again = tiny_abstract()
    load_dino_vit(again, tmp_path / "back.npz")
    for key, value in to_dino_state_dict(again).items():
        np.testing.assert_array_equal(value, state[key], err_msg=f"back.npz: {key}")


# --- model behaviour ---------------------------------------------------------------------


def test_jit_equals_eager(tiny):
    images = jnp.asarray(np.random.default_rng(9).normal(size=(2, 40, 24, 3)), jnp.float32)
    graphdef, state = nnx.split(tiny)
    jitted = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x))(state, images)
    np.testing.assert_allclose(jitted, tiny(images), atol=1e-5, rtol=1e-5)


def test_sizes_not_a_multiple_of_the_patch_raise(tiny):
    with pytest.raises(ValueError, match=r"36x56 is not a multiple of the patch size 8"):
        tiny(jnp.zeros((1, 36, 56, 3)))
    with pytest.raises(ValueError, match=r"\[B, H, W, C\]"):
        tiny(jnp.zeros((36, 56, 3)))


def test_random_init_and_preprocess():
    model = VisionTransformer(**{**TINY, "depth": 1}, rngs=nnx.Rngs(0))
    assert model.pos_embed.shape == (1, 17, 48) and model.num_patches == 16
    assert model.patch_size == 8 and len(model.blocks) == 1
    assert float(jnp.std(model.blocks[0].attn.qkv.kernel[...])) == pytest.approx(0.02, rel=0.2)
    images = np.full((1, 16, 16, 3), 255, np.uint8)
    x = dino_preprocess(images)
    assert x.dtype == jnp.float32
    np.testing.assert_allclose(
        x[0, 0, 0], (1 - np.array([0.485, 0.456, 0.406])) / [0.229, 0.224, 0.225], rtol=1e-6
    )
    assert jitted(model)(x).shape == (1, 2, 2, 48)
