"""MOTChallenge I/O: round trips, validation errors, sequences with pixels, atomic writes."""

from __future__ import annotations

import json
import os
import pathlib
import warnings

import numpy as np
import pytest

from jaxmot.core import atomic
from jaxmot.core.atomic import atomic_open, atomic_write_json, atomic_write_text
from jaxmot.core.mot_io import (
    Detections,
    GroundTruth,
    MOTFormatError,
    SequenceInfo,
    TrackResults,
    read_detections,
    read_gt,
    read_results,
    read_seqinfo,
    read_sequence,
    write_detections,
    write_gt,
    write_results,
    write_seqinfo,
)


def _write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _random_results(rng, k=50) -> TrackResults:
    return TrackResults(
        frames=rng.integers(1, 20, k),
        ids=rng.integers(1, 9, k),
        boxes=rng.uniform(1, 500, (k, 4)),
        scores=rng.uniform(0, 1, k),
    )


# --- round trips ------------------------------------------------------------------------


def test_results_round_trip_exact(tmp_path):
    res = _random_results(np.random.default_rng(0))
    write_results(tmp_path / "out" / "seq.txt", res)  # creates the parent folder
    back = read_results(tmp_path / "out" / "seq.txt")
    for k in ("frames", "ids", "boxes", "scores"):
        np.testing.assert_array_equal(getattr(back, k), getattr(res, k))
        assert getattr(back, k).dtype == getattr(res, k).dtype
    assert back.boxes.dtype == np.float32 and back.frames.dtype == np.int32


def test_detections_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    dets = Detections(
        frames=rng.integers(1, 9, 30),
        boxes=rng.uniform(1, 99, (30, 4)),
        scores=rng.uniform(0, 1, 30),
    )
    write_detections(tmp_path / "det.txt", dets)
    assert (tmp_path / "det.txt").read_text().splitlines()[0].split(",")[1] == "-1"
    back = read_detections(tmp_path / "det.txt")
    np.testing.assert_array_equal(back.boxes, dets.boxes)
    np.testing.assert_array_equal(back.scores, dets.scores)
    np.testing.assert_array_equal(back.frames, dets.frames)


def test_gt_round_trip(tmp_path):
    gt = GroundTruth(
        frames=[2, 1, 1],
        ids=[5, 3, 4],
        boxes=[[1, 2, 3, 4], [5.5, 6, 7, 8], [9, 9, 9, 9]],
        flags=[1, 0, 1],
        classes=[1, 7, 2],
        visibility=[0.5, 1.0, 0.0],
    )
    write_gt(tmp_path / "gt.txt", gt)
    back = read_gt(tmp_path / "gt.txt")
    for k in ("frames", "ids", "boxes", "flags", "classes", "visibility"):
        np.testing.assert_array_equal(getattr(back, k), getattr(gt, k))
    # Sorted by frame, file order kept within a frame.
    np.testing.assert_array_equal(back.ids, [3, 4, 5])


def test_seqinfo_round_trip(tmp_path):
    info = SequenceInfo("seq", tmp_path, 25.0, 120, 640, 480, "img1", ".png")
    write_seqinfo(tmp_path, info)
    text = (tmp_path / "seqinfo.ini").read_text()
    assert text.startswith("[Sequence]\nname=seq\n") and "frameRate=25\n" in text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_seqinfo(tmp_path) == info


def test_for_frame_and_sorting():
    dets = Detections(
        frames=[3, 1, 3, 1, 2],
        boxes=np.arange(20).reshape(5, 4) + 1.0,
        scores=[0.1, 0.2, 0.3, 0.4, 0.5],
    )
    np.testing.assert_array_equal(dets.frames, [1, 1, 2, 3, 3])
    np.testing.assert_allclose(dets.scores[dets.for_frame(1)], [0.2, 0.4])
    np.testing.assert_allclose(dets.scores[dets.for_frame(3)], [0.1, 0.3])
    assert len(dets.for_frame(7)) == 0 and len(dets.for_frame(0)) == 0
    assert len(dets) == 5
    np.testing.assert_array_equal(dets.frame_ids(), [1, 2, 3])


# --- reading real-world layouts ---------------------------------------------------------


def test_det_without_score_and_min_score(tmp_path):
    p = _write(tmp_path / "det.txt", "1,-1,1,2,3,4\n1,-1,1,2,3,4,0.2\n2,-1,1,2,3,4,0.9\n")
    dets = read_detections(p)
    np.testing.assert_allclose(dets.scores, [1.0, 0.2, 0.9])
    np.testing.assert_array_equal(read_detections(p, min_score=0.5).frames, [1, 2])


def test_mot15_gt_world_coordinates_are_not_classes(tmp_path):
    # MOT15 gt: frame,id,x,y,w,h,1,wx,wy,wz; the world coordinates are not class/visibility.
    p = _write(tmp_path / "gt.txt", "1,1,88,99,61.08,218.56,1,4.4852,5.5016,0\n")
    gt = read_gt(p)
    assert gt.classes.tolist() == [-1] and gt.visibility.tolist() == [-1.0]
    assert gt.flags.tolist() == [1]


def test_empty_and_blank_lines(tmp_path):
    empty = _write(tmp_path / "empty.txt", "")
    assert len(read_detections(empty)) == 0 and len(read_gt(empty)) == 0
    res = read_results(_write(tmp_path / "blank.txt", "\n  \n"))
    assert len(res) == 0 and res.boxes.shape == (0, 4)
    res = read_results(_write(tmp_path / "r.txt", "\n1,1,1,1,2,2,1\n\n2,1,1,1,2,2,1\n"))
    np.testing.assert_array_equal(res.frames, [1, 2])


def test_mixed_column_counts_match_uniform(tmp_path):
    # Different field counts per line take the line-by-line path; same numbers.
    mixed = read_gt(_write(tmp_path / "a.txt", "1,1,1,2,3,4\n2,2,1,2,3,4,0,7,0.5\n"))
    assert mixed.flags.tolist() == [1, 0] and mixed.classes.tolist() == [-1, 7]
    np.testing.assert_allclose(mixed.visibility, [-1, 0.5])


# --- validation errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reader", "text", "line", "field"),
    [
        (read_gt, "1,1,1,1,2,2,1,1,1\n1,2,3,4\n", 2, "width"),  # too few columns
        (read_results, "1,1,1,1,2,2,1\n\n2,1,1,abc,2,2,1\n", 3, "y"),  # non-numeric
        (read_results, "1,1,1,1,2,2,1\n1,2,1,1,2,2,nan\n", 2, "score"),  # NaN
        (read_gt, "1,1,1,1,2,-3,1,1,1\n", 1, "height"),  # negative size
        (read_results, "1,1,1,1,2,2,1\n1,2,1,1,-3,2,1\n", 2, "width"),
        (read_gt, "0,1,1,1,2,2,1,1,1\n", 1, "frame"),  # frame < 1
        (read_results, "1,1.5,1,1,2,2,1\n", 1, "id"),  # not an integer
        (read_detections, "1,-1,inf,1,2,2,1\n", 1, "x"),
        (read_detections, "1,-1,1,1,2,2\n1,-1,1,1\n", 2, "width"),
    ],
)
def test_malformed_lines_name_file_line_and_field(tmp_path, reader, text, line, field):
    p = _write(tmp_path / "bad_file.txt", text)
    with pytest.raises(MOTFormatError) as e:
        reader(p)
    msg = str(e.value)
    assert "bad_file.txt" in msg and f"line {line}," in msg and f"field '{field}'" in msg
    assert (e.value.line, e.value.field) == (line, field)


def test_first_bad_line_is_reported(tmp_path):
    text = "1,1,1,1,2,2,1\n1,2,1,1,2,nan,1\n1,3,1,1,-1,2,1\n"
    with pytest.raises(MOTFormatError, match=r"line 2, field 'height'"):
        read_results(_write(tmp_path / "r.txt", text))


def test_det_invalid_boxes_dropped_with_warning(tmp_path):
    text = "1,-1,1,1,2,2,0.9\n1,-1,1,1,-3,2,0.9\n2,-1,1,1,2,0,0.9\n2,-1,1,1,nan,2,0.9\n"
    p = _write(tmp_path / "det.txt", text)
    with pytest.warns(UserWarning, match=r"dropped 3 detection.*line 2, field 'width'"):
        dets = read_detections(p)
    assert len(dets) == 1
    with pytest.raises(
        MOTFormatError, match=r"det.txt line 2, field 'width': expected > 0, got -3"
    ):
        read_detections(p, on_invalid_box="raise")


# --- seqinfo and sequences --------------------------------------------------------------


def test_seqinfo_missing_fields_warns(tmp_path):
    _write(tmp_path / "seqinfo.ini", "[Sequence]\nname=TUD\nseqLength=71\n")
    with pytest.warns(UserWarning, match="frameRate"):
        info = read_seqinfo(tmp_path)
    assert (info.name, info.length, info.frame_rate) == ("TUD", 71, 30.0)
    assert info.width is None and info.height is None


def test_seqinfo_bad_value(tmp_path):
    _write(tmp_path / "seqinfo.ini", "[Sequence]\nname=a\nframeRate=fast\nseqLength=3\n")
    with pytest.raises(MOTFormatError, match=r"seqinfo.ini line 3, field 'frameRate'"):
        read_seqinfo(tmp_path)


def test_sequence_without_seqinfo_infers_from_gt(tmp_path):
    seq = tmp_path / "MySeq"
    _write(seq / "gt" / "gt.txt", "1,1,1,1,2,2,1,1,1\n12,1,1,1,2,2,1,1,1\n")
    with pytest.warns(UserWarning, match="no seqinfo.ini"):
        s = read_sequence(seq)
    assert (s.info.name, s.info.length, s.info.frame_rate) == ("MySeq", 12, 30.0)
    assert s.detections is None and len(s.gt) == 2 and not s.has_images
    with pytest.raises(FileNotFoundError, match="no pixels"):
        s.frame(1)


def _frame_bgr(i: int) -> np.ndarray:
    img = np.zeros((24, 32, 3), np.uint8)
    img[..., 0], img[..., 2] = 40 * i, 200  # blue varies per frame, red fixed (BGR order)
    return img


def test_sequence_with_image_frames(tmp_path):
    cv2 = pytest.importorskip("cv2")
    info = SequenceInfo("imgs", tmp_path, 10.0, 3, 32, 24, "img1", ".png")
    write_seqinfo(tmp_path, info)
    (tmp_path / "img1").mkdir()
    for i in range(1, 4):
        cv2.imwrite(str(tmp_path / "img1" / f"{i:06d}.png"), _frame_bgr(i))
    s = read_sequence(tmp_path)
    assert s.has_images
    rgb = s.frame(2)
    assert rgb.shape == (24, 32, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, _frame_bgr(2)[..., ::-1])  # PNG is lossless
    with pytest.raises(IndexError):
        s.frame(4)


def test_sequence_with_video(tmp_path):
    cv2 = pytest.importorskip("cv2")
    writer = cv2.VideoWriter(
        str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24)
    )
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MJPG video")
    for i in range(1, 6):
        writer.write(_frame_bgr(i))
    writer.release()
    # imDir names no folder here (as in PETS09 shared data); the video is found instead.
    _write(tmp_path / "seqinfo.ini", "[Sequence]\nname=v\nimDir=img1\nframeRate=10\nseqLength=5\n")
    s = read_sequence(tmp_path)
    assert s.has_images
    for i in (1, 2, 4, 3):  # sequential reads, then seeks back and forth
        rgb = s.frame(i)
        assert rgb.shape == (24, 32, 3)
        # JPEG-compressed video: compare mean colours (RGB: red 200, blue 40 * i).
        np.testing.assert_allclose(rgb[..., 0].mean(), 200, atol=8)
        np.testing.assert_allclose(rgb[..., 2].mean(), 40 * i, atol=8)
    s.close()


@pytest.mark.shared_data
def test_shared_mot15_sequence(shared_data):
    with pytest.warns(UserWarning, match="frameRate"):
        s = read_sequence(shared_data / "mot15" / "train" / "TUD-Campus")
    assert (s.info.name, s.info.length) == ("TUD-Campus", 71)
    assert len(s.gt) == 359 and set(s.gt.classes.tolist()) == {-1}
    assert len(s.detections) > 0 and int(s.detections.frames.max()) <= 71


# --- atomic writes ----------------------------------------------------------------------


def test_atomic_open_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old\n")
    with pytest.raises(RuntimeError), atomic_open(target) as f:
        f.write("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.txt"]  # temporary file removed


def test_writer_failure_midway_leaves_old_file(tmp_path, monkeypatch):
    target = tmp_path / "res.txt"
    atomic_write_text(target, "old\n")

    def fail(_fd):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "fsync", fail)  # fails after the data was written
    with pytest.raises(OSError, match="disk full"):
        write_results(target, _random_results(np.random.default_rng(2)))
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["res.txt"]


def test_atomic_write_binary_and_permissions(tmp_path):
    with atomic_open(tmp_path / "a" / "b.bin", "wb") as f:
        f.write(b"\x00\x01")
    p = tmp_path / "a" / "b.bin"
    assert p.read_bytes() == b"\x00\x01"
    assert p.stat().st_mode & 0o777 == 0o666 & ~atomic._UMASK


def test_atomic_write_json_is_strict_json(tmp_path):
    """NaN/inf (Python or NumPy, at any depth) become null, NumPy values plain ones; a
    strict parser that rejects NaN reads the file back."""

    def strict(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    target = tmp_path / "m.json"
    value = {
        "MOTP": float("nan"),
        "runs": [{"x": np.float32(np.inf)}, (1, -np.inf)],
        "n": np.int64(3),
        "a": np.arange(2),
        7: "int key",
    }
    atomic_write_json(target, value)
    text = target.read_text()
    assert text.endswith("}\n")
    loaded = json.loads(text, parse_constant=strict)
    assert loaded == {
        "MOTP": None,
        "runs": [{"x": None}, [1, None]],
        "n": 3,
        "a": [0, 1],
        "7": "int key",
    }
    atomic_write_json(target, {"b": 1, "a": 2}, sort_keys=True)
    assert target.read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'
