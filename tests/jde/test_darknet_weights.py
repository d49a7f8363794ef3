"""Darknet's binary weight files (jaxmot.jde.darknet_weights) on files the test writes
in Darknet's format (`save_weights`: header, then per convolution BN beta, gamma, rolling
mean, rolling variance and the OIHW kernel, or a bias and the kernel), checked against a
plain NumPy convolution."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from flax import nnx

from jaxmot.core.nn import BN_EPSILON
from jaxmot.jde.configs import get_config
from jaxmot.jde.darknet_weights import load_darknet_weights
from jaxmot.jde.model import JDE, JDEConfig, darknet_layers
from jaxmot.jde.trainer import JDETask

# Darknet-53's layer structure (blocks 1, 2, 8, 8, 4: layers 0-74 are the backbone) at an
# eighth of its width, so the file is 2.6 MB instead of 160.
CONFIG = JDEConfig(width=64, height=64, width_multiplier=0.125, embedding_dim=16)


def write_darknet(path, config, cutoff, seed=0, version=(0, 2, 5), extra=0):
    """Darknet's save_weights for the convs of layers [0, cutoff); returns what it wrote
    by layer: {index: {"bias", "scale", "mean", "var", "kernel" (OIHW)}}."""
    rng = np.random.default_rng(seed)
    major, minor, revision = version
    header = np.array(version, np.int32).tobytes()
    wide = major * 10 + minor >= 2 and major < 1000
    header += np.array([12345], np.int64 if wide else np.int32).tobytes()
    written, chunks = {}, []
    for index, layer in enumerate(darknet_layers(config)[:cutoff]):
        if layer.kind != "conv":
            continue
        out = layer.out_channels
        w = {"bias": rng.normal(size=out)}
        if layer.batch_norm:
            w |= {"scale": rng.uniform(0.5, 1.5, out), "mean": rng.normal(size=out),
                  "var": rng.uniform(0.5, 2, out)}  # fmt: skip
        w["kernel"] = rng.normal(size=(out, layer.in_channels, layer.size, layer.size)) * 0.1
        w = {k: v.astype(np.float32) for k, v in w.items()}
        order = (
            ("bias", "scale", "mean", "var", "kernel") if layer.batch_norm else ("bias", "kernel")
        )
        chunks += [w[k].ravel() for k in order]
        written[index] = w
    chunks.append(np.ones(extra, np.float32))
    path.write_bytes(header + np.concatenate(chunks).tobytes())
    return written


def _conv_bn_leaky(x, w, stride):
    """Plain NumPy: 'same' padded cross-correlation with the OIHW kernel, eval BN, leaky."""
    k = w["kernel"].shape[-1]
    pad = k // 2
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    h, wd = x.shape[1] // stride, x.shape[2] // stride
    out = np.zeros((x.shape[0], h, wd, w["kernel"].shape[0]))
    for i in range(h):
        for j in range(wd):
            patch = xp[:, i * stride : i * stride + k, j * stride : j * stride + k, :]
            out[:, i, j] = np.einsum("bhwc,ochw->bo", patch, w["kernel"])
    y = (out - w["mean"]) / np.sqrt(w["var"] + BN_EPSILON) * w["scale"] + w["bias"]
    return np.where(y > 0, y, 0.1 * y)


def test_backbone_file_loads_the_first_75_layers(tmp_path):
    path = tmp_path / "darknet53.conv.74"
    written = write_darknet(path, CONFIG, cutoff=75)
    model = JDE(CONFIG, rngs=nnx.Rngs(0))
    head_before = np.asarray(model.layers[75].conv.kernel[...])
    assert load_darknet_weights(model, path) == 52  # Darknet-53's convolutions
    for index, w in written.items():
        layer = model.layers[index]
        np.testing.assert_array_equal(layer.conv.kernel[...], w["kernel"].transpose(2, 3, 1, 0))
        np.testing.assert_array_equal(layer.bn.scale[...], w["scale"])
        np.testing.assert_array_equal(layer.bn.var[...], w["var"])
    np.testing.assert_array_equal(model.layers[75].conv.kernel[...], head_before)

    # The first layer computes what Darknet's conv + BN + leaky computes.
    model.eval()
    x = np.random.default_rng(1).uniform(size=(2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(
        model.layers[0](x), _conv_bn_leaky(x, written[0], stride=1), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(  # layer 1 downsamples: stride 2
        model.layers[1](model.layers[0](x)),
        _conv_bn_leaky(_conv_bn_leaky(x, written[0], 1), written[1], stride=2),
        rtol=1e-4,
        atol=1e-5,
    )


def test_full_file_with_linear_convs_and_old_header(tmp_path):
    path = tmp_path / "jde.weights"
    written = write_darknet(path, CONFIG, cutoff=len(darknet_layers(CONFIG)), version=(0, 1, 0))
    model = JDE(CONFIG, rngs=nnx.Rngs(0))
    assert load_darknet_weights(model, path) == len(written)
    linear = [i for i, layer in enumerate(darknet_layers(CONFIG)) if layer.kind == "conv"
              and not layer.batch_norm]  # fmt: skip
    assert linear  # the prediction and embedding convs have a bias and no BN
    for index in linear:
        np.testing.assert_array_equal(model.layers[index].conv.bias[...], written[index]["bias"])


def test_damaged_or_mismatched_files(tmp_path):
    model = JDE(CONFIG, rngs=nnx.Rngs(0))
    short = tmp_path / "short.weights"
    write_darknet(short, CONFIG, cutoff=75)
    with pytest.raises(ValueError, match=r"short.weights: ends before the .* of layer 75"):
        load_darknet_weights(model, short)  # every layer asked, the backbone given
    extra = tmp_path / "darknet53.conv.74"
    write_darknet(extra, CONFIG, cutoff=75, extra=7)
    with pytest.raises(ValueError, match="7 values left after layer 74"):
        load_darknet_weights(model, extra)
    wider = JDE(dataclasses.replace(CONFIG, width_multiplier=0.25), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="is the model Darknet-53 at width 1"):
        load_darknet_weights(wider, extra)
    with pytest.raises(FileNotFoundError, match="no Darknet weights file"):
        load_darknet_weights(model, tmp_path / "missing.conv.74")
    (tmp_path / "tiny").write_bytes(b"\0" * 8)
    with pytest.raises(ValueError, match="too short for a Darknet weights header"):
        load_darknet_weights(model, tmp_path / "tiny")


def test_training_starts_from_darknet_weights(tmp_path):
    path = tmp_path / "darknet53.conv.74"
    written = write_darknet(path, CONFIG, cutoff=75)
    exp = dataclasses.replace(
        get_config("synthetic_small"), model=CONFIG, darknet_weights=str(path)
    )
    model = JDETask(exp, _Batches()).init_model(nnx.Rngs(0))
    last = max(written)  # the backbone's last conv, layer 73
    np.testing.assert_array_equal(
        model.layers[last].conv.kernel[...], written[last]["kernel"].transpose(2, 3, 1, 0)
    )


class _Batches:
    num_ids = 0
