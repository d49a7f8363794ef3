"""Segmenters (linear probe, PAC upsampler, joint upsampler), their batches, evaluation
and the train_seg / segment pipelines end to end."""

import json

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxmot.seg.batches import SegArrays, SegBatches, stack_arrays
from jaxmot.seg.checkpoint import load_segmenter
from jaxmot.seg.data import patch_pool
from jaxmot.seg.evaluate import evaluate_segmenter
from jaxmot.seg.model import (
    LinearProbe,
    PacUpsampler,
    SegmenterConfig,
    image_guide,
    segmentation_loss,
    upsample_nearest,
)


def test_config_checks_stage_count_and_kind():
    with pytest.raises(ValueError, match="kind"):
        SegmenterConfig(kind="unet")
    with pytest.raises(ValueError, match="log2"):
        SegmenterConfig(kind="pac", patch_size=8)  # 4 stages of channels for 3 upsamplings
    SegmenterConfig(kind="pac", patch_size=8, channels=(16, 4, 4, 1))
    with pytest.raises(ValueError, match="power of two"):
        SegmenterConfig(kind="joint", patch_size=12)


def test_linear_probe_is_a_1x1_conv():
    model = LinearProbe(SegmenterConfig(kind="linear", feature_dim=6), nnx.Rngs(0))
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 6)).astype(np.float32)
    k = np.asarray(model.conv.kernel[...])[0, 0]  # [6, 1]
    b = np.asarray(model.conv.bias[...])
    np.testing.assert_allclose(model(x), x @ k + b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("patch,channels", [(16, (16, 4, 4, 4, 1)), (8, (16, 4, 4, 1))])
def test_pac_upsampler_shapes(patch, channels):
    cfg = SegmenterConfig(kind="pac", feature_dim=5, patch_size=patch, channels=channels)
    model = PacUpsampler(cfg, nnx.Rngs(0))
    low = jnp.ones((2, 3, 2, 5))
    images = jnp.zeros((2, 3 * patch, 2 * patch, 3), jnp.uint8)
    assert model(low, images).shape == (2, 3 * patch, 2 * patch, 1)
    with pytest.raises(ValueError, match="must be"):
        model(low, images[:, :-1])


def test_pac_upsampler_with_a_flat_image_is_a_plain_conv_stack():
    """With a constant guide every PAC weight K is 1, so the upsampler must equal nearest
    upsampling and ordinary 'SAME' convolutions with the same kernels: checks the wiring
    (order of upsampling, activations, last stage without activation)."""
    cfg = SegmenterConfig(kind="joint", patch_size=4, channels=(3, 2, 1))
    model = PacUpsampler(cfg, nnx.Rngs(1))
    rng = np.random.default_rng(0)
    low = rng.normal(size=(2, 3, 5, 1)).astype(np.float32)
    images = np.full((2, 12, 20, 3), 90, np.uint8)
    x = jax.nn.leaky_relu(model.proj(low), 0.01)
    for i, stage in enumerate(model.stages):
        x = upsample_nearest(x)
        x = (
            jax.lax.conv_general_dilated(
                x, stage.kernel[...], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
            )
            + stage.bias[...]
        )
        if i < len(model.stages) - 1:
            x = jax.nn.leaky_relu(x, 0.01)
    np.testing.assert_allclose(model(low, images), x, rtol=1e-4, atol=1e-5)


def test_image_guide_is_imagenet_normalised():
    g = image_guide(np.array([[[[255, 0, 124]]]], np.uint8))
    expected = (np.array([1.0, 0.0, 124 / 255]) - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(g[0, 0, 0], expected, rtol=1e-5)


def test_loss_is_bce_with_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 5)).astype(np.float32) * 3
    masks = rng.random((3, 4, 5)) > 0.5
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    bce = -(masks * np.log(p) + (1 - masks) * np.log(1 - p))
    np.testing.assert_allclose(segmentation_loss(logits, masks), bce.mean(), rtol=1e-5)
    np.testing.assert_allclose(
        segmentation_loss(logits[..., None], masks, valid=np.array([True, False, True])),
        bce[[0, 2]].mean(),
        rtol=1e-5,
    )


def test_patch_pool_matches_a_loop():
    mask = np.random.default_rng(0).random((8, 12)) > 0.7
    for mode, reduce in (("max", np.max), ("area", np.mean)):
        expected = np.array(
            [
                [reduce(mask[4 * i : 4 * i + 4, 4 * j : 4 * j + 4]) for j in range(3)]
                for i in range(2)
            ]
        )
        np.testing.assert_allclose(patch_pool(mask, 4, mode), expected)
    with pytest.raises(ValueError, match="multiple"):
        patch_pool(mask[:7], 4)


def _arrays(n=5, size=32, patch=8, seed=0):
    rng = np.random.default_rng(seed)
    masks = rng.random((n, size, size)) > 0.6
    images = rng.integers(0, 255, (n, size, size, 3)).astype(np.uint8)
    lows = [patch_pool(m, patch, "area")[..., None] for m in masks]
    return stack_arrays(list(images), list(masks), lows, [f"im{i}" for i in range(n)], patch)


def test_batches_are_deterministic_and_crops_stay_on_the_patch_grid():
    arrays = _arrays()
    batches = SegBatches(arrays, 4, crop=16, seed=3)
    a, b = batches.batch(7), batches.batch(7)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert a["images"].shape == (4, 16, 16, 3) and a["low"].shape == (4, 2, 2, 1)
    # the cropped low-resolution input is still the pooled version of the cropped mask
    for mask, low, coarse in zip(a["masks"], a["low"], a["coarse"], strict=True):
        np.testing.assert_allclose(patch_pool(mask, 8, "area"), low[..., 0])
        np.testing.assert_allclose(patch_pool(mask, 8, "max"), coarse)
    assert not np.array_equal(batches.batch(8)["images"], a["images"])
    with pytest.raises(ValueError, match="multiple of the patch"):
        SegBatches(arrays, 4, crop=12)


def test_stack_arrays_names_the_odd_size():
    masks = [np.zeros((16, 16), bool), np.zeros((16, 24), bool)]
    images = [np.zeros((*m.shape, 3), np.uint8) for m in masks]
    lows = [np.zeros((2, 2, 1)), np.zeros((2, 3, 1))]
    with pytest.raises(ValueError, match="b.png"):
        stack_arrays(images, masks, lows, ["a.png", "b.png"], 8)


class _Oracle(nnx.Module):
    """Predicts the mask hidden in the image's red channel (255 = foreground)."""

    def __init__(self, kind):
        self.config = SegmenterConfig(kind=kind, patch_size=8, channels=(4, 4, 4, 1))
        self.gain = nnx.Param(jnp.array(10.0))

    def __call__(self, low, images):
        return self.gain[...] * (images[..., :1].astype(jnp.float32) / 255 - 0.5)


def test_evaluation_scores_model_and_baselines():
    arrays = _arrays(n=3, size=32, patch=8)
    images = arrays.images.copy()
    images[..., 0] = arrays.masks * 255
    arrays = SegArrays(images, arrays.masks, arrays.low, arrays.names, 8)
    scores = evaluate_segmenter(_Oracle("joint"), "joint", arrays, batch_size=2)
    assert scores["model"]["fg_iou"] == 1.0 and scores["model"]["mean_iou_fg_bg"] == 1.0
    assert set(scores) == {"model", "nearest", "bilinear"}
    # random masks are not recoverable from 8x8 area fractions
    assert scores["bilinear"]["fg_iou"] < 0.9 and scores["nearest"]["fg_iou"] < 0.9


@pytest.mark.parametrize(
    "kind", ["joint", "linear", "pac", pytest.param("pacnet", marks=pytest.mark.slow)]
)
def test_train_seg_then_segment_end_to_end(tmp_path, kind):
    from pipelines import segment, train_seg

    workdir, export = tmp_path / "run", tmp_path / "model"
    sets = [
        "data.synthetic_train=8",
        "data.synthetic_val=3",
        "data.synthetic_size=64,64",
        "train.batch_size=4",
        "train.log_every=1",
    ]
    config = {
        "joint": "synthetic_joint",
        "linear": "synthetic_linear",
        "pac": "synthetic_pac",
        "pacnet": "joint_pacnet_synthetic",
    }
    argv = ["--config", config[kind], "--workdir", str(workdir), "--steps", "3",
            "--export", str(export), "--no-progress"]  # fmt: skip
    argv += [arg for s in sets for arg in ("--set", s)] + ["--set", "data.eval_davis=none"]
    assert train_seg.main(argv) == 0
    evaluation = json.loads((workdir / "eval.json").read_text())
    val = evaluation["synthetic_val"]
    assert val["images"] == 3 and 0.0 <= val["model"]["fg_iou"] <= 1.0
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    model, manifest = load_segmenter(export)
    assert model.config.kind == kind and manifest["step"] == 3
    assert manifest["command"].startswith("python -m pipelines.train_seg")

    # segment two of the held-out images with the exported model
    from jaxmot.seg.data import synthetic_split

    images_dir, low_dir, out = tmp_path / "images", tmp_path / "low", tmp_path / "out"
    images_dir.mkdir(), low_dir.mkdir()
    for i, sample in enumerate(synthetic_split(2, seed=5, size=(64, 80))):
        cv2.imwrite(str(images_dir / f"f{i}.jpg"), sample.image[..., ::-1])
        cv2.imwrite(str(low_dir / f"f{i}.png"), sample.mask.astype(np.uint8) * 255)
    argv = ["--images", str(images_dir), "--output", str(out), "--checkpoint", str(export),
            "--no-progress"]  # fmt: skip
    argv += ["--low-res", str(low_dir)] if kind in ("joint", "pacnet") else []
    assert segment.main(argv) == 0
    for i in range(2):
        mask = cv2.imread(str(out / f"f{i}_mask.png"), cv2.IMREAD_GRAYSCALE)
        assert mask.shape == (64, 80) and set(np.unique(mask)) <= {0, 255}
        assert cv2.imread(str(out / f"f{i}_overlay.jpg")).shape == (64, 80, 3)


def test_shipped_joint_upsampler_reproduces_its_recorded_evaluation():
    """The shipped checkpoint's model.json holds its held-out evaluation; recompute it
    (the 64 generated validation images) and check the PAC upsampler beats bilinear."""
    from jaxmot.seg.checkpoint import JOINT_CHECKPOINT
    from jaxmot.seg.configs import SegDataConfig, SegExperiment
    from jaxmot.seg.inputs import LowInputs, load_samples
    from jaxmot.seg.model import SegmenterConfig

    model, manifest = load_segmenter(JOINT_CHECKPOINT)
    data = SegDataConfig(
        **{
            k: tuple(v) if isinstance(v, list) else v
            for k, v in manifest["experiment"]["data"].items()
        }
    )
    exp = SegExperiment(model=model.config, data=data)
    assert isinstance(exp.model, SegmenterConfig) and exp.model.kind == "joint"
    arrays = LowInputs(exp, progress=False)(load_samples(data, "val"))
    scores = evaluate_segmenter(model, "joint", arrays)
    recorded = manifest["evaluation"]["synthetic_val"]
    for method in ("model", "bilinear", "nearest"):
        for key in ("fg_iou", "mean_iou_fg_bg"):
            assert scores[method][key] == pytest.approx(recorded[method][key], abs=2e-3)
    assert scores["model"]["fg_iou"] > scores["bilinear"]["fg_iou"] + 0.08
