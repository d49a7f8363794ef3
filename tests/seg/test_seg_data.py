"""Segmentation data: obj_seg folders, DAVIS (real, shared data), synthetic images."""

import re
import sys

import cv2
import numpy as np
import pytest

from jaxmot.seg.data import (
    coarse_mask,
    crop_to_multiple,
    load_davis,
    load_obj_seg,
    synthetic_segmentation,
    synthetic_split,
)

H, W = 37, 50  # cropped to 32 x 48 -> a 2 x 3 patch grid


def _write_image(path, h=H, w=W, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    image[..., 0] //= 8  # dark blue channel (BGR on disk): checks the RGB conversion
    assert cv2.imwrite(str(path), image)


def _mask(h=H, w=W, seed=0):
    mask = np.zeros((h, w), np.uint8)
    mask[5:20, 18:40] = 255
    mask[30:, 47:] = 255  # only in the cropped-away border
    return mask


def _write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)


def _write_embedding(path, shape=(2, 3, 384), seed=0):
    torch = pytest.importorskip("torch")
    path.parent.mkdir(parents=True, exist_ok=True)
    values = np.random.default_rng(seed).normal(size=shape).astype(np.float16)
    torch.save(torch.from_numpy(values), path)
    return values


def _make_obj_seg(
    root, split="train", categories=("bear", "dog"), stems=("00000", "00001"), embeddings=True
):
    for c, category in enumerate(categories):
        folder = root / split / category
        for s, stem in enumerate(stems):
            _write_image(folder / "images" / f"{stem}.jpg", seed=10 * c + s)
            mask = _mask()
            _write_png(folder / "annotations" / f"{stem}.png", mask)
            coarse = coarse_mask(crop_to_multiple(mask > 127)).astype(np.uint8) * 255
            _write_png(folder / "annotations_coarse" / f"{stem}.png", coarse)
            if embeddings:
                _write_embedding(folder / "embeddings" / f"{stem}.pt", seed=10 * c + s)
    return root


# ---------------------------------------------------------------------------------------
# crop, coarse mask, stacking
# ---------------------------------------------------------------------------------------


def test_crop_keeps_top_left():
    a = np.arange(37 * 50 * 3).reshape(37, 50, 3)
    c = crop_to_multiple(a)
    assert c.shape == (32, 48, 3)
    np.testing.assert_array_equal(c, a[:32, :48])
    assert crop_to_multiple(np.zeros((480, 854)), 16).shape == (480, 848)


def test_coarse_mask_is_patch_max_pool():
    rng = np.random.default_rng(0)
    mask = rng.random((48, 64)) > 0.995
    got = coarse_mask(mask)
    want = np.array(
        [
            [mask[16 * i : 16 * i + 16, 16 * j : 16 * j + 16].any() for j in range(4)]
            for i in range(3)
        ]
    )
    np.testing.assert_array_equal(got, want)
    assert got.dtype == bool and got.any()
    with pytest.raises(ValueError, match="multiple of the patch size"):
        coarse_mask(np.zeros((37, 48), bool))


# ---------------------------------------------------------------------------------------
# obj_seg folders
# ---------------------------------------------------------------------------------------


def test_load_obj_seg_round_trip(tmp_path):
    root = _make_obj_seg(tmp_path)
    samples = load_obj_seg(root, "train")
    assert [s.name.split("/")[-3] for s in samples] == ["bear", "bear", "dog", "dog"]
    for s in samples:
        assert s.image.shape == (32, 48, 3) and s.image.dtype == np.uint8
        assert s.image[..., 2].mean() < 0.5 * s.image[..., 0].mean()  # RGB, not BGR
        want = crop_to_multiple(_mask() > 127)
        np.testing.assert_array_equal(s.mask, want)
        np.testing.assert_array_equal(s.coarse, coarse_mask(want))
        assert s.embedding.shape == (2, 3, 384) and s.embedding.dtype == np.float32
    stored = np.random.default_rng(11).normal(size=(2, 3, 384)).astype(np.float16)
    np.testing.assert_array_equal(samples[3].embedding, stored.astype(np.float32))
    assert samples[3].name.endswith("train/dog/images/00001.jpg")

    only_dog = load_obj_seg(root, "train", categories=["dog"], embeddings=False)
    assert len(only_dog) == 2 and all(s.embedding is None for s in only_dog)


def test_load_obj_seg_without_coarse_or_embedding_files(tmp_path):
    root = _make_obj_seg(tmp_path, embeddings=False)
    for p in (root / "train" / "bear" / "annotations_coarse").glob("*.png"):
        p.unlink()
    samples = load_obj_seg(root, categories=["bear"], embeddings=False)
    np.testing.assert_array_equal(samples[0].coarse, coarse_mask(samples[0].mask))
    with pytest.raises(ValueError, match=r"embeddings[/\\]00000\.pt.*embeddings=False"):
        load_obj_seg(root, categories=["bear"])


def test_load_obj_seg_accepts_0_1_masks(tmp_path):
    root = _make_obj_seg(tmp_path, categories=("bear",), stems=("a",), embeddings=False)
    _write_png(root / "train/bear/annotations/a.png", (_mask() > 0).astype(np.uint8))
    (s,) = load_obj_seg(root, embeddings=False)
    np.testing.assert_array_equal(s.mask, crop_to_multiple(_mask() > 0))


def _single(tmp_path, embeddings=False):
    return _make_obj_seg(tmp_path, categories=("bear",), stems=("a",), embeddings=embeddings)


def test_error_missing_annotation(tmp_path):
    root = _single(tmp_path)
    (root / "train/bear/annotations/a.png").unlink()
    with pytest.raises(ValueError, match=r"images[/\\]a\.jpg: no annotation; expected .*a\.png"):
        load_obj_seg(root, embeddings=False)


def test_error_size_mismatch(tmp_path):
    root = _single(tmp_path)
    _write_png(root / "train/bear/annotations/a.png", _mask(h=36))
    with pytest.raises(ValueError, match=r"annotations[/\\]a\.png: mask size 50x36.*a\.jpg"):
        load_obj_seg(root, embeddings=False)


def test_error_embedding_shape(tmp_path):
    root = _single(tmp_path)
    _write_embedding(root / "train/bear/embeddings/a.pt", shape=(3, 2, 384))
    msg = re.escape("embeddings/a.pt: embedding of shape (3, 2, 384), expected (2, 3, 384)")
    with pytest.raises(ValueError, match=msg.replace("/", r"[/\\]")):
        load_obj_seg(root)


def test_error_unreadable_image(tmp_path):
    root = _single(tmp_path)
    (root / "train/bear/images/a.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"images[/\\]a\.jpg: cannot read the image"):
        load_obj_seg(root, embeddings=False)


def test_error_non_binary_mask(tmp_path):
    root = _single(tmp_path)
    mask = _mask()
    mask[0, 0] = 128
    _write_png(root / "train/bear/annotations/a.png", mask)
    with pytest.raises(ValueError, match=r"a\.png: mask is not binary: values \[128\]"):
        load_obj_seg(root, embeddings=False)


def test_error_coarse_shape(tmp_path):
    root = _single(tmp_path)
    _write_png(root / "train/bear/annotations_coarse/a.png", np.zeros((3, 3), np.uint8))
    with pytest.raises(ValueError, match=r"coarse[/\\]a\.png: coarse mask of shape \(3, 3\)"):
        load_obj_seg(root, embeddings=False)


def test_missing_torch_message(tmp_path, monkeypatch):
    root = _single(tmp_path, embeddings=True)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(ImportError, match=r"a\.pt needs PyTorch.*embeddings=False"):
        load_obj_seg(root)
    assert len(load_obj_seg(root, embeddings=False)) == 1


def test_missing_split_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="test"):
        load_obj_seg(tmp_path, "test")


# ---------------------------------------------------------------------------------------
# DAVIS
# ---------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_load_davis_real(shared_data):
    root = shared_data / "davis2016"
    samples = load_davis(root, sequences=["blackswan", "dog"], every=25)
    assert len(samples) == 2 + 3  # 50 and 60 frames
    assert samples[1].name.endswith("blackswan/00025.jpg")
    for s in samples:
        assert s.image.shape == (480, 848, 3) and s.image.dtype == np.uint8
        assert s.mask.shape == (480, 848) and s.mask.dtype == bool
        assert s.coarse.shape == (30, 53) and s.embedding is None
        assert 0.01 < s.mask.mean() < 0.5
        raw = cv2.imread(s.name.replace("JPEGImages", "Annotations")[:-4] + ".png", 0)
        np.testing.assert_array_equal(s.mask, raw[:, :848] > 127)
        np.testing.assert_array_equal(s.coarse, coarse_mask(s.mask))
    # the swan is black: the mask is on darker pixels than the rest of the frame
    swan = samples[0]
    assert swan.image[swan.mask].mean() < swan.image[~swan.mask].mean() - 10


def test_load_davis_palette_masks_and_errors(tmp_path):
    seq = "tennis"
    _write_image(tmp_path / "JPEGImages/480p" / seq / "00000.jpg", h=40, w=40)
    _write_image(tmp_path / "JPEGImages/480p" / seq / "00001.jpg", h=40, w=40)
    labels = np.zeros((40, 40, 3), np.uint8)
    labels[:10, :10] = (0, 0, 128)  # object 1 in the DAVIS palette (BGR)
    labels[20:30, 20:30] = (0, 128, 0)  # object 2
    _write_png(tmp_path / "Annotations/480p" / seq / "00000.png", labels)
    (s,) = load_davis(tmp_path, every=2)
    assert s.mask.shape == (32, 32) and s.mask.sum() == 100 + 100
    assert s.coarse.tolist() == [[True, False], [False, True]]
    with pytest.raises(ValueError, match=r"00001\.jpg: no annotation; expected .*00001\.png"):
        load_davis(tmp_path)
    with pytest.raises(ValueError, match="every must be >= 1"):
        load_davis(tmp_path, every=0)


# ---------------------------------------------------------------------------------------
# synthetic
# ---------------------------------------------------------------------------------------


def test_synthetic_is_a_pure_function_of_seed_and_index():
    a, b = synthetic_segmentation(7, seed=3), synthetic_segmentation(7, seed=3)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    other_index = synthetic_segmentation(8, seed=3)
    other_seed = synthetic_segmentation(7, seed=4)
    assert not np.array_equal(a.image, other_index.image)
    assert not np.array_equal(a.image, other_seed.image)
    split = synthetic_split(3, seed=3)
    np.testing.assert_array_equal(split[2].image, synthetic_segmentation(2, seed=3).image)
    with pytest.raises(ValueError, match=">= 0"):
        synthetic_segmentation(-1)


def test_synthetic_shapes_and_content():
    samples = synthetic_split(40, seed=0)
    fractions = []
    warm_background = 0
    for s in samples:
        assert s.image.shape == (128, 128, 3) and s.image.dtype == np.uint8
        assert s.mask.shape == (128, 128) and s.mask.dtype == bool
        np.testing.assert_array_equal(s.coarse, coarse_mask(s.mask))
        fractions.append(s.mask.mean())
        hsv = cv2.cvtColor(s.image, cv2.COLOR_RGB2HSV)  # H in [0, 180)
        warm = ((hsv[..., 0] < 30) | (hsv[..., 0] > 170)) & (hsv[..., 1] > 140)
        warm_background += (warm & ~s.mask).sum()
        # sharp edges: the image changes across most mask boundary pixels
        edge = s.mask[:, 1:] != s.mask[:, :-1]
        jump = np.abs(s.image[:, 1:].astype(int) - s.image[:, :-1]).sum(-1)
        if edge.any():
            assert np.median(jump[edge]) > 20
    fractions = np.array(fractions)
    assert fractions.min() > 0 and 0.05 < fractions.mean() < 0.5
    # warm colours also occur outside the objects (patterned distractors): not colour alone
    assert warm_background > 1000
    odd = synthetic_segmentation(0, size=(100, 72))
    assert odd.image.shape == (100, 72, 3) and odd.coarse is None
