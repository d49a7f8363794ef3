"""Re-identification data: Market folders, MOT and synthetic crops, P x K batches, TFDS."""

from __future__ import annotations

import dataclasses
import pathlib
import re
import warnings

import cv2
import numpy as np
import pytest
from scenes import SMALL_SCENE

from jaxmot.core import mot_io as mot
from jaxmot.core import synthetic as syn
from jaxmot.core.extractor import crop_boxes
from jaxmot.reid.data import crops as reid_crops
from jaxmot.reid.data import market, mot_crops
from jaxmot.reid.data.sampler import PKSampler, ReIDBatches
from jaxmot.reid.data.split import ReIDSplit, identity_split, time_query_mask
from jaxmot.reid.data.synthetic_crops import synthetic_reid_dataset
from jaxmot.reid.data.transforms import (
    IMAGENET_MEAN,
    AugmentConfig,
    augment,
    denormalize,
    normalize,
)

SIZE = (32, 16)  # (H, W): tiny crops keep every test fast


def _smooth_images(n: int, size=SIZE, seed=0) -> np.ndarray:
    """[n, H, W, 3] uint8 of smooth colour ramps: JPEG keeps them within a few levels."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = rng.uniform(40, 200, (n, 1, 1, 3))
    slope = rng.uniform(-2, 2, (n, 1, 1, 2))
    img = base + slope[..., :1] * yy[None, :, :, None] + slope[..., 1:] * xx[None, :, :, None]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _split(ids, cams, seed=0) -> ReIDSplit:
    return ReIDSplit(_smooth_images(len(ids), seed=seed), np.array(ids), np.array(cams))


# --------------------------------------------------------------------------- ReIDSplit


def test_reid_split_relabel_and_validation():
    s = _split([7, 3, 7, 100, 3], [1, 1, 2, 2, 1])
    labels, mapping = s.relabel()
    assert labels.dtype == np.int32 and mapping.dtype == np.int32
    np.testing.assert_array_equal(labels, [1, 0, 1, 2, 0])
    np.testing.assert_array_equal(mapping[labels], s.ids)
    assert s.num_ids == 3 and s.image_size == SIZE
    sub = s.subset(s.ids == 7)
    np.testing.assert_array_equal(sub.cams, [1, 2])
    with pytest.raises(ValueError, match="ids"):
        ReIDSplit(s.images, s.ids[:3], s.cams)
    with pytest.raises(ValueError, match="uint8"):
        ReIDSplit(s.images.astype(np.float32), s.ids, s.cams)
    with pytest.raises(ValueError, match="paths"):
        ReIDSplit(s.images, s.ids, s.cams, ("a",))


def test_identity_and_time_split_rules():
    ids = np.repeat(np.arange(1, 11), 3)
    test = identity_split(ids, 0.3, seed=0)
    assert len(np.unique(ids[test])) == 3
    # Only the distinct ids and the seed matter, not the row order.
    perm = np.random.default_rng(1).permutation(len(ids))
    np.testing.assert_array_equal(identity_split(ids[perm], 0.3, seed=0), test[perm])
    assert not np.array_equal(identity_split(ids, 0.3, seed=1), test)

    ids = np.array([5, 5, 5, 5, 5, 9, 9, 2])
    frames = np.array([9, 1, 7, 3, 5, 4, 2, 1])
    q = time_query_mask(ids, frames)
    # id 5: frames 1, 3 query, 5, 7, 9 gallery; id 9: frame 2 query; id 2: one crop, gallery.
    np.testing.assert_array_equal(q, [False, True, False, True, False, False, True, False])


# --------------------------------------------------------------------------- Market-1501


def test_parse_market_names():
    n = market.parse_market_name("0002_c1s1_000451_03.jpg")
    assert (n.pid, n.cam, n.seq, n.frame, n.box) == (2, 1, 1, 451, 3)
    assert n.filename() == "0002_c1s1_000451_03.jpg"
    assert market.parse_market_name("-1_c3s2_000101_00.jpg").pid == -1
    assert market.parse_market_name("0000_c6s4_002202_01.jpg").pid == 0
    for bad in (
        "002_c1s1_000451_03.jpg",  # 3-digit id
        "0002_c1_000451_03.jpg",  # no sequence
        "0002_c1s1_451_03.jpg",  # short frame
        "-2_c1s1_000451_03.jpg",  # only -1 may be negative
        "0002_c1s1_000451_03.png",
    ):
        with pytest.raises(market.MarketFormatError, match=re.escape(bad)):
            market.parse_market_name(bad)


def test_malformed_file_raises_or_is_skipped(tmp_path):
    folder = tmp_path / "query"
    folder.mkdir()
    for name in ("0002_c1s1_000001_00.jpg", "person.jpg", "Thumbs.db"):
        (folder / name).write_bytes(b"x")
    with pytest.raises(market.MarketFormatError, match="person.jpg"):
        market.list_market_folder(folder)
    with pytest.warns(UserWarning, match=r"skipped 1 file.*person\.jpg"):
        records = market.list_market_folder(folder, on_malformed="skip")
    # Thumbs.db (shipped in the real release) is not an image: ignored silently.
    assert [p.name for p, _ in records] == ["0002_c1s1_000001_00.jpg"]


def test_market_write_read_round_trip(tmp_path):
    splits = {
        "train": _split([5, 5, -1, 0, 12, 12], [1, 2, 1, 1, 3, 4], seed=1),
        "query": _split([5, 12], [1, 3], seed=2),
        "gallery": _split([5, -1, 0, 12], [2, 1, 6, 4], seed=3),
    }
    root = market.write_market_folder(tmp_path / "Market-1501-v15.09.15", splits)
    assert sorted(p.name for p in root.iterdir()) == sorted(market.FOLDERS.values())
    # The parent works too (the release zip unpacks to a single subfolder).
    data = market.read_market(tmp_path, size=SIZE)
    # Train drops junk and distractors; test splits keep raw ids. Rows come back in file
    # name order: by id, then camera, then written row.
    keep = np.array([True, True, False, False, True, True])
    expected = {
        "train": splits["train"].subset(keep),
        **{k: splits[k] for k in ("query", "gallery")},
    }
    for name, want in expected.items():
        want = want.subset(np.lexsort((np.arange(len(want)), want.cams, want.ids)))
        np.testing.assert_array_equal(data[name].ids, want.ids)
        np.testing.assert_array_equal(data[name].cams, want.cams)
        diff = np.abs(data[name].images.astype(int) - want.images.astype(int))
        assert diff.mean() < 2.0 and diff.max() < 24, (name, diff.mean(), diff.max())
    np.testing.assert_array_equal(data["gallery"].ids, [-1, 0, 5, 12])
    assert all(pathlib.Path(p).is_file() for p in data["gallery"].paths)
    big = market.read_market(root, size=(64, 32))
    assert big["query"].images.shape == (2, 64, 32, 3)
    with pytest.raises(ValueError, match="cannot be written"):
        market.write_market_folder(tmp_path / "bad", {"query": _split([10000], [1])})
    with pytest.raises(FileNotFoundError, match="bounding_box_train"):
        market.read_market(tmp_path / "bad" / "query")


# --------------------------------------------------------------------------- sampler


def _labels():
    # 6 identities with 1..6 images each, shuffled rows.
    labels = np.repeat(np.arange(6) * 10, np.arange(1, 7))
    return np.random.default_rng(0).permutation(labels)


def test_pk_sampler_batches():
    labels = _labels()
    sampler = PKSampler(labels, p=4, k=3, seed=7)
    a = sampler.indices(5)
    np.testing.assert_array_equal(a, PKSampler(labels, 4, 3, seed=7).indices(5))
    assert not np.array_equal(a, sampler.indices(6))
    assert not np.array_equal(a, PKSampler(labels, 4, 3, seed=8).indices(5))
    for step in range(50):
        idx = sampler.indices(step)
        assert idx.shape == (12,)
        per_id = labels[idx].reshape(4, 3)
        assert (per_id == per_id[:, :1]).all()  # K rows of one identity, identity-major
        assert len(np.unique(per_id[:, 0])) == 4  # P distinct identities
        for row in idx.reshape(4, 3):
            # Without replacement whenever the identity has >= K images.
            if (labels == labels[row[0]]).sum() >= 3:
                assert len(np.unique(row)) == 3
    # An identity with one image still fills K slots (with replacement).
    one = np.flatnonzero(labels == 0)
    seen = [s for s in range(200) if one[0] in sampler.indices(s)]
    assert seen and (sampler.indices(seen[0]) == one[0]).sum() == 3
    with pytest.raises(ValueError, match="p=7"):
        PKSampler(labels, p=7, k=2)


def test_batches_resume_exactly():
    split = _split(_labels(), np.ones(21))
    run = ReIDBatches(split, p=3, k=2, seed=3)
    first = [run.batch(s) for s in range(6)]
    # A "restarted" run rebuilt from the same arguments continues at step 3.
    resumed = ReIDBatches(split, p=3, k=2, seed=3)
    for s in range(3, 6):
        b = resumed.batch(s)
        np.testing.assert_array_equal(b["images"], first[s]["images"])
        np.testing.assert_array_equal(b["labels"], first[s]["labels"])
    assert not np.array_equal(first[0]["images"], first[1]["images"])
    # Augmentation draws from its own stream: the same images with or without it.
    plain = ReIDBatches(split, p=3, k=2, seed=3, augment=False)
    for s in range(6):
        np.testing.assert_array_equal(plain.batch(s)["labels"], first[s]["labels"])


def test_batch_shapes_labels_and_ranges():
    split = _split(_labels(), np.ones(21))
    batches = ReIDBatches(split, p=4, k=2, seed=0)
    b = batches.batch(0)
    assert b["images"].shape == (8, *SIZE, 3) and b["images"].dtype == np.float32
    assert b["labels"].shape == (8,) and b["labels"].dtype == np.int32
    assert batches.num_classes == 6 and b["labels"].max() < 6
    idx = batches.sampler.indices(0)
    np.testing.assert_array_equal(batches.mapping[b["labels"]], split.ids[idx])
    x = denormalize(b["images"])
    assert x.min() >= -1e-5 and x.max() <= 1 + 1e-5  # pixels, black padding or mean colour
    raw = ReIDBatches(split, p=4, k=2, seed=0, augment=False).batch(0)["images"]
    np.testing.assert_allclose(denormalize(raw), split.images[idx] / 255.0, atol=1e-6)


def test_augmentations_do_what_they_say():
    images = _smooth_images(16, size=(40, 20))
    rng = np.random.default_rng
    flip = augment(images, rng(0), AugmentConfig(flip_p=1.0, pad=0, erasing_p=0.0))
    np.testing.assert_allclose(flip, normalize(images[:, :, ::-1]), atol=1e-6)

    shifted = augment(images, rng(1), AugmentConfig(flip_p=0.0, pad=10, erasing_p=0.0))
    padded = normalize(np.pad(images, ((0, 0), (10, 10), (10, 10), (0, 0))))  # black border
    offsets = set()
    for i in range(16):
        match = [
            (dy, dx)
            for dy in range(21)
            for dx in range(21)
            if np.allclose(padded[i, dy : dy + 40, dx : dx + 20], shifted[i], atol=1e-6)
        ]
        assert match, i
        offsets.add(match[0])
    assert len(offsets) > 1

    erased = augment(images, rng(2), AugmentConfig(flip_p=0.0, pad=0, erasing_p=1.0))
    for i in range(16):
        zero = np.all(erased[i] == 0.0, axis=-1)
        frac = zero.mean()
        assert 0.015 <= frac <= 0.41, frac
        ys, xs = np.nonzero(zero)
        assert zero[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].all()  # a rectangle
    np.testing.assert_array_equal(erased, augment(images, rng(2), AugmentConfig(0.0, 0, 1.0)))


def test_normalize_round_trip_numpy_and_jax():
    import jax
    import jax.numpy as jnp

    images = _smooth_images(2)
    x = normalize(images)
    assert x.dtype == np.float32
    np.testing.assert_allclose(denormalize(x), images / 255.0, atol=1e-6)
    np.testing.assert_allclose(normalize(images / np.float32(255.0)), x, atol=1e-6)
    np.testing.assert_allclose(normalize(np.full(3, IMAGENET_MEAN)), 0.0, atol=1e-7)
    jx = jax.jit(normalize)(jnp.asarray(images))
    np.testing.assert_allclose(np.asarray(jx), x, atol=1e-6)


# --------------------------------------------------------------------------- synthetic


@pytest.fixture(scope="module")
def synthetic_small():
    kwargs = dict(frames=16, objects_per_scene=8, size=SIZE, seed=5)
    return synthetic_reid_dataset(2, 2, **kwargs), kwargs


def test_synthetic_dataset_deterministic_and_disjoint(synthetic_small):
    data, kwargs = synthetic_small
    again = synthetic_reid_dataset(2, 2, **kwargs)
    for name in ("train", "query", "gallery"):
        s = data[name]
        assert len(s) > 10 and s.images.shape[1:] == (*SIZE, 3), name
        np.testing.assert_array_equal(s.images, again[name].images)
        np.testing.assert_array_equal(s.ids, again[name].ids)
        np.testing.assert_array_equal(s.cams, again[name].cams)
    train, query, gallery = data["train"], data["query"], data["gallery"]
    assert not set(train.ids.tolist()) & set(gallery.ids.tolist())
    # Scenes: train 0, 1; test 2, 3 (ids scene * ID_STRIDE + gt id).
    assert set((train.ids // mot_crops.ID_STRIDE).tolist()) == {0, 1}
    assert set((gallery.ids // mot_crops.ID_STRIDE).tolist()) == {2, 3}
    assert set(query.ids.tolist()) <= set(gallery.ids.tolist())
    assert set(train.cams.tolist()) == {0, 1}
    assert set(query.cams.tolist()) <= {0, 1} and set(gallery.cams.tolist()) <= {2, 3}
    # Other seed, other people.
    other = synthetic_reid_dataset(1, 0, **{**kwargs, "seed": 6})["train"]
    assert not np.array_equal(other.images[:5], train.images[:5])


def test_synthetic_test_scenes_do_not_depend_on_train_count(synthetic_small):
    data, kwargs = synthetic_small
    fewer = synthetic_reid_dataset(1, 2, **kwargs)
    # Same test scenes (own seeds), only the ids' scene offset moves.
    np.testing.assert_array_equal(fewer["gallery"].images, data["gallery"].images)
    np.testing.assert_array_equal(
        fewer["gallery"].ids % mot_crops.ID_STRIDE, data["gallery"].ids % mot_crops.ID_STRIDE
    )


# --------------------------------------------------------------------------- MOT crops


@pytest.fixture(scope="module")
def mot_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("mot")
    syn.generate_sequence(root / "train", SMALL_SCENE, name="SYN-01")
    syn.generate_sequence(root / "train", dataclasses.replace(SMALL_SCENE, seed=4), name="SYN-02")
    return root


def test_plan_crops_filters():
    k = 7
    gt = mot.GroundTruth(
        frames=np.arange(1, k + 1),
        ids=np.full(k, 3),
        boxes=np.array(
            [
                [10, 10, 20, 60],
                [10, 10, 20, 60],
                [10, 10, 20, 60],
                [10, 10, 20, 60],
                [-5, 200, 20, 60],
                [10, 10, 20, 30],
                [10, 10, 20, 60],
            ]
        ),
        flags=np.array([1, 1, 0, 1, 1, 1, 1]),
        classes=np.array([1, -1, 1, 7, 1, 1, 1]),
        visibility=np.array([0.9, -1.0, 0.9, 0.9, 0.9, 0.9, 0.1]),
    )
    plan = reid_crops.plan_crops(gt, (320, 240), min_visibility=0.3, min_height=35)
    # Kept: frame 1 (pedestrian), 2 (MOT15: class and visibility unknown) and 5 (clipped to
    # x 0..15, y 200..240: 40 px tall). Dropped: 3 (flag 0), 4 (class 7, a static person),
    # 6 (30 px tall), 7 (visibility 0.1).
    np.testing.assert_array_equal(plan.frames, [1, 2, 5])
    np.testing.assert_array_equal(plan.boxes[2], [0, 200, 15, 40])
    assert reid_crops.spread_indices(10, 4).tolist() == [0, 3, 6, 9]
    assert reid_crops.spread_indices(3, 5).tolist() == [0, 1, 2]
    for n in range(1, 40):
        for m in range(1, 12):
            idx = reid_crops.spread_indices(n, m)
            assert len(np.unique(idx)) == min(n, m) and idx[-1] == (n - 1 if m > 1 else 0)


def test_mot_crops_rules(mot_root):
    seq_dir = mot_root / "train" / "SYN-01"
    gt = mot.read_sequence(seq_dir).gt
    plan, images = mot_crops.sequence_crops(
        seq_dir, SIZE, min_visibility=0.5, min_height=30, max_per_id=5
    )
    assert len(plan) > 10 and images.shape == (len(plan), *SIZE, 3)
    ids, counts = np.unique(plan.ids, return_counts=True)
    assert counts.max() == 5
    for f, i, box in zip(plan.frames, plan.ids, plan.boxes, strict=True):
        row = np.flatnonzero((gt.frames == f) & (gt.ids == i))[0]
        assert gt.visibility[row] >= 0.5 and box[3] >= 30
        assert box[0] >= 0 and box[1] >= 0 and box[0] + box[2] <= 320 and box[1] + box[3] <= 240
    # An id with more eligible rows than max_per_id keeps its first and last.
    eligible = reid_crops.plan_crops(
        gt, (320, 240), min_visibility=0.5, min_height=30, max_per_id=None
    )
    for i in ids:
        frames = eligible.frames[eligible.ids == i]
        mine = plan.frames[plan.ids == i]
        assert mine[0] == frames[0] and mine[-1] == frames[-1]
    # The crop is exactly what the tracker's crop_boxes cuts from that frame, resized.
    r = len(plan) // 2
    frame = mot.read_sequence(seq_dir).frame(int(plan.frames[r]))
    want = cv2.resize(crop_boxes(frame, plan.boxes[r : r + 1])[0], SIZE[::-1])
    np.testing.assert_array_equal(images[r], want)


def test_mot_reid_dataset_split(mot_root):
    seqs = mot_crops.find_sequences(mot_root)
    assert [p.name for p in seqs] == ["SYN-01", "SYN-02"]
    data = mot_crops.mot_reid_dataset(seqs, SIZE, min_height=30, max_per_id=6, seed=1)
    train, query, gallery = data["train"], data["query"], data["gallery"]
    assert len(train) and len(query) and len(gallery)
    assert not set(train.ids.tolist()) & set(gallery.ids.tolist())
    all_ids = np.concatenate([train.ids, gallery.ids])
    assert set((all_ids // mot_crops.ID_STRIDE).tolist()) == {0, 1}
    assert set(query.ids.tolist()) <= set(gallery.ids.tolist())
    assert set(train.cams.tolist()) <= {0, 1} and set(query.cams.tolist()) <= {0, 1}
    np.testing.assert_array_equal(gallery.cams, gallery.ids // mot_crops.ID_STRIDE + 2)

    def frame_of(path):
        return int(re.search(r"frame (\d+)", path).group(1))

    # Time rule: every query crop of an id precedes all its gallery crops.
    for i in np.unique(query.ids):
        q = [frame_of(p) for p, j in zip(query.paths, query.ids, strict=True) if j == i]
        g = [frame_of(p) for p, j in zip(gallery.paths, gallery.ids, strict=True) if j == i]
        assert max(q) <= min(g) and len(g) - len(q) in (0, 1)
    again = mot_crops.mot_reid_dataset(seqs, SIZE, min_height=30, max_per_id=6, seed=1)
    np.testing.assert_array_equal(again["query"].images, query.images)
    other = mot_crops.mot_reid_dataset(seqs, SIZE, min_height=30, max_per_id=6, seed=2)
    assert set(other["train"].ids.tolist()) != set(train.ids.tolist())


def test_find_sequences_keeps_one_mot17_copy(tmp_path):
    for name in ("MOT17-02-DPM", "MOT17-02-FRCNN", "MOT17-02-SDP", "MOT17-04-SDP", "TUD-X"):
        (tmp_path / "train" / name / "gt").mkdir(parents=True)
        (tmp_path / "train" / name / "gt" / "gt.txt").write_text("")
    (tmp_path / "test" / "MOT17-01-DPM").mkdir(parents=True)  # no gt: not a source
    names = [p.name for p in mot_crops.find_sequences(tmp_path)]
    assert names == ["MOT17-02-DPM", "MOT17-04-SDP", "TUD-X"]


@pytest.mark.shared_data
def test_load_crops_folder_and_query_gallery(shared_data):
    folder = shared_data / "mot17_mini_reid_crops"
    crops = mot_crops.load_crops_folder(folder, size=(64, 32))
    assert crops.images.shape == (244, 64, 32, 3) and crops.num_ids == 37
    assert set(crops.cams.tolist()) == {1, 2}
    assert crops.images.std() > 20  # real pixels, not blank
    query, gallery = mot_crops.query_gallery_split(crops, seed=0)
    # 36 ids have >= 2 crops: one query each; everything else is gallery.
    assert len(query) == 36 and len(np.unique(query.ids)) == 36
    assert len(query) + len(gallery) == 244 and crops.num_ids == gallery.num_ids
    assert set(gallery.cams.tolist()) == {4, 5}  # cam + (max cam + 1)
    np.testing.assert_array_equal(query.cams, query.ids // 1000 // 2)  # 2xxx cam 1, 4xxx cam 2
    again, _ = mot_crops.query_gallery_split(crops, seed=0)
    assert again.paths == query.paths
    assert mot_crops.query_gallery_split(crops, seed=1)[0].paths != query.paths


@pytest.mark.shared_data
def test_mot_reid_dataset_on_real_frames(shared_data):
    seqs = mot_crops.find_sequences(shared_data / "mot17_mini")
    data = mot_crops.mot_reid_dataset(seqs, (64, 32), max_per_id=4)
    total = sum(len(s) for s in data.values())
    assert total > 50 and data["train"].images.std() > 20


def test_load_crops_folder_errors_name_the_line(tmp_path):
    img = _smooth_images(1)[0]
    cv2.imwrite(str(tmp_path / "0003_c1s1_000001_00.jpg"), img)
    (tmp_path / "crops_index.csv").write_text("file,pid,cam\n0003_c1s1_000001_00.jpg,4,1\n")
    with pytest.raises(mot.MOTFormatError, match=r"crops_index.csv line 2, field 'file'"):
        mot_crops.load_crops_folder(tmp_path, SIZE)
    (tmp_path / "crops_index.csv").write_text(
        "file,pid,cam\n0003_c1s1_000001_00.jpg,3,1\nx.jpg,3,1\n"
    )
    with pytest.raises(mot.MOTFormatError, match=r"line 3, field 'file'.*x\.jpg"):
        mot_crops.load_crops_folder(tmp_path, SIZE)
    (tmp_path / "crops_index.csv").write_text("file,pid\n")
    with pytest.raises(mot.MOTFormatError, match="'cam'"):
        mot_crops.load_crops_folder(tmp_path, SIZE)
    (tmp_path / "crops_index.csv").write_text("file,pid,cam\n0003_c1s1_000001_00.jpg,3,1\n")
    assert mot_crops.load_crops_folder(tmp_path, SIZE).ids.tolist() == [3]


# --------------------------------------------------------------------------- TFDS


@pytest.fixture(scope="module")
def tfds_builders():
    pytest.importorskip("tensorflow_datasets", reason="optional: tensorflow-datasets")
    pytest.importorskip("array_record", reason="optional: array_record")
    # TFDS 4.9.x imports it on every Python but declares it only for < 3.9
    # (tensorflow/datasets#11212).
    pytest.importorskip("importlib_resources", reason="optional: importlib_resources for TFDS")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from jaxmot.reid.data import tfds_builders
    return tfds_builders


def _prepare(tb, builder_cls, manual_dir, data_dir):
    import tensorflow_datasets as tfds

    builder = builder_cls(data_dir=str(data_dir), file_format="array_record")
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir))
    )
    return tb.read_prepared(builder.data_dir, size=SIZE)


def test_tfds_market_round_trip(tfds_builders, tmp_path):
    splits = {
        "train": _split([5, 5, -1, 12, 12, 0], [1, 2, 1, 3, 4, 2], seed=1),
        "query": _split([5, 12], [1, 3], seed=2),
        "gallery": _split([5, -1, 0, 12, 5], [2, 1, 6, 4, 3], seed=3),
    }
    market.write_market_folder(tmp_path / "manual", splits)
    got = _prepare(tfds_builders, tfds_builders.Market1501, tmp_path / "manual", tmp_path / "tfds")
    want = market.read_market(tmp_path / "manual", size=SIZE)
    for name in ("train", "query", "gallery"):
        # Same JPEG bytes, same decoder: identical arrays, in the same order.
        np.testing.assert_array_equal(got[name].images, want[name].images)
        np.testing.assert_array_equal(got[name].ids, want[name].ids)
        np.testing.assert_array_equal(got[name].cams, want[name].cams)
        assert got[name].paths == tuple(pathlib.Path(p).name for p in want[name].paths)


def test_tfds_mot_crops_match_in_memory(tfds_builders, mot_root, tmp_path):
    import tensorflow_datasets as tfds

    config = tfds_builders.MotReidCropsConfig(name="small", min_height=30, max_per_id=6, seed=1)
    builder = tfds_builders.MotReidCrops(
        data_dir=str(tmp_path), config=config, file_format="array_record"
    )
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(mot_root))
    )
    got = tfds_builders.read_prepared(builder.data_dir, size=SIZE)
    want = mot_crops.mot_reid_dataset(
        mot_crops.find_sequences(mot_root), SIZE, min_height=30, max_per_id=6, seed=1
    )
    for name in ("train", "query", "gallery"):
        assert len(got[name]) == len(want[name]) > 0
        np.testing.assert_array_equal(got[name].images, want[name].images)  # PNG: lossless
        np.testing.assert_array_equal(got[name].ids, want[name].ids)
        np.testing.assert_array_equal(got[name].cams, want[name].cams)


def test_synthetic_crops_from_detection_boxes():
    from jaxmot.reid.data.synthetic_crops import scene_crops

    config = dataclasses.replace(SMALL_SCENE, num_frames=12)
    scene = syn.simulate(config)
    images, ids, frames = scene_crops(
        config, (32, 16), boxes="detections", min_height=1, max_per_id=None
    )
    true = scene.det_gt_ids >= 0
    # every true detection (and no false positive) becomes a crop, labelled with its person
    assert len(ids) == int(true.sum())
    expected = sorted(
        zip(scene.detections.frames[true].tolist(), scene.det_gt_ids[true].tolist(), strict=True)
    )
    assert sorted(zip(frames.tolist(), ids.tolist(), strict=True)) == expected
    assert images.shape == (len(ids), 32, 16, 3)
    with pytest.raises(ValueError, match="boxes must be"):
        scene_crops(config, (32, 16), boxes="nope")
