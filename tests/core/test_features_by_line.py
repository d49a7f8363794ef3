"""Features stored one row per det.txt line (`--features` second form)."""

import dataclasses
import warnings

import numpy as np
import pytest

from jaxmot.core.features import (
    features_form,
    load_detection_features,
    load_features,
    load_line_features,
    save_detection_features,
)
from jaxmot.core.mot_io import read_detections, read_results
from jaxmot.core.synthetic import SceneConfig, generate_sequence
from pipelines import track

# Data line i has x = 10 * (i + 1), so a row's box names its line. Out of frame order,
# a blank line (not counted) and an invalid box on data line 3 (dropped with a warning).
DET_TXT = """\
3,-1,10,10,5,10,0.9
1,-1,20,20,5,10,0.8
2,-1,30,30,5,10,0.7

1,-1,40,40,-3,10,0.6
1,-1,50,50,5,10,0.5
2,-1,60,60,5,10,0.4
"""
NUM_LINES = 6


def _line_of(boxes):
    return np.rint(boxes[:, 0] / 10).astype(int) - 1


@pytest.fixture
def det_txt(tmp_path):
    path = tmp_path / "SEQ" / "det" / "det.txt"
    path.parent.mkdir(parents=True)
    path.write_text(DET_TXT)
    return path


def _by_line(tmp_path, features, name="by_line.npz", **extra):
    path = tmp_path / name
    np.savez(path, features=features, **extra)
    return path


def _line_features(num_lines=NUM_LINES, dim=3):
    feats = np.arange(num_lines, dtype=np.float32)[:, None] * np.ones(dim, np.float32)
    feats[3] = np.nan  # the dropped line's row is never used
    return feats


def test_read_detections_returns_source_lines(det_txt):
    with pytest.warns(UserWarning, match="dropped 1 detection"):
        dets, lines = read_detections(det_txt, return_lines=True)
    np.testing.assert_array_equal(dets.frames, [1, 1, 2, 2, 3])
    np.testing.assert_array_equal(lines, [1, 4, 2, 5, 0])
    np.testing.assert_array_equal(_line_of(dets.boxes), lines)
    with pytest.warns(UserWarning):
        strong, strong_lines = read_detections(det_txt, min_score=0.65, return_lines=True)
    np.testing.assert_array_equal(strong_lines, [1, 2, 0])
    with pytest.warns(UserWarning):
        assert len(read_detections(det_txt)) == 5  # default: Detections alone


@pytest.mark.parametrize("source", ["file", "sequence"])
def test_every_detection_gets_its_own_lines_features(tmp_path, det_txt, source):
    path = _by_line(tmp_path, _line_features())
    det_source = det_txt if source == "file" else det_txt.parents[1]
    assert features_form(path) == "lines"
    with pytest.warns(UserWarning, match="dropped 1"):
        dets, feats = load_line_features(path, det_source)
    assert feats.dtype == np.float32 and feats.shape == (len(dets), 3)
    np.testing.assert_array_equal(feats[:, 0], _line_of(dets.boxes))
    with pytest.warns(UserWarning):
        dets2, feats2 = load_features(path, det_source)
    np.testing.assert_array_equal(feats2, feats)
    np.testing.assert_array_equal(dets2.boxes, dets.boxes)


def test_self_contained_form_still_loads_through_load_features(tmp_path, det_txt):
    with pytest.warns(UserWarning):
        dets = read_detections(det_txt)
    path = tmp_path / "self.npz"
    save_detection_features(path, dets, np.ones((len(dets), 2)))
    assert features_form(path) == "detections"
    loaded, feats = load_features(path)  # needs no det.txt
    assert len(loaded) == len(dets) and feats.shape == (len(dets), 2)


def _error(tmp_path, det_txt, match, loader=load_line_features, **arrays):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the dropped box
        with pytest.raises(ValueError, match=match) as err:
            loader(path, det_txt) if loader is not load_detection_features else loader(path)
    assert "bad.npz" in str(err.value)
    return str(err.value)


def test_wrong_row_count_names_both_numbers(tmp_path, det_txt):
    msg = _error(tmp_path, det_txt, "has 5 rows", features=np.zeros((5, 3)))
    assert "6 data lines" in msg and "det.txt" in msg
    msg = _error(tmp_path, det_txt, "has 7 rows", features=np.zeros((7, 3)))


@pytest.mark.parametrize("shape", [(6,), (6, 3, 1)])
def test_features_must_be_2d(tmp_path, det_txt, shape):
    _error(tmp_path, det_txt, r"expected \[lines, D\]", features=np.zeros(shape))


def test_non_finite_features_name_row_and_line(tmp_path, det_txt):
    feats = _line_features()
    feats[5, 1] = np.inf
    # data line 5 is file line 7 (the blank line is skipped)
    _error(tmp_path, det_txt, r"row 5 .*det.txt line 7.*non-finite", features=feats)


def test_non_numeric_features(tmp_path, det_txt):
    _error(tmp_path, det_txt, "dtype", features=np.array([["a"]] * NUM_LINES))


def test_missing_features_key(tmp_path, det_txt):
    _error(tmp_path, det_txt, "missing array 'features'", embeddings=np.zeros((6, 3)))
    _error(
        tmp_path,
        det_txt,
        "missing array 'features'",
        load_detection_features,
        embeddings=np.zeros((6, 3)),
    )


def test_forms_mixed_or_swapped(tmp_path, det_txt):
    msg = _error(
        tmp_path,
        det_txt,
        r"has \['boxes'\] but not \['frames', 'scores'\]",
        features=np.zeros((6, 3)),
        boxes=np.ones((6, 4)),
    )
    assert "only features" in msg
    _error(
        tmp_path, det_txt, "load_line_features", load_detection_features, features=np.zeros((6, 3))
    )
    full = {"frames": np.ones(6, np.int32), "boxes": np.ones((6, 4)), "scores": np.ones(6)}
    _error(tmp_path, det_txt, "load_detection_features", features=np.zeros((6, 3)), **full)
    path = _by_line(tmp_path, np.zeros((6, 3)))
    with pytest.raises(ValueError, match="give the det.txt"):
        load_features(path)


def test_missing_det_txt(tmp_path):
    path = _by_line(tmp_path, np.zeros((6, 3)))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_line_features(path, tmp_path / "nowhere")


@pytest.fixture(scope="module")
def shuffled_sequence(tmp_path_factory):
    """A pixel-free sequence whose det.txt is out of frame order with one invalid box."""
    config = dataclasses.replace(
        SceneConfig(), num_frames=20, width=320, height=240, seed=3, render=False
    )
    seq = generate_sequence(tmp_path_factory.mktemp("seq"), config, name="BYLINE")
    det_txt = seq / "det" / "det.txt"
    lines = det_txt.read_text().splitlines()
    lines = [lines[i] for i in np.random.default_rng(0).permutation(len(lines))]
    lines.insert(len(lines) // 2, "4,-1,10,10,0,20,0.9")  # zero width: dropped
    det_txt.write_text("\n".join(lines) + "\n")
    return seq


def test_track_by_line_features_equals_self_contained(shuffled_sequence, tmp_path):
    det_txt = shuffled_sequence / "det" / "det.txt"
    num_lines = len(det_txt.read_text().splitlines())
    rng = np.random.default_rng(1)
    by_line = rng.normal(size=(num_lines, 16)).astype(np.float32)
    with pytest.warns(UserWarning, match="dropped 1"):
        dets, lines = read_detections(det_txt, return_lines=True)
    self_contained = tmp_path / "self.npz"
    save_detection_features(self_contained, dets, by_line[lines])
    by_line_path = _by_line(tmp_path, by_line)
    outputs = {}
    for name, path in [("self", self_contained), ("line", by_line_path)]:
        out = tmp_path / f"{name}.txt"
        args = ["--sequence", str(shuffled_sequence), "--tracker", "longterm"]
        with pytest.warns(UserWarning, match="dropped 1"):
            assert track.main([*args, "--features", str(path), "--output", str(out),
                               "--no-progress"]) == 0  # fmt: skip
        outputs[name] = out.read_text()
    assert len(read_results(tmp_path / "line.txt")) > 0
    assert outputs["line"] == outputs["self"]


def test_track_reports_wrong_row_count(shuffled_sequence, tmp_path, capsys):
    path = _by_line(tmp_path, np.zeros((3, 16), np.float32))
    args = ["--sequence", str(shuffled_sequence), "--tracker", "longterm", "--no-progress"]
    with pytest.warns(UserWarning):
        code = track.main([*args, "--features", str(path), "--output", str(tmp_path / "r.txt")])
    assert code == 2
    err = capsys.readouterr().err
    assert "by_line.npz" in err and "has 3 rows" in err and "data lines" in err
