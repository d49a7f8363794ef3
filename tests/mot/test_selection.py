"""Default selection on simulated detectors, and the side-by-side program's plumbing."""

from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np
import pytest

from jaxmot.core.mot_io import (
    Detections,
    GroundTruth,
    MOTSequence,
    SequenceInfo,
    write_detections,
)
from jaxmot.core.synthetic import scene_seed
from jaxmot.mot import boxmot_runner
from jaxmot.mot.detector_zoo import DETECTORS, detector
from jaxmot.mot.selection import (
    PAN_SPEED,
    SELECTION_PART,
    camera_pan,
    every_nth_frame,
    panned,
    selection_score,
    synthetic_sequence,
)
from pipelines import compare_trackers, select_defaults


def test_zoo_calibrations_are_monotone_and_in_range():
    raw = np.linspace(0, 1, 101)
    for name, spec in DETECTORS.items():
        s = spec.calibrate(raw)
        assert s.min() >= 0 and s.max() <= 1, name
        assert (np.diff(s) >= 0).all(), name  # calibration never reorders detections
    np.testing.assert_allclose(detector("squeezed").calibrate(np.array([0, 1])), [0.05, 0.45])
    with pytest.raises(ValueError, match="unknown simulated detector"):
        detector("yolo")


def test_validation_scenes_are_their_own_stream():
    seq = synthetic_sequence(0, "squeezed")
    assert seq.detections.scores.max() <= 0.45 + 1e-6
    # Not the demo (seed 0) nor another use's stream (parts 0-4).
    mine = scene_seed(0, SELECTION_PART, 0)
    others = {scene_seed(0, part, j) for part in range(5) for j in range(20)} | {0}
    assert mine not in others


def test_select_defaults_prefers_a_split_that_follows_the_detector(capsys):
    """On the squeezed detector (every score below 0.45) a fixed 0.7 split starts no
    track at all, so a quantile split must rank first."""
    args = ["--mot17", "/nonexistent", "--scenes", "1", "--splits", "0.7", "q0.2",
            "--min-hits", "3", "--report-box", "kalman"]  # fmt: skip
    assert select_defaults.main(args) == 0
    out = capsys.readouterr().out
    assert "best: q0.2 hits 3\n" in out
    row = next(line for line in out.splitlines() if line.startswith("0.7 hits"))
    idf1_hota = row.split()[3:]  # split, hits, 3, then IDF1/HOTA per detector
    assert idf1_hota[4:6] == ["0.0", "0.0"]  # squeezed: nothing tracked


def test_select_defaults_averages_several_draws(tmp_path):
    """With several --seed values every figure is the mean of the single-draw runs'."""
    common = ["--mot17", "/nonexistent", "--scenes", "1", "--splits", "q0.1cap0.6",
              "--min-hits", "3", "--iou-threshold", "0.1", "0.2"]  # fmt: skip
    outputs = {}
    for seeds in (["0"], ["1"], ["0", "1"]):
        out = tmp_path / f"{'-'.join(seeds)}.json"
        assert select_defaults.main([*common, "--seed", *seeds, "--json", str(out)]) == 0
        outputs[tuple(seeds)] = json.loads(out.read_text())
    both = outputs["0", "1"]
    assert both["seeds"] == [0, 1]
    label = "q0.1cap0.6 hits 3 iou-threshold 0.1"
    for det in DETECTORS:
        for key in ("IDF1", "HOTA", "MOTA"):
            single = [outputs[(seed,)]["metrics"][label][det][key] for seed in ("0", "1")]
            assert both["metrics"][label][det][key] == pytest.approx(np.mean(single))
    # The draws differ (else the mean would test nothing).
    assert outputs["0",]["metrics"] != outputs["1",]["metrics"]
    scores = {key: selection_score(m) for key, m in both["metrics"].items()}
    assert both["ranked"] == sorted(scores, key=lambda k: -scores[k])


def test_boxmot_runner_converts_boxes_and_writes_mot_lines(tmp_path):
    """The runner's input (xyxy, score, class) and output (MOT xywh lines), with a
    stand-in tracker that returns each detection as a track."""

    class Echo:
        def update(self, dets, image):
            assert image.shape == (48, 64, 3)
            ids = np.arange(1, len(dets) + 1)
            return np.column_stack([dets[:, :4], ids, dets[:, 4], dets[:, 5], ids - 1])

    det = tmp_path / "det.txt"
    write_detections(det, Detections(frames=[1, 1, 3], boxes=[[1, 2, 3, 4], [5, 6, 7, 8],
                                     [9, 10, 11, 12]], scores=[0.9, 0.5, 0.7]))  # fmt: skip
    seq = {"det": str(det), "width": 64, "height": 48, "length": 3}
    text, _ = boxmot_runner.run_sequence(Echo(), seq)
    rows = np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])
    np.testing.assert_allclose(rows[:, 0], [1, 1, 3])
    np.testing.assert_allclose(rows[:, 2:6], [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])
    np.testing.assert_allclose(rows[:, 6], [0.9, 0.5, 0.7])


def test_compare_trackers_needs_the_boxmot_environment(capsys):
    with pytest.raises(SystemExit):
        compare_trackers.main(["--boxmot", "bytetrack"])
    assert "--boxmot-python" in capsys.readouterr().err


def test_compare_trackers_on_tud_gives_the_documented_row_and_a_plot(shared_data, tmp_path):
    """The comparison's TUD row of `iou` is the figure docs/mot.md states (70.8 / 77.3 /
    53.8 / 16, the same as pipelines.track + pipelines.evaluate), and --plot draws it."""
    import cv2

    js, png = tmp_path / "cmp.json", tmp_path / "cmp.png"
    args = ["--trackers", "iou", "sort", "--tud", str(shared_data / "mot15/train"),
            "--mot17", str(tmp_path / "none"), "--json", str(js), "--plot", str(png)]  # fmt: skip
    assert compare_trackers.main(args) == 0
    table = json.loads(js.read_text())
    assert list(table) == ["TUD"] and list(table["TUD"]) == ["iou", "sort"]
    iou = table["TUD"]["iou"]
    got = [round(100 * iou[k], 1) for k in ("MOTA", "IDF1", "HOTA")] + [iou["IDs"]]
    assert got == [70.8, 77.3, 53.8, 16]
    assert cv2.imread(str(png)) is not None


def test_select_defaults_settings_build_the_configs_they_name():
    """A grid point's label names what differs from IoUTrackerConfig's defaults, and its
    config is those defaults with that change."""
    from jaxmot.mot.iou_tracker import IoUTrackerConfig

    default = select_defaults.Setting()
    assert default.label() == "q0.1cap0.6 hits 3"
    assert default.config() == IoUTrackerConfig()
    other = select_defaults.Setting(split="0.6", new_tracks="q0.2cap0.7", fuse="raw",
                                    motion="xyah", stages="one")  # fmt: skip
    assert other.label() == ("0.6 hits 3 new-tracks q0.2cap0.7 fuse raw motion xyah stages one")
    config = other.config()
    assert (config.high_score, config.split_quantile) == (0.6, None)
    assert (config.new_track_quantile, config.new_track_cap) == (0.2, 0.7)
    assert config.fuse_score and config.fuse_quantile is None
    assert config.lifecycle.motion == "xyah" and not config.unconfirmed_stage
    assert select_defaults.Setting(fuse="off").config().fuse_score is False
    assert select_defaults.Setting(buffer=45).label() == "q0.1cap0.6 hits 3 buffer 45"
    assert select_defaults.Setting(buffer=45).config().lifecycle.max_lost == 45
    looser = select_defaults.Setting(iou_threshold=0.05)
    assert looser.label() == "q0.1cap0.6 hits 3 iou-threshold 0.05"
    assert looser.config() == dataclasses.replace(IoUTrackerConfig(), iou_threshold=0.05)
    fixed = select_defaults.Setting(box_buffer=0.3, box_buffer_jitter=None)
    assert fixed.label() == "q0.1cap0.6 hits 3 box-buffer 0.3 box-buffer-jitter off"
    assert fixed.config() == dataclasses.replace(IoUTrackerConfig(), buffer_scale=0.3,
                                                 buffer_jitter=None)  # fmt: skip
    assert select_defaults.jitter_setting("off") is None
    assert select_defaults.jitter_setting("2") == 2.0
    with pytest.raises(Exception, match="--box-buffer-jitter"):
        select_defaults.jitter_setting("wide")
    with pytest.raises(Exception, match="--fuse"):
        select_defaults.fuse_setting("sometimes")


def test_every_nth_frame_keeps_frames_1_plus_k_step_renumbered():
    frames = np.array([1, 2, 2, 3, 4, 5, 7])
    boxes = np.arange(len(frames) * 4, dtype=np.float32).reshape(-1, 4)
    gt = GroundTruth(frames=frames, ids=np.arange(len(frames)), boxes=boxes,
                     flags=np.ones_like(frames), classes=np.ones_like(frames),
                     visibility=np.ones(len(frames)))  # fmt: skip
    dets = Detections(frames=frames, boxes=boxes, scores=np.linspace(0.1, 0.9, len(frames)))
    info = SequenceInfo("S", pathlib.Path("."), 30.0, 7, 640, 480)
    half = every_nth_frame(MOTSequence(info, dets, gt), 2)
    kept = (frames - 1) % 2 == 0  # frames 1, 3, 5, 7
    np.testing.assert_array_equal(half.gt.frames, [1, 2, 3, 4])
    np.testing.assert_array_equal(half.gt.ids, np.flatnonzero(kept))
    np.testing.assert_array_equal(half.detections.boxes, boxes[kept])
    np.testing.assert_allclose(half.detections.scores, dets.scores[kept])
    assert (half.info.name, half.info.frame_rate, half.info.length) == ("S@15fps", 15.0, 4)
    assert every_nth_frame(half, 1) is half


def test_panned_moves_gt_and_detections_of_a_frame_together():
    frames = np.array([1, 1, 2, 3, 3])
    boxes = np.tile(np.array([[100, 50, 20, 40]], np.float32), (5, 1))
    gt = GroundTruth(frames=frames, ids=np.arange(5), boxes=boxes, flags=np.ones_like(frames),
                     classes=np.ones_like(frames), visibility=np.ones(5))  # fmt: skip
    dets = Detections(frames=frames, boxes=boxes + 1, scores=np.full(5, 0.8))
    info = SequenceInfo("S", pathlib.Path("."), 30.0, 3, 1920, 1080)
    moved = panned(MOTSequence(info, dets, gt), np.random.default_rng(3))
    offset = camera_pan(3, 1920, 30.0, np.random.default_rng(3))
    np.testing.assert_allclose(offset[0], [0, 0])
    np.testing.assert_allclose(moved.gt.boxes[:, :2] - boxes[:, :2], offset[frames - 1], atol=1e-4)
    np.testing.assert_allclose(moved.detections.boxes - dets.boxes,
                               moved.gt.boxes - gt.boxes, atol=1e-4)  # fmt: skip
    np.testing.assert_array_equal(moved.gt.boxes[:, 2:], boxes[:, 2:])  # sizes kept
    assert moved.info.name == "S+pan"  # PANNED_SUFFIX
    # Its speed: per frame about PAN_SPEED x width at 30 fps, twice that at 15 fps.
    speeds = [np.abs(np.diff(camera_pan(20000, 1000, fps, np.random.default_rng(0)), axis=0))
              for fps in (30.0, 15.0)]  # fmt: skip
    expected = np.asarray(PAN_SPEED) * 1000 * np.sqrt(2 / np.pi)  # mean |N(0, s)|
    np.testing.assert_allclose(speeds[0].mean(0), expected, rtol=0.15)
    np.testing.assert_allclose(speeds[1].mean(0), 2 * expected, rtol=0.15)
