"""`pipelines.convert`: official checkpoints (built here in the official layouts, small
configs) -> project exports that the project loaders read and that compute what the
source model computes; one-line errors; the source record; convert-on-load caching;
a converted JDE tracking a video end to end.

(Named test_convert_program.py: tests/reid/test_convert.py already holds the module
name test_convert, and pytest's default import mode needs distinct basenames.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from pipelines import convert

torch = pytest.importorskip("torch")  # the `torch` extra; installed where CI=true


def _rngs(seed=0):
    # XLA's RngBitGenerator compiles much faster on a CPU than threefry: models are
    # initialised op by op, one compilation per weight shape.
    return nnx.Rngs(jax.random.key(seed, impl="rbg"))


def _save(state: dict, path, wrap: str | None = None):
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    torch.save(tensors if wrap is None else {"epoch": 3, wrap: tensors}, path)
    return path


def _run(capsys, *args):
    """(exit status, stdout, stderr) of pipelines.convert main."""
    code = convert.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _manifest(directory):
    return json.loads((directory / "model.json").read_text())


def _random_state(shapes: dict, seed: int = 0) -> dict:
    """Random arrays in the official layout for {key: torch shape}: weights ~ N(0, 0.2),
    running variances in [0.5, 2] (away from 1, so a swapped mean / var shows),
    num_batches_tracked counts. A source model is filled from it (no random
    initialisation to compile), then the file is written from the same arrays."""
    rng = np.random.default_rng(seed)
    state = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = np.array(1000, np.int64)
        elif key.endswith("running_var"):
            state[key] = rng.uniform(0.5, 2.0, shape).astype(np.float32)
        else:
            state[key] = (rng.normal(size=shape) * 0.2).astype(np.float32)
    return state


def _jit_forward(call):
    """One compiled forward for every model of one graph: models that differ only in
    their weights (a source and its converted export) share the compilation."""
    cache = {}

    def run(model, *inputs):
        graphdef, state = nnx.split(model)
        if graphdef not in cache:
            cache[graphdef] = jax.jit(lambda s, *x: call(nnx.merge(graphdef, s), *x))
        return jax.tree.map(np.asarray, cache[graphdef](state, *inputs))

    return run


# --- JDE -------------------------------------------------------------------------------

JDE_RES = "160x96"
_jde_forward = _jit_forward(lambda m, x: m(x))


@pytest.fixture(scope="module")
def jde_source(tmp_path_factory):
    """A JDEConfig.small model (5-id classifier, which the tracker drops) and its
    official file as train.py saves it: {'epoch', 'model': state_dict}."""
    from jaxmot.jde.convert import load_official_jde, official_shapes
    from jaxmot.jde.model import JDEConfig

    config = JDEConfig.small(JDE_RES, num_ids=5)
    state = _random_state(official_shapes(config))
    model = load_official_jde(state, config)
    folder = tmp_path_factory.mktemp("jde")
    path = _save(state, folder / f"jde.{JDE_RES}.small.pt", wrap="model")
    return model, state, path


def _jde_outputs(model, images):
    """Every head's deltas, confidences and embeddings, flattened."""
    return jax.tree.leaves(_jde_forward(model, images))


def _assert_same_jde(model, source):
    images = jnp.asarray(np.random.default_rng(0).uniform(size=(1, 96, 160, 3)), jnp.float32)
    got, want = _jde_outputs(model, images), _jde_outputs(source, images)
    assert len(got) == len(want) == 9  # 3 scales x (deltas, conf, embedding)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert np.std(got[2]) > 1e-3  # not a degenerate comparison


def test_jde_converts_and_computes_the_same(jde_source, tmp_path, capsys):
    from jaxmot.jde.checkpoint import load_jde

    source, _, path = jde_source
    out = tmp_path / "jde_export"
    code, stdout, err = _run(capsys, "jde", path, out)
    assert code == 0, err
    assert f"JDE {JDE_RES}" in stdout and str(out) in stdout
    model, detector, tracker, manifest = load_jde(out)
    assert model.config.num_ids == 0 and model.config.width_multiplier == 0.25
    assert (model.config.width, model.config.height) == (160, 96)
    _assert_same_jde(model, source)
    src = manifest["source"]
    assert src["kind"] == "jde" and src["file"] == str(path.resolve())
    assert src["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert src["converted_by"] == f"python -m pipelines.convert jde {path} {out}"
    # --keep-classifier keeps the 5 ids; --resolution overrides the file name's
    args = ("--keep-classifier", "--resolution", "192x128")
    code, _, err = _run(capsys, "jde", path, tmp_path / "with_ids", *args)
    assert code == 0, err
    config = load_jde(tmp_path / "with_ids")[0].config
    assert config.num_ids == 5 and (config.width, config.height) == (192, 128)


def test_a_wrong_jde_file_names_the_keys_in_one_line(jde_source, tmp_path, capsys):
    _, state, _ = jde_source
    bad = dict(state)
    bad["module_list.0.conv_0.weights"] = bad.pop("module_list.0.conv_0.weight")
    path = _save(bad, tmp_path / "bad.320x192.pt")
    code, _, err = _run(capsys, "jde", path, tmp_path / "out")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert "missing keys (1)" in err and "module_list.0.conv_0.weight" in err
    assert "unexpected keys (1)" in err and "module_list.0.conv_0.weights" in err
    assert str(path) in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "checkpoint not found"),
        ("folder", "is a folder"),
        ("garbage", "cannot read"),
        ("not_a_dict", "expected a (wrapped) state dict"),
        ("no_torch", "the `torch` extra"),
        ("occupied_out", "is not an export: refusing"),
    ],
)
def test_bad_inputs_are_one_line_errors(case, message, tmp_path, capsys, monkeypatch):
    src, out = tmp_path / "x.pt", tmp_path / "out"
    if case == "folder":
        src.mkdir()
    elif case == "garbage":
        src.write_bytes(b"not a torch file at all")
    elif case == "not_a_dict":
        torch.save([torch.zeros(2)], src)
    elif case in ("no_torch", "occupied_out"):
        _save({"a": np.zeros(2, np.float32)}, src)
    if case == "no_torch":
        monkeypatch.setitem(__import__("sys").modules, "torch", None)
    if case == "occupied_out":
        out.mkdir()
        (out / "precious.txt").write_text("keep me")
    code, _, err = _run(capsys, "jde", src, out)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    if case == "occupied_out":
        assert (out / "precious.txt").read_text() == "keep me"


def test_load_jde_converts_an_official_file_once_into_the_cache(
    jde_source, tmp_path, monkeypatch, capsys
):
    """`load_jde(file.pt)` (what `track --jde-checkpoint FILE` calls) converts once into
    $JAXMOT_CACHE, says so on stderr, then reuses it."""
    from jaxmot.jde.checkpoint import load_jde

    source, _, path = jde_source
    monkeypatch.setenv("JAXMOT_CACHE", str(tmp_path / "cache"))
    model, _, _, manifest = load_jde(path)
    err = capsys.readouterr().err
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    cached = tmp_path / "cache" / "converted" / f"{sha[:16]}-jde-{JDE_RES}"
    assert f"converting {path}" in err and f"cached the converted export at {cached}" in err
    assert (cached / "model.json").is_file() and manifest["source"]["sha256"] == sha
    load_jde(path)
    assert "converting" not in capsys.readouterr().err  # the cache is used
    _assert_same_jde(model, source)


def _video(path, frames=4):
    from jaxmot.core.draw import VideoWriter

    rng = np.random.default_rng(0)
    with VideoWriter(path, 10) as writer:
        for _ in range(frames):
            writer.write(rng.integers(0, 256, (96, 160, 3), dtype=np.uint8))
    return path


def _track_jde(video, checkpoint, out):
    from pipelines import track

    args = ["--source", video, "--detector", "jde", "--tracker", "jde", "--no-progress"]
    return track.main([*map(str, args), "--jde-checkpoint", str(checkpoint), "--output", str(out)])


def test_a_converted_jde_tracks_a_video_end_to_end(jde_source, tmp_path, capsys):
    from jaxmot.core.mot_io import read_results

    _, _, path = jde_source
    export = tmp_path / "jde_export"
    assert _run(capsys, "jde", path, export)[0] == 0
    out = tmp_path / "r.txt"
    assert _track_jde(_video(tmp_path / "clip.mp4"), export, out) == 0
    assert out.is_file()
    read_results(out)  # a valid MOTChallenge file (random weights: some boxes or none)


@pytest.mark.slow
def test_track_with_an_official_jde_file_matches_its_export(jde_source, tmp_path, monkeypatch):
    _, _, path = jde_source
    video = _video(tmp_path / "clip.mp4")
    export = tmp_path / "jde_export"
    assert convert.main(["jde", str(path), str(export)]) == 0
    monkeypatch.setenv("JAXMOT_CACHE", str(tmp_path / "cache"))
    assert _track_jde(video, export, tmp_path / "a.txt") == 0
    assert _track_jde(video, path, tmp_path / "b.txt") == 0  # converted on load
    assert (tmp_path / "b.txt").read_text() == (tmp_path / "a.txt").read_text()


# --- E.T.Track ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ettrack_source(tmp_path_factory):
    """ETTrackConfig.narrow filled from random official-layout arrays, and its file as
    the official trainer saves it: {'epoch', 'state_dict': {'module.' + key: tensor}}."""
    from jaxmot.sot.checkpoint import load_official_ettrack
    from jaxmot.sot.convert import ettrack_shapes
    from jaxmot.sot.model import ETTrack, ETTrackConfig

    abstract = nnx.eval_shape(lambda: ETTrack(ETTrackConfig.narrow(), rngs=nnx.Rngs(0)))
    state = _random_state(ettrack_shapes(abstract))
    source = load_official_ettrack(state, "narrow")
    folder = tmp_path_factory.mktemp("ettrack")
    wrapped = {f"module.{k}": v for k, v in state.items()}
    return source, state, _save(wrapped, folder / "checkpoint_e35.pth", wrap="state_dict")


def test_ettrack_converts_to_the_same_weights(ettrack_source, tmp_path, capsys, monkeypatch):
    """Every weight of the export is the file's (so it computes what the source does:
    the forward is compared in the slow test below)."""
    from jaxmot.sot.checkpoint import load_sot
    from jaxmot.sot.convert import to_official_state_dict
    from jaxmot.sot.model import ETTrackConfig

    _, state, path = ettrack_source
    out = tmp_path / "ettrack_export"
    code, stdout, err = _run(capsys, "ettrack", path, out)
    assert code == 0, err
    assert "backbone width 0.25" in stdout
    model, tracker, manifest = load_sot(out)
    assert model.config == ETTrackConfig.narrow() and manifest["source"]["kind"] == "ettrack"
    back = to_official_state_dict(model)
    assert set(back) == set(state)
    for key, value in back.items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)
    # track_sot --checkpoint FILE: converted on load, cached
    monkeypatch.setenv("JAXMOT_CACHE", str(tmp_path / "cache"))
    cached, _, _ = load_sot(path)
    assert "cached the converted export" in capsys.readouterr().err
    np.testing.assert_array_equal(cached.cls_pred.kernel[...], model.cls_pred.kernel[...])


@pytest.mark.slow
def test_ettrack_export_computes_what_the_source_does(ettrack_source, tmp_path, capsys):
    from jaxmot.sot.checkpoint import load_sot

    source, _, path = ettrack_source
    out = tmp_path / "ettrack_export"
    assert _run(capsys, "ettrack", path, out)[0] == 0
    model = load_sot(out)[0]
    rng = np.random.default_rng(0)
    z = rng.integers(0, 256, (1, 127, 127, 3), dtype=np.uint8)
    x = rng.integers(0, 256, (1, 256, 256, 3), dtype=np.uint8)
    forward = _jit_forward(lambda m, z, x: m(z, x))
    got, want = forward(model, z, x), forward(source, z, x)
    for key in ("cls", "reg"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-5)


def test_a_wrong_ettrack_file_names_the_keys(ettrack_source, tmp_path, capsys):
    _, state, _ = ettrack_source
    bad = dict(state)
    del bad["cls_pred_head.cls_pred.weight"]
    code, _, err = _run(capsys, "ettrack", _save(bad, tmp_path / "bad.pth"), tmp_path / "o")
    assert code == 2 and err.count("\n") == 1
    assert "missing keys (1)" in err and "cls_pred_head.cls_pred.weight" in err
    assert "width 0.25" in err  # reported against the closer (narrow) architecture


# --- DINO ViT ----------------------------------------------------------------------------


def _tiny_vit(patch):
    from jaxmot.seg.vit import VisionTransformer

    # 64-d: one 64-d head, as DINO's ViTs; grid 4 (pos_embed of a 4 x 4 pretraining grid)
    return VisionTransformer(patch, 64, 2, 1, 4.0, pretrain_grid=4, rngs=_rngs())


@pytest.mark.parametrize("patch", [16, 8])
def test_dino_converts_detects_the_patch_and_computes_the_same(patch, tmp_path, capsys):
    from jaxmot.seg.dino_convert import load_dino_vit, to_dino_state_dict
    from jaxmot.seg.vit_checkpoint import FORMAT, ViTConfig, vit_weights

    source = _tiny_vit(patch)
    source.eval()
    path = _save(to_dino_state_dict(source), tmp_path / "dino_tiny.pth")
    out = tmp_path / "dino_export"
    code, stdout, err = _run(capsys, "dino", path, out)
    assert code == 0, err
    assert f"ViT/{patch}" in stdout
    model, config, manifest = FORMAT.load(out)
    assert config == ViTConfig(patch, 64, 2, 1, 4.0, 4)
    assert manifest["source"]["kind"] == "dino"
    images = jnp.asarray(np.random.default_rng(0).normal(size=(1, 48, 80, 3)), jnp.float32)
    np.testing.assert_allclose(model(images), source(images), rtol=1e-5, atol=1e-5)
    # vit_weights: what --vit-checkpoint hands to load_dino_vit, for a file or an export
    assert vit_weights(path) == path and vit_weights(None) is None
    weights = vit_weights(out)
    assert str(out) in str(weights)
    again = nnx.eval_shape(lambda: _tiny_vit(patch))
    load_dino_vit(again, weights)
    np.testing.assert_allclose(again(images), source(images), rtol=1e-5, atol=1e-5)
    # --patch must agree with the file
    other = 8 if patch == 16 else 16
    code, _, err = _run(capsys, "dino", path, tmp_path / "o", "--patch", other)
    assert code == 2 and f"patch size {patch}, not {other}" in err


def test_dino_wrong_file_names_the_keys(tmp_path, capsys):
    from jaxmot.seg.dino_convert import to_dino_state_dict

    state = to_dino_state_dict(_tiny_vit(16))
    state["blocks.1.attn.qkv.kernel"] = state.pop("blocks.1.attn.qkv.weight")
    code, _, err = _run(capsys, "dino", _save(state, tmp_path / "d.pth"), tmp_path / "o")
    assert code == 2 and err.count("\n") == 1
    assert "missing keys (1)" in err and "blocks.1.attn.qkv.weight" in err
    assert "unexpected keys (1): blocks.1.attn.qkv.kernel" in err


# --- ReID: torchvision ImageNet ResNet ---------------------------------------------------


def _resnet_source(depth, last_stride=2, width=8):
    """A width-8 ResNet (torchvision's layout) filled from random torchvision arrays, and
    those arrays as torchvision's state dict has them (num_batches_tracked, a 10-class fc)."""
    from jaxmot.reid.resnet import ResNet
    from jaxmot.reid.resnet_convert import load_torchvision_resnet, torchvision_shapes

    backbone = nnx.eval_shape(lambda: ResNet(depth, width, last_stride, rngs=nnx.Rngs(0)))
    shapes = torchvision_shapes(backbone)
    for key in [k for k in shapes if k.endswith("running_var")]:
        shapes[key.replace("running_var", "num_batches_tracked")] = ()
    shapes["fc.weight"], shapes["fc.bias"] = (10, backbone.out_channels), (10,)
    state = _random_state(shapes)
    load_torchvision_resnet(backbone, state)
    backbone.eval()
    return backbone, state


def _l2(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_resnet_depth_and_width_come_from_the_keys():
    from jaxmot.reid.resnet import ResNet
    from jaxmot.reid.resnet_convert import torchvision_shapes
    from jaxmot.reid.strong_baseline_convert import resnet_depth_width

    for depth in (18, 34, 50):
        abstract = nnx.eval_shape(lambda depth=depth: ResNet(depth, 16, rngs=nnx.Rngs(0)))
        assert resnet_depth_width(torchvision_shapes(abstract)) == (depth, 16)
        assert resnet_depth_width(torchvision_shapes(abstract), 34) == (34, 16)


def test_resnet_becomes_a_reid_export_with_imagenet_features(tmp_path, capsys):
    depth = 18
    from jaxmot.reid.checkpoint import load_reid_model
    from jaxmot.reid.extractor import ReIDExtractor

    source, state = _resnet_source(depth, last_stride=2)
    path = _save(state, tmp_path / f"resnet{depth}.pth")
    out = tmp_path / "reid_export"
    code, stdout, err = _run(capsys, "resnet", path, out, "--last-stride", 2)
    assert code == 0, err
    assert f"ResNet-{depth} (width 8)" in stdout and "ImageNet baseline" in stdout
    model, config = load_reid_model(out)
    assert (config.depth, config.width, config.last_stride) == (depth, 8, 2)
    assert config.embed_dim is None and config.input_size == (256, 128)
    images = jnp.asarray(np.random.default_rng(0).normal(size=(3, 64, 32, 3)), jnp.float32)
    want = _l2(np.mean(np.asarray(source(images)), axis=(1, 2)))  # pooled, normalised
    np.testing.assert_allclose(model.embed(images), want, rtol=1e-4, atol=1e-5)
    extractor = ReIDExtractor.from_checkpoint(out)  # what --reid-checkpoint builds
    assert extractor.dim == source.out_channels


def test_a_converted_resnet_tracks_as_reid_checkpoint(tmp_path, capsys):
    from jaxmot.core.mot_io import read_results
    from jaxmot.core.synthetic import SceneConfig, generate_sequence
    from jaxmot.reid.checkpoint import load_reid_model
    from pipelines import track

    path = _save(_resnet_source(18)[1], tmp_path / "resnet18.pth")
    out = tmp_path / "reid_export"
    assert _run(capsys, "resnet", path, out, "--input-size", 64, 32)[0] == 0
    config = load_reid_model(out)[1]
    assert config.last_stride == 1 and config.input_size == (64, 32)  # re-ID's last stride
    code, _, err = _run(capsys, "resnet", path, tmp_path / "o", "--depth", 34)
    assert code == 2 and err.count("\n") == 1 and "missing keys" in err
    config = dataclasses.replace(SceneConfig(), num_frames=8, width=160, height=120, seed=2)
    sequence = generate_sequence(tmp_path / "seq", config, name="CONV")
    results = tmp_path / "r.txt"
    args = ["--sequence", sequence, "--tracker", "longterm", "--output", results]
    assert track.main([*map(str, args), "--reid-checkpoint", str(out), "--no-progress"]) == 0
    assert len(read_results(results)) > 0


# --- ReID: "Bag of tricks" strong baseline ---------------------------------------------


def _strong_baseline_state(depth=18, width=8, num_classes=7, neck="bnneck", bias=0.0):
    """A reid-strong-baseline `Baseline` state dict: base.* (its ResNet, torchvision
    names, no fc), bottleneck.* (BatchNorm1d, bias frozen at zero), classifier.weight."""
    backbone, resnet = _resnet_source(depth, last_stride=1, width=width)
    rng = np.random.default_rng(3)
    dim = backbone.out_channels
    state = {f"base.{k}": v for k, v in resnet.items() if not k.startswith("fc.")}
    if neck == "bnneck":
        state["bottleneck.weight"] = rng.uniform(0.5, 1.5, dim).astype(np.float32)
        state["bottleneck.bias"] = np.full(dim, bias, np.float32)
        state["bottleneck.running_mean"] = rng.normal(size=dim).astype(np.float32)
        state["bottleneck.running_var"] = rng.uniform(0.5, 2.0, dim).astype(np.float32)
        state["bottleneck.num_batches_tracked"] = np.array(100, np.int64)
        state["classifier.weight"] = rng.normal(size=(num_classes, dim)).astype(np.float32)
    else:
        state["classifier.weight"] = rng.normal(size=(num_classes, dim)).astype(np.float32)
        state["classifier.bias"] = rng.normal(size=num_classes).astype(np.float32)
    return backbone, state


def _strong_baseline_embedding(backbone, state, images, neck="bnneck"):
    """The reference's eval output (neck_feat 'after', feat_norm 'yes'), by hand: its
    ResNet has no ReLU between bn1 and the max-pool."""
    x = backbone.bn1(backbone.conv1(images))  # no ReLU here, as the reference
    x = nnx.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
    for stage in (backbone.layer1, backbone.layer2, backbone.layer3, backbone.layer4):
        for block in stage:
            x = block(x)
    feat = np.mean(np.asarray(x, np.float64), axis=(1, 2))
    if neck == "bnneck":
        feat = (feat - state["bottleneck.running_mean"]) / np.sqrt(
            state["bottleneck.running_var"].astype(np.float64) + 1e-5
        ) * state["bottleneck.weight"] + state["bottleneck.bias"]
    return _l2(feat)


@pytest.mark.parametrize("neck, bias", [("bnneck", 0.0), ("bnneck", 0.3), ("no", 0.0)])
def test_strong_baseline_converts_and_embeds_the_same(neck, bias, tmp_path, capsys):
    from jaxmot.reid.checkpoint import load_reid_model

    backbone, state = _strong_baseline_state(neck=neck, bias=bias)
    path = _save({f"module.{k}": v for k, v in state.items()}, tmp_path / "bot_r18.pth")
    out = tmp_path / "bot_export"
    code, stdout, err = _run(capsys, "reid", path, out)
    assert code == 0, err
    assert ("folded" in stdout) == (bias != 0)
    model, config = load_reid_model(out)
    assert (config.depth, config.width, config.num_classes) == (18, 8, 7)
    assert config.last_stride == 1 and not config.stem_relu
    images = jnp.asarray(np.random.default_rng(0).normal(size=(3, 64, 32, 3)), jnp.float32)
    want = _strong_baseline_embedding(backbone, state, images, neck)
    np.testing.assert_allclose(model.embed(images), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(model.classifier.kernel[...], state["classifier.weight"].T)


def test_strong_baseline_wrong_file_names_the_keys(tmp_path, capsys):
    _, state = _strong_baseline_state()
    state["bottleneck.running_average"] = state.pop("bottleneck.running_mean")
    del state["base.layer1.0.conv1.weight"]
    code, _, err = _run(capsys, "reid", _save(state, tmp_path / "bot.pth"), tmp_path / "o")
    assert code == 2 and err.count("\n") == 1
    assert "missing keys (1): bottleneck.running_mean" in err
    assert "unexpected keys (1): bottleneck.running_average" in err
    code, _, err = _run(
        capsys, "reid", _save({"base.x": np.zeros(1)}, tmp_path / "b.pth"), tmp_path / "o"
    )
    assert code == 2 and "classifier.weight" in err
