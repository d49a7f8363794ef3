"""JDE training data: letterbox/affine/HSV geometry, label files, the three sources, batches."""

import warnings

import cv2
import numpy as np
import pytest

from jaxmot.core.synthetic import SceneConfig, render_frames, simulate
from jaxmot.jde.augment import (
    augment_hsv,
    boxes_to_original,
    hflip,
    letterbox,
    random_affine,
)
from jaxmot.jde.data import JDEBatches
from jaxmot.jde.sources import (
    JDELabelError,
    JDEListSource,
    MOTSource,
    Sample,
    SyntheticSource,
    label_path_for,
    read_jde_labels,
    write_jde_labels,
)


def _rect_image(h, w, box, value=255):
    """Black [h, w, 3] uint8 with the pixels of the xyxy box (integers) set to `value`."""
    img = np.zeros((h, w, 3), np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = value
    return img


def _mass_box(img, region=None):
    """Area and centroid of the white mass of img (channel 0, 0..255 -> 0..1)."""
    a = img[..., 0].astype(np.float64) / 255.0
    if region is not None:
        a = a * region
    ys, xs = np.mgrid[: a.shape[0], : a.shape[1]] + 0.5  # pixel centres
    m = a.sum()
    return m, (float((a * xs).sum() / m), float((a * ys).sum() / m))


# --------------------------------------------------------------------------- letterbox


@pytest.mark.parametrize("shape", [(60, 100), (100, 45)])
def test_letterbox_maps_boxes_exactly(shape):
    h, w = shape
    box = np.array([20, 10, 40, 30]) if w > h else np.array([10, 20, 30, 70])
    img = _rect_image(h, w, box)
    out, ratio, (px, py) = letterbox(img, 64, 64)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert ratio == pytest.approx(min(64 / h, 64 / w))
    new_w, new_h = round(w * ratio), round(h * ratio)
    assert (px, py) == ((64 - new_w) // 2, (64 - new_h) // 2)
    # Padding is the official grey, the content area is not.
    content = np.zeros((64, 64), bool)
    content[py : py + new_h, px : px + new_w] = True
    assert np.all(np.abs(out[~content].astype(int) - 127.5) <= 0.5)
    mapped = box * ratio + np.array([px, py, px, py])
    # Inside the mapped box (1 px margin) white, outside it (1 px margin) black.
    ys, xs = np.mgrid[:64, :64] + 0.5
    inner = (xs > mapped[0] + 1) & (xs < mapped[2] - 1) & (ys > mapped[1] + 1)
    inner &= ys < mapped[3] - 1
    outer = (xs < mapped[0] - 1) | (xs > mapped[2] + 1) | (ys < mapped[1] - 1)
    outer |= ys > mapped[3] + 1
    assert np.all(out[inner] == 255)
    assert np.all(out[outer & content] == 0)
    mass, (cx, cy) = _mass_box(out, content)
    area = (mapped[2] - mapped[0]) * (mapped[3] - mapped[1])
    assert mass == pytest.approx(area, rel=0.03)
    assert cx == pytest.approx((mapped[0] + mapped[2]) / 2, abs=0.35)
    assert cy == pytest.approx((mapped[1] + mapped[3]) / 2, abs=0.35)
    back = boxes_to_original(mapped[None], ratio, (px, py), (h, w))
    np.testing.assert_allclose(back[0], box, atol=1e-4)


def test_boxes_to_original_clips():
    out = boxes_to_original(np.array([[-10.0, 5.0, 200.0, 30.0]]), 0.5, (4, 2), (40, 80))
    np.testing.assert_allclose(out, [[0, 6, 80, 40]])
    assert out.dtype == np.float32


def test_letterbox_same_size_is_identity():
    img = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    out, ratio, pad = letterbox(img, 48, 32)
    assert ratio == 1.0 and pad == (0, 0)
    np.testing.assert_array_equal(out, img)


# --------------------------------------------------------------------------- affine


@pytest.mark.parametrize("seed", range(4))
def test_random_affine_keeps_the_rectangle_in_its_box(seed):
    img = _rect_image(96, 128, (48, 30, 78, 66))
    warped, boxes, kept = random_affine(
        img, np.array([[48, 30, 78, 66.0]]), np.random.default_rng(seed)
    )
    assert warped.shape == img.shape and warped.dtype == np.uint8
    assert kept.tolist() == [0] and boxes.shape == (1, 4) and boxes.dtype == np.float32
    ys, xs = np.nonzero(warped[..., 0] > 200)
    white = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)
    # The corner box of a rotated/sheared rectangle is its bounding box (shrunk by the
    # official <= 0.2 % rotation reduction at |angle| <= 5 deg).
    np.testing.assert_allclose(white, boxes[0], atol=1.5)


def test_random_affine_without_rotation_moves_pixels_exactly():
    img = _rect_image(96, 128, (40, 30, 70, 60))
    for seed in range(3):
        rng = np.random.default_rng(seed)
        warped, boxes, _ = random_affine(
            img, np.array([[40, 30, 70, 60.0]]), rng, degrees=(0, 0), shear=(0, 0)
        )
        b = boxes[0]
        region = np.zeros(warped.shape[:2])
        region[max(int(b[1]) - 3, 0) : int(b[3]) + 3, max(int(b[0]) - 3, 0) : int(b[2]) + 3] = 1
        mass, (cx, cy) = _mass_box(warped, region)
        assert mass == pytest.approx((b[2] - b[0]) * (b[3] - b[1]), rel=0.03)
        assert cx == pytest.approx((b[0] + b[2]) / 2, abs=0.1)
        assert cy == pytest.approx((b[1] + b[3]) / 2, abs=0.1)


def test_random_affine_filters_boxes_as_official():
    img = np.zeros((100, 100, 3), np.uint8)
    boxes = np.array([[40, 40, 60, 60], [0, 0, 3, 3], [-200, -200, -150, -150.0]])
    _, out, kept = random_affine(
        img,
        boxes,
        np.random.default_rng(0),
        degrees=(0, 0),
        translate=(0, 0),
        scale=(1, 1),
        shear=(0, 0),
    )
    assert kept.tolist() == [0]  # too small (w, h <= 4 px) and fully outside are dropped
    np.testing.assert_allclose(out, [[40, 40, 60, 60]], atol=1e-4)
    _, out, kept = random_affine(img, np.zeros((0, 4)), np.random.default_rng(0))
    assert out.shape == (0, 4) and kept.shape == (0,)


def test_augment_hsv_scales_value_of_grey_pixels():
    img = np.full((4, 5, 3), 100, np.uint8)
    out = augment_hsv(img, np.random.default_rng(3))
    draws = np.random.default_rng(3).uniform(-1, 1, 2)
    expected = min(int(100 * (1 + 0.5 * draws[1])), 255)  # S of grey is 0: only V matters
    assert np.all(np.abs(out.astype(int) - expected) <= 1)
    again = augment_hsv(img, np.random.default_rng(3))
    np.testing.assert_array_equal(out, again)


def test_augment_hsv_matches_official_float_computation():
    img = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    for seed in range(4):
        rng = np.random.default_rng(seed)
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        for channel in (1, 2):
            values = hsv[:, :, channel].astype(np.float32)
            values *= 1 + 0.5 * rng.uniform(-1, 1)
            hsv[:, :, channel] = np.clip(values, 0, 255).astype(np.uint8)
        expected = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        np.testing.assert_array_equal(augment_hsv(img, np.random.default_rng(seed)), expected)


def test_hflip():
    img = _rect_image(20, 30, (2, 3, 8, 9))
    out, boxes = hflip(img, np.array([[2, 3, 8, 9.0]]))
    np.testing.assert_allclose(boxes, [[22, 3, 28, 9]])
    ys, xs = np.nonzero(out[..., 0])
    assert (xs.min(), xs.max() + 1, ys.min(), ys.max() + 1) == (22, 28, 3, 9)


# --------------------------------------------------------------------------- label files


def test_read_write_jde_labels(tmp_path):
    rows = np.array([[0, 3, 0.5, 0.4, 0.1, 0.2], [0, -1, 0.25, 0.75, 0.05, 0.3]])
    write_jde_labels(tmp_path / "a.txt", rows)
    assert (tmp_path / "a.txt").read_text().splitlines()[
        0
    ] == "0 3 0.500000 0.400000 0.100000 0.200000"
    np.testing.assert_allclose(read_jde_labels(tmp_path / "a.txt"), rows, atol=1e-6)
    (tmp_path / "empty.txt").write_text("")
    assert read_jde_labels(tmp_path / "empty.txt").shape == (0, 6)
    with pytest.raises(ValueError, match=r"\[K, 6\]"):
        write_jde_labels(tmp_path / "b.txt", np.zeros((2, 5)))


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("0 1 0.5 0.5 0.1", "h"),
        ("0 1 0.5 abc 0.1 0.2", "cy"),
        ("0 1 0.5 0.5 nan 0.2", "w"),
        ("0 1 0.5 0.5 0.1 -0.2", "h"),
        ("0 1.5 0.5 0.5 0.1 0.2", "id"),
        ("0 -2 0.5 0.5 0.1 0.2", "id"),
    ],
)
def test_read_jde_labels_errors_name_file_and_line(tmp_path, line, field):
    path = tmp_path / "bad.txt"
    path.write_text(f"0 1 0.5 0.5 0.1 0.2\n\n{line}\n")
    with pytest.raises(JDELabelError, match=rf"bad.txt:3: field '{field}'") as err:
        read_jde_labels(path)
    assert isinstance(err.value, ValueError) and err.value.line == 3


def test_label_path_for():
    assert label_path_for("MOT17/images/train/s/img1/000001.jpg") == (
        "MOT17/labels_with_ids/train/s/img1/000001.txt"
    )
    assert label_path_for("Caltech/data/images/set00_V000_1271.png").endswith("_1271.txt")


# --------------------------------------------------------------------------- sources


def _jde_root(root):
    """Two datasets in the official layout; images 40x20 (w x h) PNG."""
    specs = {
        "A": [
            ("a0", [[0, 0, 0.5, 0.5, 0.25, 0.5], [0, 2, 0.25, 0.5, 0.1, 0.2]]),
            ("a1", [[0, -1, 0.5, 0.5, 0.5, 0.5]]),
        ],
        "B": [("b0", [[0, 1, 0.5, 0.5, 0.25, 0.5], [0, 0, 0.75, 0.25, 0.25, 0.5]]), ("b1", [])],
    }
    lists = {}
    for ds, items in specs.items():
        lines = []
        for name, rows in items:
            rel = f"{ds}/images/{name}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / rel), np.full((20, 40, 3), 90, np.uint8))
            write_jde_labels(root / label_path_for(rel), np.asarray(rows).reshape(-1, 6))
            lines.append(rel)
        lists[ds] = root / f"{ds.lower()}.train"
        lists[ds].write_text("\n".join(lines) + "\n\n")
    return lists


def test_jde_list_source_offsets_ids_across_datasets(tmp_path):
    src = JDEListSource(tmp_path, _jde_root(tmp_path))
    assert len(src) == 4
    assert src.dataset_num_ids == {"A": 3, "B": 2} and src.dataset_id_offsets == {"A": 0, "B": 3}
    assert src.num_ids == 5
    s = src.sample(0)
    assert s.image.shape == (20, 40, 3) and s.image.dtype == np.uint8
    np.testing.assert_allclose(s.boxes, [[15, 5, 25, 15], [8, 8, 12, 12]], atol=1e-5)
    assert s.ids.tolist() == [0, 2]
    assert src.sample(1).ids.tolist() == [-1]  # unknown stays -1
    assert src.sample(2).ids.tolist() == [4, 3]  # dataset B shifted by A's max id + 1
    assert src.sample(3).boxes.shape == (0, 4)
    all_ids = np.concatenate([src.sample(i).ids for i in range(len(src))])
    known = all_ids[all_ids >= 0]
    assert sorted(known.tolist()) == [0, 2, 3, 4]


def test_jde_list_source_missing_label(tmp_path):
    lists = _jde_root(tmp_path)
    (tmp_path / "A/labels_with_ids/a1.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"a.train:2: no label file"):
        JDEListSource(tmp_path, lists)


def _mot_sequence(root):
    """A 3-frame 64x48 sequence whose img1/ lacks frame 3."""
    seq = root / "MOT17-99-TEST"
    (seq / "img1").mkdir(parents=True)
    for f in (1, 2):
        cv2.imwrite(str(seq / "img1" / f"{f:06d}.jpg"), np.full((48, 64, 3), 60, np.uint8))
    (seq / "gt").mkdir()
    (seq / "gt" / "gt.txt").write_text(
        "1,7,10,5,8,20,1,1,0.9\n"
        "1,3,30,5,6,18,1,1,1.0\n"
        "1,5,40,10,6,18,0,1,1.0\n"  # not considered
        "1,9,2,2,10,10,1,2,1.0\n"  # class 2: not a pedestrian
        "2,3,31,6,6,18,1,1,1.0\n"
        "3,4,20,20,5,15,1,1,1.0\n"  # frame without an image: still an identity
    )
    (seq / "seqinfo.ini").write_text(
        "[Sequence]\nname=MOT17-99-TEST\nimDir=img1\nframeRate=30\nseqLength=3\n"
        "imWidth=64\nimHeight=48\nimExt=.jpg\n"
    )
    return seq


def test_mot_source_reads_considered_pedestrians_only(tmp_path):
    src = MOTSource([_mot_sequence(tmp_path)])
    assert len(src) == 2 and src.num_ids == 3  # ids 3, 4, 7 -> 0, 1, 2
    s = src.sample(0)
    assert s.image.shape == (48, 64, 3)
    np.testing.assert_allclose(s.boxes, [[10, 5, 18, 25], [30, 5, 36, 23]])
    assert s.ids.tolist() == [2, 0]
    assert src.sample(1).ids.tolist() == [0]


def _scene(seed, frames=4):
    return SceneConfig(
        width=160,
        height=120,
        num_frames=frames,
        num_objects=3,
        seed=seed,
        height_range=(30.0, 60.0),
    )


def test_synthetic_source_frames_and_ids():
    configs = [_scene(0), _scene(1, frames=3)]
    raw = SyntheticSource(configs, jpeg=False)
    src = SyntheticSource(configs)
    assert len(src) == 7
    scenes = [simulate(c) for c in configs]
    frames = list(render_frames(scenes[1]))
    s = raw.sample(5)  # scene 1, frame 2
    np.testing.assert_array_equal(s.image, frames[1])
    jpg = src.sample(5).image
    assert jpg.shape == (120, 160, 3) and np.abs(jpg.astype(int) - frames[1]).mean() < 4
    gt = scenes[1].gt
    rows = gt.for_frame(2)
    n0 = int(scenes[0].gt.ids.max())
    assert src.num_ids == n0 + int(gt.ids.max())
    assert s.ids.tolist() == (gt.ids[rows] - 1 + n0).tolist()
    np.testing.assert_allclose(s.boxes[:, 2:] - s.boxes[:, :2], gt.boxes[rows, 2:], atol=1e-4)


# --------------------------------------------------------------------------- batches


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("jde")
    return [
        JDEListSource(root, _jde_root(root)),
        MOTSource([_mot_sequence(root)]),
        SyntheticSource([_scene(0)]),
    ]


def test_batches_shapes_determinism_and_masks(sources):
    data = JDEBatches(sources, width=96, height=64, batch_size=6, max_boxes=8, seed=1)
    assert len(data) == 4 + 2 + 4
    assert data.num_ids == sum(s.num_ids for s in sources)
    assert [r["id_offset"] for r in data.summary()] == [0, 5, 8]
    a, b, c = data.batch(3), data.batch(3), data.batch(4)
    assert a["images"].shape == (6, 64, 96, 3) and a["images"].dtype == np.float32
    assert a["boxes"].shape == (6, 8, 4) and a["boxes"].dtype == np.float32
    assert a["ids"].shape == (6, 8) and a["ids"].dtype == np.int32
    assert a["valid"].shape == (6, 8) and a["valid"].dtype == bool
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["images"], c["images"])
    assert 0 <= a["images"].min() and a["images"].max() <= 1
    for batch in (a, c):
        v = batch["valid"]
        assert np.all(batch["boxes"][~v] == 0) and np.all(batch["ids"][~v] == -1)
        assert np.all(v[:, :-1] | ~v[:, 1:])  # real boxes first, padding after
        cx, cy, w, h = np.moveaxis(batch["boxes"][v], -1, 0)
        assert np.all(w >= 2) and np.all(h >= 2)
        assert np.all(cx - w / 2 >= -1e-4) and np.all(cx + w / 2 <= 96 + 1e-4)
        assert np.all(cy - h / 2 >= -1e-4) and np.all(cy + h / 2 <= 64 + 1e-4)
        ids = batch["ids"][v]
        assert np.all((ids >= -1) & (ids < data.num_ids))
    threaded = JDEBatches(sources, 96, 64, 6, max_boxes=8, seed=1, workers=2).batch(3)
    for k in a:
        np.testing.assert_array_equal(a[k], threaded[k])
    other_seed = JDEBatches(sources, 96, 64, 6, max_boxes=8, seed=2).batch(3)
    assert not np.array_equal(a["images"], other_seed["images"])


def test_batches_without_augmentation_letterbox_boxes(sources):
    data = JDEBatches(sources, width=96, height=64, batch_size=2, augment=False)
    sample = data.sample(6)  # synthetic frame 1, ids shifted by the first two sources
    image, boxes, ids = data.prepare(sample, None)
    out, ratio, (px, py) = letterbox(sample.image, 96, 64)
    np.testing.assert_array_equal(image, out)
    xyxy = np.clip(sample.boxes * ratio + np.array([px, py, px, py]), 0, [96, 64, 96, 64])
    keep = ((xyxy[:, 2:] - xyxy[:, :2]) >= 2).all(1)
    expect = np.concatenate([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]], 1)
    np.testing.assert_allclose(boxes, expect[keep], atol=1e-4)
    assert ids.tolist() == sample.ids[keep].tolist() and np.all(ids >= 8)
    # The batch reproduces prepare() on the drawn samples.
    batch = data.batch(0)
    indices = np.random.default_rng((0, 0)).integers(len(data), size=2)
    for i, index in enumerate(indices):
        image, boxes, ids = data.prepare(data.sample(int(index)), None)
        np.testing.assert_array_equal(batch["images"][i], image.astype(np.float32) / 255)
        k = len(boxes)
        np.testing.assert_allclose(batch["boxes"][i, :k], boxes)
        assert batch["valid"][i].sum() == k


def test_batches_truncate_with_one_warning():
    class Crowd:
        name, num_ids = "crowd", 30

        def __len__(self):
            return 1

        def sample(self, index):
            x = np.arange(30, dtype=np.float32) * 3
            boxes = np.stack([x, x * 0 + 5, x + 3, x * 0 + 20], 1)
            return Sample(np.zeros((40, 100, 3), np.uint8), boxes, np.arange(30, dtype=np.int32))

    data = JDEBatches([Crowd()], 100, 40, 2, max_boxes=10, augment=False)
    with pytest.warns(UserWarning, match="max_boxes=10"):
        batch = data.batch(0)
    assert batch["valid"].all() and batch["ids"][0].tolist() == list(range(10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.batch(1)


def test_batches_reject_bad_sources(sources):
    class Empty:
        name, num_ids = "e", 0

        def __len__(self):
            return 0

    with pytest.raises(ValueError, match="at least one source"):
        JDEBatches([], 96, 64, 2)
    with pytest.raises(ValueError, match="'e' has no samples"):
        JDEBatches([Empty()], 96, 64, 2)
    with pytest.raises(ValueError, match="batch_size"):
        JDEBatches(sources, 96, 64, 0)
    with pytest.raises(ValueError, match="step"):
        JDEBatches(sources, 96, 64, 1).batch(-1)
