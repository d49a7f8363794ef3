"""The learned-appearance extractor: shapes, padding invariance, compile counts, export."""

import numpy as np
import pytest
from flax import nnx

from jaxmot.core.compiles import CompileCounter
from jaxmot.core.registry import make_extractor
from jaxmot.reid.checkpoint import export_reid_model, load_reid_model
from jaxmot.reid.extractor import EXTRACTOR_BUCKETS, ReIDExtractor, preprocess_crops
from jaxmot.reid.model import ReIDModelConfig, build_reid_model

CONFIG = ReIDModelConfig(depth=18, width=4, embed_dim=16, num_classes=5, input_size=(32, 16))


@pytest.fixture(scope="module")
def extractor():
    model = build_reid_model(CONFIG, nnx.Rngs(0))
    return ReIDExtractor(model, CONFIG.input_size, model.embed_dim)


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)


def _boxes(n, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 120, (n, 2))
    return np.concatenate([xy, rng.uniform(10, 40, (n, 2))], axis=1)


def test_shapes_and_unit_norm(extractor, frame):
    out = extractor(frame, _boxes(5))
    assert out.shape == (5, 16) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1, rtol=1e-5)
    assert extractor(frame, np.zeros((0, 4))).shape == (0, 16)


def test_padding_and_batch_composition_never_change_a_crop(extractor, frame):
    boxes = _boxes(20)
    together = extractor(frame, boxes)  # one padded batch of 32
    alone = np.concatenate([extractor(frame, boxes[i : i + 1]) for i in range(3)])  # batch of 8
    np.testing.assert_allclose(together[:3], alone, rtol=1e-4, atol=1e-5)
    many = np.tile(boxes, (13, 1))  # 260 crops: the largest bucket, then 4 more
    np.testing.assert_allclose(extractor(frame, many)[240:260], together, rtol=1e-4, atol=1e-5)


def test_one_compile_per_bucket(extractor, frame):
    for n in (1, 9):  # warm the 8 and 16 buckets
        extractor(frame, _boxes(n))
    with CompileCounter() as compiles:
        for n in (1, 3, 8, 9, 12, 16):
            extractor(frame, _boxes(n, seed=n))
    assert compiles.count == 0
    assert EXTRACTOR_BUCKETS[0] == 8


def test_preprocess_matches_manual_normalisation(frame):
    crops = preprocess_crops(frame, np.array([[10.0, 20, 16, 32], [500, 500, 10, 10]]), (32, 16))
    expected = (frame[20:52, 10:26].astype(np.float32) / 255 - [0.485, 0.456, 0.406]) / [
        0.229,
        0.224,
        0.225,
    ]
    np.testing.assert_allclose(crops[0], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(crops[1], 0)  # outside the frame: a mean-coloured crop


def test_export_and_load_round_trip(extractor, frame, tmp_path):
    export_reid_model(extractor.model, CONFIG, tmp_path / "m", note="test")
    model, config = load_reid_model(tmp_path / "m")
    assert config == CONFIG
    loaded = make_extractor("reid", tmp_path / "m")
    np.testing.assert_allclose(loaded(frame, _boxes(4)), extractor(frame, _boxes(4)), rtol=1e-6)
    (tmp_path / "m" / "model.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt manifest"):
        load_reid_model(tmp_path / "m")
    with pytest.raises(FileNotFoundError, match="no exported model"):
        load_reid_model(tmp_path / "missing")


def test_shipped_checkpoint_loads_and_embeds(frame):
    from jaxmot.reid.checkpoint import DEFAULT_CHECKPOINT
    from jaxmot.train.export import read_manifest

    manifest = read_manifest(DEFAULT_CHECKPOINT)
    assert "train_reid" in manifest["command"] and manifest["step"] > 0
    extractor = make_extractor("reid")  # the default checkpoint
    assert extractor.input_size == tuple(manifest["config"]["input_size"])
    out = extractor(frame, _boxes(3))
    assert out.shape == (3, manifest["config"]["embed_dim"]) and np.isfinite(out).all()
    # The shipped model carries the appearance gate tuned for it (pipelines.tune_gate).
    tuned = manifest["appearance_gate"]
    assert extractor.appearance_gate == tuned["gate"] and tuned["gate"] in tuned["gates"]
    assert tuned["idf1"][tuned["gates"].index(tuned["gate"])] == max(tuned["idf1"])
