"""Frame sources (video, image folder, glob, camera) and the weight-free detectors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from jaxmot.core import detectors
from jaxmot.core.draw import VideoWriter
from jaxmot.core.frame_source import open_source
from jaxmot.core.mot_io import MOTFormatError


def _frames(n, h=48, w=64):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (h, w, 3), np.uint8) for _ in range(n)]


@pytest.fixture
def video(tmp_path):
    """A 9-frame H.264 video at 12.5 fps whose frames are flat colours (easy to check)."""
    path = tmp_path / "clip.mp4"
    with VideoWriter(path, 12.5) as out:
        for i in range(9):
            out.write(np.full((48, 64, 3), (20 * i, 100, 200 - 20 * i), np.uint8))
    return path


def test_video_source_reads_rate_count_and_rgb_frames(video):
    source = open_source(video)
    assert (source.kind, source.name, source.num_frames) == ("video", "clip", 9)
    assert source.fps == pytest.approx(12.5) and source.size == (64, 48)
    frames = list(source)
    assert len(frames) == 9 and frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8
    # RGB order: red grows with the index, blue falls (lossy codec: close, not equal)
    np.testing.assert_allclose(frames[4][20, 30], (80, 100, 120), atol=6)
    assert open_source(video, fps=30).fps == 30
    capped = open_source(video, max_frames=4)
    assert capped.length == 4 and len(list(capped)) == 4


def test_avi_read_like_opencv(tmp_path):
    path = tmp_path / "clip.avi"
    with VideoWriter(path, 10) as out:
        for frame in _frames(5):
            out.write(frame)
    source = open_source(path)
    capture = cv2.VideoCapture(str(path))
    for frame in source:
        ok, bgr = capture.read()
        assert ok
        np.testing.assert_array_equal(frame, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert source.fps == pytest.approx(10)


def test_image_folder_and_glob_in_natural_order(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in (1, 2, 10):  # natural order: 1, 2, 10 (not 1, 10, 2)
        cv2.imwrite(str(folder / f"f{i}.png"), np.full((8, 8, 3), (i, 0, 0), np.uint8))  # BGR
    (folder / "notes.txt").write_text("not an image")
    for spec in (folder, str(folder / "*.png")):
        source = open_source(spec)
        assert source.kind == "images" and source.num_frames == 3 and source.fps == 30
        # written as BGR (blue = i), read back as RGB: blue is the last channel
        assert [int(f[0, 0, 2]) for f in source] == [1, 2, 10]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("99", "no camera with index 99"),
        ("missing.mp4", "no such video, image folder or glob"),
        ("nothing/*.jpg", "holds no images"),
    ],
)
def test_bad_sources_say_what_is_wrong(tmp_path, monkeypatch, spec, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=message):
        open_source(spec)


def test_bad_settings():
    with pytest.raises(ValueError, match="--fps"):
        open_source("0", fps=0)
    with pytest.raises(ValueError, match="--max-frames"):
        open_source("0", max_frames=0)


def test_det_txt_detections_by_frame_with_classes(tmp_path):
    path = tmp_path / "det.txt"
    path.write_text("1,-1,10,20,30,40,0.9,2,-1,-1\n1,-1,5,5,10,10,0.4,0,-1,-1\n3,-1,1,2,3,4,0.7\n")
    found = detectors.DetectionsFile(path)
    one = found(None, 1)
    np.testing.assert_allclose(one.detections.boxes, [[10, 20, 30, 40], [5, 5, 10, 10]])
    assert one.classes.tolist() == [2, 0] and len(found(None, 2).detections) == 0
    assert found(None, 3).classes.tolist() == [0]  # no class column: people
    assert one.only([2]).detections.scores.tolist() == pytest.approx([0.9])
    assert len(one.above(0.5).detections) == 1 and found.last_frame == 3


def test_yolo_folder_video_and_image_names(tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    # ultralytics on a video: <stem>_<frame>.txt, frames 1-based; conf optional
    (labels / "clip_1.txt").write_text("0 0.5 0.5 0.25 0.5 0.8\n2 0.1 0.2 0.1 0.2\n")
    (labels / "clip_3.txt").write_text("1 0.5 0.5 0.5 0.5 0.3\n")
    frame = np.zeros((100, 200, 3), np.uint8)
    folder = detectors.YOLOLabelsFolder(labels)
    got = folder(frame, 1)
    # cx 100, cy 50, w 50, h 50 -> x 75, y 25; second: cx 20, cy 20, w 20, h 20
    np.testing.assert_allclose(got.detections.boxes, [[75, 25, 50, 50], [10, 10, 20, 20]])
    np.testing.assert_allclose(got.detections.scores, [0.8, 1.0])
    assert got.classes.tolist() == [0, 2]
    assert len(folder(frame, 2).detections) == 0 and folder(frame, 3).classes.tolist() == [1]
    # image sources: files named as the images
    (labels / "img_b.txt").write_text("0 0.5 0.5 0.5 0.5 0.6\n")
    named = detectors.YOLOLabelsFolder(labels, ["img_a.jpg", "img_b.jpg"])
    assert len(named(frame, 1).detections) == 2  # clip_1 by number: no img_a.txt
    np.testing.assert_allclose(named(frame, 2).detections.scores, [0.6])


def test_yolo_folder_bad_line_names_file_and_line(tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "v_1.txt").write_text("0 0.5 0.5 0.2 0.2\n0 0.5 0.5\n")
    with pytest.raises(MOTFormatError, match=r"v_1.txt.*2"):
        detectors.YOLOLabelsFolder(labels)(np.zeros((10, 10, 3), np.uint8), 1)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no .txt"):
        detectors.YOLOLabelsFolder(empty)


needs_hog = pytest.mark.skipif(
    not hasattr(cv2, "HOGDescriptor"), reason="this OpenCV build has no HOGDescriptor"
)


@needs_hog
def test_hog_scales_frames_and_tightens_windows(monkeypatch):
    """Boxes come back in frame pixels: window / scale factor, shrunk by the Dalal-Triggs
    margin (16 px of a 64 x 128 window per side); scores sigmoid(margin)."""
    hog = detectors.HOGPeopleDetector(min_height=64)  # frames scaled by 128 / 64 = 2
    seen = {}

    def fake(image, **kwargs):
        seen["shape"] = image.shape
        return np.array([[40, 80, 64, 128]]), np.array([[1.5]])

    monkeypatch.setattr(hog, "_hog", type("H", (), {"detectMultiScale": staticmethod(fake)}))
    got = hog(np.zeros((120, 160, 3), np.uint8))
    assert seen["shape"] == (240, 320, 3)
    # window in the frame: (20, 40, 32, 64); margins 8 and 8 px -> (28, 48, 16, 48)
    np.testing.assert_allclose(got.detections.boxes, [[28, 48, 16, 48]])
    np.testing.assert_allclose(got.detections.scores, [1 / (1 + np.exp(-1.5))], rtol=1e-6)
    assert got.classes.tolist() == [0]
    assert len(detectors.HOGPeopleDetector()(np.zeros((120, 160, 3), np.uint8)).detections) == 0


@needs_hog
def test_hog_finds_people_in_real_footage(shared_data):
    source = open_source(shared_data / "pets09_s2l1" / "vtest.avi", max_frames=3)
    hog = detectors.HOGPeopleDetector()
    counts = [len(hog(frame, i).detections) for i, frame in enumerate(source, start=1)]
    assert min(counts) >= 1 and max(counts) <= 12  # about 4 people walk in these frames


def test_hog_missing_is_one_clear_error(monkeypatch):
    monkeypatch.delattr(cv2, "HOGDescriptor", raising=False)
    with pytest.raises(ImportError, match="opencv-python<5"):
        detectors.HOGPeopleDetector()
