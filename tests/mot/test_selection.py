"""Default selection on simulated detectors, and the side-by-side program's plumbing."""

from __future__ import annotations

import numpy as np
import pytest

from jaxmot.core.mot_io import Detections, write_detections
from jaxmot.core.synthetic import scene_seed
from jaxmot.mot import boxmot_runner
from jaxmot.mot.detector_zoo import DETECTORS, detector
from jaxmot.mot.selection import SELECTION_PART, synthetic_sequence
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
    with pytest.raises(Exception, match="--fuse"):
        select_defaults.fuse_setting("sometimes")
