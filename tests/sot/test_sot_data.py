"""Single-object tracking data: folder formats, still images, synthetic videos, pairs."""

import dataclasses
import json
import types

import cv2
import numpy as np
import pytest

from jaxmot.sot.datasets import (
    SequenceSource,
    SOTFormatError,
    SOTSequence,
    load_coco_images,
    load_davis_boxes,
    load_got10k,
    load_lasot,
    load_mot_images,
    load_trackingnet,
    read_box_file,
)
from jaxmot.sot.geometry import crop_scale
from jaxmot.sot.pairs import (
    PairConfig,
    PairSampler,
    SyntheticSource,
    color_jitter,
    crop_affine,
    sources_from_config,
)
from jaxmot.sot.synthetic import (
    SyntheticSOTConfig,
    make_synthetic_video,
    synthetic_sot_video,
)


def _jpg(path, seed=0, size=(12, 16)):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), image)


def _text(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# --------------------------------------------------------------------------- folders


def _got10k(root, bad_gt=None, bad_absence=None):
    seq_a, seq_b = root / "GOT-10k_Train_000001", root / "GOT-10k_Train_000002"
    for seq in (seq_a, seq_b):
        for i in range(1, 4):
            _jpg(seq / f"{i:08d}.jpg", i)
    _text(seq_a / "groundtruth.txt", bad_gt or "1,2,5,6\n2.5,3,5,6\n3,4,5,6\n")
    _text(seq_a / "absence.label", bad_absence or "0\n1\n0\n")
    _text(seq_a / "cover.label", "8\n0\n0\n")
    _text(seq_b / "groundtruth.txt", "1\t1\t4\t4\nnan,nan,nan,nan\n0,0,0,3\n")  # tabs work
    return seq_a, seq_b


def test_got10k(tmp_path):
    seq_a, _ = _got10k(tmp_path)
    source = load_got10k(tmp_path)
    assert source.kind == "got10k" and len(source) == 2
    a, b = source.sequence(0), source.sequence(1)
    np.testing.assert_allclose(a.boxes[1], [2.5, 3, 5, 6])
    # frame 2 absent (absence.label 1), frame 3 fully covered (cover.label 0)
    np.testing.assert_array_equal(a.valid, [True, False, False])
    # nan row and zero width invalid
    np.testing.assert_array_equal(b.valid, [True, False, False])
    assert np.isnan(b.boxes[1]).all()
    assert a.frames[0] == seq_a / "00000001.jpg" and a.frames[2].is_file()
    # list.txt picks and orders the sequences
    (tmp_path / "list.txt").write_text("GOT-10k_Train_000002\n")
    assert [s.name for s in load_got10k(tmp_path).sequences] == ["GOT-10k_Train_000002"]


@pytest.mark.parametrize(
    ("gt", "line", "field"),
    [
        ("1,2,5,6\n1,2,5\n3,4,5,6\n", 2, "x,y,w,h"),
        ("1,2,5,6\n2,3,5,6\n3,4,x,6\n", 3, "w"),
        ("1,2,5,6\n\n3,4,5,6\n", 2, "line"),  # would shift the frames
    ],
)
def test_got10k_malformed_box_line(tmp_path, gt, line, field):
    seq_a, _ = _got10k(tmp_path, bad_gt=gt)
    with pytest.raises(SOTFormatError) as err:
        load_got10k(tmp_path)
    assert str(seq_a / "groundtruth.txt") in str(err.value)
    assert f"line {line}" in str(err.value) and f"'{field}'" in str(err.value)


def test_got10k_malformed_label(tmp_path):
    seq_a, _ = _got10k(tmp_path, bad_absence="0\n2\n0\n")
    with pytest.raises(SOTFormatError, match=r"absence\.label line 2"):
        load_got10k(tmp_path)
    _got10k(tmp_path, bad_absence="0\n0\n")
    with pytest.raises(SOTFormatError, match=r"2 labels for 3 boxes"):
        load_got10k(tmp_path)


def _lasot(root, out_of_view="0,0,1"):
    for n in (1, 2):
        seq = root / "airplane" / f"airplane-{n}"
        for i in range(1, 4):
            _jpg(seq / "img" / f"{i:08d}.jpg", i)
        _text(seq / "groundtruth.txt", "10,20,30,40\n11,21,30,40\n12,22,30,40\n")
        _text(seq / "full_occlusion.txt", "0,1,0")
        _text(seq / "out_of_view.txt", out_of_view)
    return root / "airplane" / "airplane-1"


def test_lasot(tmp_path):
    _lasot(tmp_path)
    source = load_lasot(tmp_path)
    assert source.kind == "lasot"
    assert [s.name for s in source.sequences] == ["airplane-1", "airplane-2"]
    seq = source.sequence(0)
    np.testing.assert_allclose(seq.boxes[2], [12, 22, 30, 40])
    np.testing.assert_array_equal(seq.valid, [True, False, False])
    assert seq.frames[0] == tmp_path / "airplane/airplane-1/img/00000001.jpg"
    assert seq.frames[0].is_file()
    assert len(load_lasot(tmp_path, sequences=["airplane-2"])) == 1


def test_lasot_malformed(tmp_path):
    seq = _lasot(tmp_path, out_of_view="0,a,0")
    with pytest.raises(SOTFormatError) as err:
        load_lasot(tmp_path)
    assert str(seq / "out_of_view.txt") in str(err.value) and "line 1" in str(err.value)
    assert "value 2" in str(err.value)


def _trackingnet(root, bad=False):
    for k, name in ((0, "abc"), (1, "xyz")):
        chunk = root / f"TRAIN_{k}"
        for i in range(3):
            _jpg(chunk / "frames" / name / f"{i}.jpg", i)
        text = "1,2,3,4\n1,2,3,4,5\n1,2,3,4\n" if bad and k == 1 else "1,2,3,4\n2,3,0,4\n3,4,3,4\n"
        _text(chunk / "anno" / f"{name}.txt", text)


def test_trackingnet(tmp_path):
    _trackingnet(tmp_path)
    source = load_trackingnet(tmp_path)
    assert [s.name for s in source.sequences] == ["TRAIN_0/abc", "TRAIN_1/xyz"]
    seq = source.sequence(1)
    np.testing.assert_array_equal(seq.valid, [True, False, True])
    assert seq.frames[0] == tmp_path / "TRAIN_1/frames/xyz/0.jpg"  # numbered from 0
    assert all(seq.frames[i].is_file() for i in range(3))
    assert len(load_trackingnet(tmp_path, chunks=[0])) == 1
    _trackingnet(tmp_path, bad=True)
    with pytest.raises(SOTFormatError, match=r"TRAIN_1/anno/xyz\.txt line 2.*got 5"):
        load_trackingnet(tmp_path)


def test_read_box_file_whitespace_and_trailing_blank_lines(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1 2 3 4\n5,6,7,8\n\n")
    np.testing.assert_allclose(read_box_file(path), [[1, 2, 3, 4], [5, 6, 7, 8]])


def test_davis_boxes_tiny(tmp_path):
    masks = np.zeros((3, 10, 12), np.uint8)
    masks[0, 2:5, 3:9] = 255
    masks[2, 7:, :2] = 255  # frame 1 empty
    for i, mask in enumerate(masks):
        _jpg(tmp_path / "JPEGImages/480p/s" / f"{i:05d}.jpg", i, (10, 12))
        (tmp_path / "Annotations/480p/s").mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(tmp_path / "Annotations/480p/s" / f"{i:05d}.png"), mask)
    seq = load_davis_boxes(tmp_path).sequence(0)
    np.testing.assert_allclose(seq.boxes[0], [3, 2, 6, 3])
    np.testing.assert_allclose(seq.boxes[2], [0, 7, 2, 3])
    np.testing.assert_array_equal(seq.valid, [True, False, True])


@pytest.mark.shared_data
def test_davis_boxes_real(shared_data):
    root = shared_data / "davis2016"
    source = load_davis_boxes(root)
    assert [s.name for s in source.sequences] == ["blackswan", "dog"]
    seq = source.sequence(0)
    assert len(seq) == 50 and seq.valid.all()
    mask = cv2.imread(str(root / "Annotations/480p/blackswan/00010.png"), cv2.IMREAD_GRAYSCALE)
    ys, xs = np.nonzero(mask)
    expected = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    np.testing.assert_allclose(seq.boxes[10], expected)
    assert seq.frames[10].name == "00010.jpg"


# --------------------------------------------------------------------------- still images


def _coco(tmp_path, annotations):
    path = tmp_path / "instances_train.json"
    images = [{"id": 7, "file_name": "a.jpg"}, {"id": 9, "file_name": "b.jpg"}]
    path.write_text(json.dumps({"images": images, "annotations": annotations}, indent=1))
    return path


def test_coco_images(tmp_path):
    anns = [
        {"id": 1, "image_id": 7, "bbox": [1, 2, 30, 40], "iscrowd": 0},
        {"id": 2, "image_id": 9, "bbox": [5, 5, 50, 20], "iscrowd": 1},  # crowd
        {"id": 3, "image_id": 9, "bbox": [5, 5, 4, 20]},  # tiny
        {"id": 4, "image_id": 9, "bbox": [0, 1, 20, 20]},
    ]
    source = load_coco_images(_coco(tmp_path, anns), tmp_path / "imgs")
    assert len(source) == 2 and source.kind == "image"
    seq = source.sequence(1)
    assert seq.frames[0] == tmp_path / "imgs" / "b.jpg"
    np.testing.assert_allclose(seq.boxes, [[0, 1, 20, 20]])


def test_coco_malformed(tmp_path):
    anns = [{"id": 1, "image_id": 7, "bbox": [1, 2, 30, 40]}, {"id": 5, "image_id": 7, "bbox": [1]}]
    path = _coco(tmp_path, anns)
    with pytest.raises(SOTFormatError, match=r"instances_train\.json.*annotations\[1\] \(id 5\)"):
        load_coco_images(path, tmp_path)
    path.write_text('{"images": [],\n "annotations": [,]}')
    with pytest.raises(SOTFormatError, match=r"instances_train\.json line 2"):
        load_coco_images(path, tmp_path)


def test_mot_images_tiny(tmp_path):
    seq = tmp_path / "MOT-X"
    _text(seq / "seqinfo.ini", "[Sequence]\nname=MOT-X\nimDir=img1\nframeRate=30\nseqLength=3\n")
    for f in (1, 2):
        _jpg(seq / "img1" / f"{f:06d}.jpg", f, (40, 60))
    _text(
        seq / "gt" / "gt.txt",
        "1,1,1,2,20,30,1,1,1.0\n"  # kept
        "1,2,5,5,20,30,0,1,1.0\n"  # flag 0: ignored
        "1,3,5,5,20,30,1,7,1.0\n"  # class 7 (static person): not kept
        "2,1,2,3,20,30,1,1,0.1\n"  # barely visible
        "2,4,4,4,15,12,1,1,0.9\n"  # kept
        "3,1,3,4,20,30,1,1,1.0\n",  # no image for frame 3
    )
    source = load_mot_images([seq])
    assert len(source) == 2
    np.testing.assert_allclose(source.sequence(0).boxes, [[1, 2, 20, 30]])
    assert source.sequence(1).frames[0] == seq / "img1" / "000002.jpg"
    _text(seq / "gt" / "gt.txt", "1,1,1,2,20,30,1,1,1.0\n1,1,1,2,abc,30,1,1,1.0\n")
    with pytest.raises(ValueError, match=r"gt\.txt line 2, field 'width'"):
        load_mot_images([seq])


@pytest.mark.shared_data
def test_mot_images_real(shared_data):
    seqs = [shared_data / f"mot17_mini/train/MOT17-0{n}-FRCNN" for n in (2, 4)]
    source = load_mot_images(seqs)
    assert len(source) > 100
    assert all(p.is_file() for p in source.paths)
    assert (source.boxes[:, 2:] >= 10).all()


# --------------------------------------------------------------------------- synthetic


def test_synthetic_video_shapes_and_determinism():
    frames, boxes = synthetic_sot_video(3, 12, (64, 96))
    assert frames.shape == (12, 64, 96, 3) and frames.dtype == np.uint8
    assert boxes.shape == (12, 4) and boxes.dtype == np.float32
    again, boxes2 = synthetic_sot_video(3, 12, (64, 96))
    np.testing.assert_array_equal(frames, again)
    np.testing.assert_array_equal(boxes, boxes2)
    assert not np.array_equal(frames, synthetic_sot_video(4, 12, (64, 96))[0])
    # frames can be rendered in any order: the same pixels
    video = make_synthetic_video(3, 12, (64, 96))
    np.testing.assert_array_equal(video.render(7), frames[7])


def test_synthetic_boxes_match_the_drawn_target():
    plain = SyntheticSOTConfig(num_distractors=(0, 0), occlusion_prob=0.0)
    for seed in range(4):
        video = make_synthetic_video(seed, 30, (96, 128), plain)
        assert video.valid.all()
        for t in (0, 15, 29):
            frame, mask = video.render(t, with_mask=True)
            x, y, w, h = video.boxes[t]
            ys, xs = np.nonzero(mask)
            # painted pixels (unit squares [j, j + 1)) have their centres inside the box,
            # and the shape touches the box on all four sides (to within a pixel; 2.5 at a
            # thin diamond's tip)
            x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
            assert x - 0.5 <= x0 <= x + 2.5 and x + w - 2.5 <= x1 <= x + w + 0.5
            assert y - 0.5 <= y0 <= y + 2.5 and y + h - 2.5 <= y1 <= y + h + 0.5
            assert np.mean(np.abs([x0 - x, x + w - x1, y0 - y, y + h - y1])) < 1
            # and what is drawn there is the target's colours, not the background
            assert np.abs(frame[mask].astype(float).mean(0) - frame[~mask].mean(0)).max() > 10
    # with distractors and occluders, the visible target still lies inside its box
    for seed in range(6):
        video = make_synthetic_video(seed, 30, (96, 128))
        for t in range(0, 30, 7):
            _, mask = video.render(t, with_mask=True)
            x, y, w, h = video.boxes[t]
            ys, xs = np.nonzero(mask)
            if len(xs):
                assert xs.min() >= x - 0.5 and xs.max() + 1 <= x + w + 0.5
                assert ys.min() >= y - 0.5 and ys.max() + 1 <= y + h + 0.5
            if video.valid[t]:
                assert mask.sum() > 0.2 * w * h


# --------------------------------------------------------------------------- pairs


def test_crop_affine_matches_naive_bilinear():
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.uniform(0, 255, (40, 50, 3)).astype(np.float32), (0, 0), 2)
    center, side, out = (21.3, 17.8), (13.0, 9.5), 7
    crop = crop_affine(image, center, side, out, (0, 0, 0))
    # crop pixel k samples continuous position c + (k + 0.5 - out/2) s/out, i.e. pixel-index
    # position (continuous - 0.5)
    k = np.arange(out)
    xs = center[0] + (k + 0.5 - out / 2) * side[0] / out - 0.5
    ys = center[1] + (k + 0.5 - out / 2) * side[1] / out - 0.5
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = (xs - x0)[None, :, None], (ys - y0)[:, None, None]
    img = image.astype(np.float64)
    naive = (
        img[y0][:, x0] * (1 - fx) * (1 - fy)
        + img[y0][:, x0 + 1] * fx * (1 - fy)
        + img[y0 + 1][:, x0] * (1 - fx) * fy
        + img[y0 + 1][:, x0 + 1] * fx * fy
    )
    np.testing.assert_allclose(crop, naive, atol=0.5)


def test_crop_affine_matches_sot_geometry():
    from jaxmot.sot.geometry import crop_affine_cv2

    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    for center, side, out in (((30.2, 25.7), 41.3, 127), ((5.0, 70.0), 90.0, 64)):
        pad = (12.0, 200.0, 7.0)
        ours = crop_affine(image, center, side, out, pad)
        theirs = crop_affine_cv2(image, center, side, out, pad)
        np.testing.assert_array_equal(ours, theirs)


class _Frames:
    def __init__(self, frames):
        self.frames = frames

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, t):
        return self.frames[t]


def _square_source(num_frames=3):
    """A red rectangle on a grey frame, moving right by 5 px a frame."""
    frames, boxes = [], []
    for t in range(num_frames):
        frame = np.full((120, 160, 3), 90, np.uint8)
        x, y, w, h = 40 + 5 * t, 30, 36, 24
        frame[y : y + h, x : x + w] = (230, 20, 20)
        frames.append(frame)
        boxes.append([x, y, w, h])  # the painted pixels, as unit squares
    seq = SOTSequence(
        "square", "video", np.array(boxes), np.ones(num_frames, bool), _Frames(frames)
    )
    return SequenceSource("video", [seq])


def test_pair_geometry_without_augmentation():
    cfg = PairConfig().off()
    sampler = PairSampler([(_square_source(), 1.0)], cfg, seed=0)
    batch = sampler.batch(0, 4)
    assert batch["template"].shape == (4, 127, 127, 3) and batch["template"].dtype == np.uint8
    assert batch["search"].shape == (4, 256, 256, 3) and batch["search"].dtype == np.uint8
    assert batch["box"].dtype == np.float32 and batch["valid"].all()
    s_z = crop_scale(np.array([36.0, 24.0]), 0.5)[0]
    s_x = s_z * 256 / 127
    for box in batch["box"]:
        np.testing.assert_allclose((box[:2] + box[2:]) / 2, [128, 128], atol=1e-4)
        np.testing.assert_allclose(box[2:] - box[:2], np.array([36, 24]) * 256 / s_x, rtol=1e-5)
    for box in batch["template_box"]:
        np.testing.assert_allclose((box[:2] + box[2:]) / 2, [63.5, 63.5], atol=1e-4)
        np.testing.assert_allclose(box[2:] - box[:2], np.array([36, 24]) * 127 / s_z, rtol=1e-5)
    # the target sits at the crop centre; the padding is the frame's mean colour
    np.testing.assert_array_equal(
        batch["search"][:, 127:129, 127:129], np.full((4, 2, 2, 3), [230, 20, 20])
    )
    # (the search crop spans y in [-18.7, 101.7] of the 120 x 160 frame: its top row is pad)
    mean = np.full((120, 160, 3), 90.0)
    mean[30:54, 40:76] = (230, 20, 20)
    np.testing.assert_allclose(batch["search"][:, 0, 128], [mean.mean((0, 1))] * 4, atol=1)


@pytest.mark.parametrize("flip", [0.0, 1.0])
def test_pair_box_follows_the_target_under_jitter(flip):
    cfg = dataclasses.replace(PairConfig(), color_prob=0.0, flip_prob=flip)
    batch = PairSampler([(_square_source(), 1.0)], cfg, seed=1).batch(3, 8)
    red = np.array([230, 20, 20])

    def is_red(image, x, y):  # continuous (x, y) -> pixel (floor y, floor x)
        return np.abs(image[int(np.floor(y)), int(np.floor(x))].astype(int) - red).max() <= 30

    offsets = []
    for crops, boxes in (
        (batch["search"], batch["box"]),
        (batch["template"], batch["template_box"]),
    ):
        size = crops.shape[1]
        for image, (x1, y1, x2, y2) in zip(crops, boxes, strict=True):
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            inside = [(cx, cy), (x1 + 2, cy), (x2 - 2, cy), (cx, y1 + 2), (cx, y2 - 2)]
            outside = [(x1 - 3, cy), (x2 + 3, cy), (cx, y1 - 3), (cx, y2 + 3)]
            assert all(is_red(image, x, y) for x, y in inside)
            assert not any(
                is_red(image, x, y) for x, y in outside if 0 <= x < size and 0 <= y < size
            )
            offsets.append(max(abs(cx - size / 2), abs(cy - size / 2)))
    assert max(offsets[:8]) > 5  # the search shift (up to 64 px) moved the target


def test_pair_sampler_is_a_pure_function_of_step():
    def make():
        return PairSampler([(SyntheticSource(4, 20, (64, 80), seed=2), 1.0)], PairConfig(), seed=5)

    a, b = make(), make()
    first = a.batch(7, 3)
    a.batch(8, 3)  # state (caches) must not matter
    again = a.batch(7, 3)
    other = b.batch(7, 3)
    for k in first:
        np.testing.assert_array_equal(first[k], again[k])
        np.testing.assert_array_equal(first[k], other[k])
    different = a.batch(9, 3)
    assert not np.array_equal(first["search"], different["search"])
    assert not np.array_equal(first["box"], different["box"])


def test_frame_gap_and_negative_pairs():
    # still images: template and search crops come from the same image
    cfg = PairConfig().off()
    assert cfg.frame_gap("image") == 0 and cfg.frame_gap("got10k") == 30
    assert cfg.frame_gap("lasot") == 100 and cfg.frame_gap("whatever") == 100
    source = _square_source(40)
    near = dataclasses.replace(cfg, gap_video=2)
    batch = PairSampler([(source, 1.0)], near, seed=0).batch(0, 32)
    assert batch["valid"].all()
    neg = dataclasses.replace(cfg, negative_prob=1.0)
    two = SequenceSource("video", source.sequences + _square_source(5).sequences)
    batch = PairSampler([(two, 1.0)], neg, seed=0).batch(0, 4)
    assert not batch["valid"].any() and (batch["box"] == 0).all()


def test_sources_from_config_and_weights():
    data = types.SimpleNamespace(
        synthetic_videos=3,
        synthetic_frames=10,
        synthetic_size=(48, 64),
        synthetic_weight=1.0,
        got10k=None,
        lasot=None,
        trackingnet=None,
        davis=None,
        davis_sequences=(),
        coco_annotations=None,
        coco_images=None,
        mot_sequences=(),
        seed=0,
    )
    sources = sources_from_config(data)
    assert len(sources) == 1 and isinstance(sources[0][0], SyntheticSource)
    mixed = [(sources[0][0], 1.0), (_square_source(), 0.0)]  # weight 0: never drawn
    batch = PairSampler(mixed, PairConfig(), seed=0).batch(0, 6)
    assert (batch["source"] == 0).all()


def test_box_from_mask_empty():
    from jaxmot.sot.sequences import mask_to_box

    assert np.isnan(mask_to_box(np.zeros((4, 4), bool))).all()


def test_photometric_augmentations():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    np.testing.assert_allclose(color_jitter(image, rng, 0.0), image, atol=1)
    jittered = color_jitter(image, rng, 0.05)
    assert jittered.dtype == np.uint8 and 0 < np.abs(jittered - image.astype(int)).mean() < 20
    cfg = dataclasses.replace(PairConfig(), gray_prob=1.0, blur_prob=1.0, flip_prob=1.0)
    batch = PairSampler([(_square_source(), 1.0)], cfg, seed=0).batch(0, 2)
    for crops in (batch["template"], batch["search"]):
        assert (crops[..., 0] == crops[..., 1]).all() and (crops[..., 1] == crops[..., 2]).all()
