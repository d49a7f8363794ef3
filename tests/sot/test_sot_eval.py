"""Single-object tracking: box files, OTB/pytracking metrics, the CLI, MIL, DAVIS boxes."""

import json
import math

import cv2
import numpy as np
import pytest

from jaxmot.sot.metrics import (
    NORM_PRECISION_THRESHOLDS,
    PRECISION_THRESHOLDS,
    SUCCESS_THRESHOLDS,
    evaluate_sequences,
    normalized_precision,
    normalized_precision_auc,
    normalized_precision_curve,
    paired_iou,
    precision,
    precision_curve,
    score_sequence,
    success_auc,
    success_curve,
)
from jaxmot.sot.opencv_baseline import MILTracker, track_sequence
from jaxmot.sot.results_io import load_sequence_pairs, polygon_to_xywh, read_boxes
from jaxmot.sot.sequences import (
    boxes_from_masks,
    count_frames,
    davis_sequence,
    iter_frames,
    read_init_box,
)
from pipelines import evaluate_sot


def _write_boxes(path, boxes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(",".join(f"{v:g}" for v in b) + "\n" for b in boxes))
    return path


# ---------------------------------------------------------------------------------------
# Reading box files
# ---------------------------------------------------------------------------------------


def test_read_boxes_separators_nan_and_polygons(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text(
        "1,2,3,4\n"
        "5\t6\t7\t8\n"
        "9 10  11 12\n"
        "nan,nan,nan,nan\n"
        "NaN\n"
        # a square rotated by 45 degrees, corners on the axes of its 20x20 bounding box
        "10,0,20,10,10,20,0,10\n"
        "\n"
    )
    boxes = read_boxes(path)
    assert boxes.shape == (6, 4) and boxes.dtype == np.float64
    np.testing.assert_array_equal(boxes[:3], [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])
    assert np.isnan(boxes[3:5]).all()
    np.testing.assert_array_equal(boxes[5], [0, 0, 20, 20])  # min/max rectangle


def test_polygon_of_axis_aligned_rectangle_is_the_rectangle():
    poly = [[3, 4, 13, 4, 13, 9, 3, 9]]  # x=3, y=4, w=10, h=5, clockwise
    np.testing.assert_array_equal(polygon_to_xywh(poly), [[3, 4, 10, 5]])


@pytest.mark.parametrize(
    "bad, what",
    [("1,2,3\n", "expected 4 values"), ("1,2,x,4\n", "not a number"), ("\n", "blank line")],
)
def test_read_boxes_malformed_line_names_file_and_line(tmp_path, bad, what):
    path = tmp_path / "broken.txt"
    path.write_text("1,2,3,4\n" + bad + "5,6,7,8\n")
    with pytest.raises(ValueError, match=rf"broken\.txt:2: {what}"):
        read_boxes(path)


def test_read_boxes_empty_file(tmp_path):
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(ValueError, match="empty.txt: no boxes"):
        read_boxes(tmp_path / "empty.txt")


# ---------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------


def _reference(pred, gt, absent="skip"):
    """Plain-loop OTB/pytracking reference: first frame = gt; frames with an invalid gt
    row skipped ("skip") or scored as misses ("fail": IoU below every threshold,
    centre errors above every threshold, the frame still in the denominator)."""
    pred = np.array(pred, float)
    gt = np.array(gt, float)
    pred[0] = gt[0]
    ious, errs, norms = [], [], []
    for p, g in zip(pred, gt, strict=True):
        if not (np.isfinite(g).all() and g[2] > 0 and g[3] > 0):
            if absent == "fail":
                ious.append(-1.0)  # pytracking's err_overlap for invalid frames
                errs.append(math.inf)
                norms.append(math.inf)
            continue
        iw = max(0.0, min(p[0] + p[2], g[0] + g[2]) - max(p[0], g[0]))
        ih = max(0.0, min(p[1] + p[3], g[1] + g[3]) - max(p[1], g[1]))
        inter = iw * ih
        # clipped like pysot: (x + w) - x can round above w, giving IoU 1 + 2e-16
        ious.append(min(1.0, inter / (p[2] * p[3] + g[2] * g[3] - inter)))
        # OTB's centres, with the -1 pixel convention
        cp = np.array([p[0] + (p[2] - 1) / 2, p[1] + (p[3] - 1) / 2])
        cg = np.array([g[0] + (g[2] - 1) / 2, g[1] + (g[3] - 1) / 2])
        errs.append(math.hypot(*(cp - cg)))
        norms.append(math.hypot(*((cp - cg) / g[2:])))
    succ = [np.mean([i > t for i in ious]) for t in SUCCESS_THRESHOLDS]
    prec = [np.mean([e <= t for e in errs]) for t in PRECISION_THRESHOLDS]
    norm = [np.mean([e <= t for e in norms]) for t in NORM_PRECISION_THRESHOLDS]
    return np.array(succ), np.array(prec), np.array(norm)


PERFECT_AUC = 20 / 21  # IoU 1 is not > the last threshold, 1.0 (OTB, pytracking)


def test_perfect_prediction_scores_one():
    gt = np.array([[10, 20, 30, 40], [12, 22, 30, 41], [15, 25, 28, 39.5]])
    np.testing.assert_array_equal(success_curve(gt, gt), [1.0] * 20 + [0.0])
    assert success_auc(gt, gt) == pytest.approx(PERFECT_AUC)
    assert precision(gt, gt) == 1.0
    assert normalized_precision(gt, gt) == 1.0
    assert normalized_precision_auc(gt, gt) == 1.0


def test_shifted_boxes_known_values():
    gt = np.tile([0.0, 0.0, 10.0, 10.0], (4, 1))
    pred = gt + [5.0, 0, 0, 0]  # IoU = 50 / 150 = 1/3, centre error 5 px, 0.5 widths
    np.testing.assert_allclose(paired_iou(pred, gt), 1 / 3)
    # scored as given: IoU 1/3 beats thresholds 0, 0.05, ..., 0.30 (7 of 21)
    np.testing.assert_allclose(success_curve(pred, gt, first_frame="keep")[:8], [1] * 7 + [0])
    assert success_auc(pred, gt, first_frame="keep") == pytest.approx(7 / 21)
    assert precision(pred, gt, first_frame="keep") == 1.0
    assert precision(pred, gt, pixels=4.9, first_frame="keep") == 0.0
    assert precision_curve(pred, gt, first_frame="keep").sum() == 46  # thresholds 5..50
    assert normalized_precision(pred, gt, first_frame="keep") == 0.0  # 0.5 > 0.2
    np.testing.assert_array_equal(
        normalized_precision_curve(pred, gt, first_frame="keep"), [0] * 50 + [1]
    )
    # OTB default: frame 1 is the init box (perfect), 3 frames at IoU 1/3
    assert success_auc(pred, gt) == pytest.approx((PERFECT_AUC + 3 * 7 / 21) / 4)
    # GOT-10k style: frame 1 left out
    assert success_auc(pred, gt, first_frame="exclude") == pytest.approx(7 / 21)
    assert score_sequence(pred, gt, first_frame="exclude").scored == 3


def test_success_threshold_is_strict():
    gt = np.tile([0.0, 0.0, 10.0, 10.0], (2, 1))
    pred = gt + [10.0, 0, 0, 0]  # touching: IoU 0 fails even at threshold 0
    assert success_curve(pred, gt, first_frame="keep")[0] == 0.0


def test_matches_plain_reference_on_random_boxes():
    rng = np.random.default_rng(0)
    gt = np.concatenate([rng.uniform(0, 200, (60, 2)), rng.uniform(5, 80, (60, 2))], axis=1)
    pred = gt + rng.normal(0, 12, gt.shape)
    pred[:, 2:] = np.abs(pred[:, 2:]) + 1
    gt[[7, 30]] = np.nan  # absent target
    gt[41, 2] = 0.0  # empty gt box
    for absent, scored in (("skip", 57), ("fail", 60)):
        succ, prec, norm = _reference(pred, gt, absent)
        s = score_sequence(pred, gt, absent=absent)
        np.testing.assert_allclose(s.success, succ)
        np.testing.assert_allclose(s.precision, prec)
        np.testing.assert_allclose(s.norm_precision, norm)
        assert s.frames == 60 and s.scored == scored and s.absent == scored - 57
        assert s.auc == pytest.approx(succ.mean())
        assert s.precision20 == pytest.approx(prec[20])
        assert s.norm_precision_at_02 == pytest.approx(norm[20])


def test_nan_gt_rows_fail_by_default_or_are_skipped():
    gt = np.array([[0, 0, 10, 10], [np.nan] * 4, [0, 0, 10, 10], [0, 0, 0, 10]], float)
    pred = np.array([[0, 0, 10, 10], [500, 500, 5, 5], [0, 0, 10, 10], [90, 90, 5, 5]], float)
    s = score_sequence(pred, gt, absent="skip")
    assert s.scored == 2 and s.frames == 4 and s.absent == 0
    assert s.auc == pytest.approx(PERFECT_AUC) and s.precision20 == 1.0
    # Default (pytracking, pysot): the two frames without gt are misses out of 4, even a
    # prediction sitting exactly on the last known box.
    pred[1] = gt[0]
    s = score_sequence(pred, gt)
    assert s.scored == 4 and s.absent == 2
    assert s.auc == pytest.approx(PERFECT_AUC / 2)
    assert s.precision20 == 0.5 and s.norm_precision_at_02 == 0.5
    assert s.precision[-1] == 0.5 and s.norm_precision[-1] == 0.5


def test_invalid_predictions_repeat_the_previous_box():
    gt = np.tile([0.0, 0.0, 10.0, 10.0], (4, 1))
    pred = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [np.nan] * 4, [1, 1, 0, 10]], float)
    # frames 3 and 4 take frame 2's box: IoU 1/3 on frames 2..4
    np.testing.assert_allclose(score_sequence(pred, gt).auc, (PERFECT_AUC + 3 * 7 / 21) / 4)
    # with nothing before it, a missing prediction is a miss (IoU 0, infinite error)
    pred[:3] = np.nan
    s = score_sequence(pred, gt, first_frame="keep")
    assert s.auc == 0.0 and s.precision[-1] == 0.0


def test_metric_errors():
    gt = np.tile([0.0, 0.0, 10.0, 10.0], (3, 1))
    with pytest.raises(ValueError, match="pred has 2 frames but gt has 3"):
        score_sequence(gt[:2], gt)
    with pytest.raises(ValueError, match="no frame to score"):
        score_sequence(gt, np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match="empty sequence"):
        score_sequence(np.zeros((0, 4)), np.zeros((0, 4)))
    with pytest.raises(ValueError, match="first_frame"):
        score_sequence(gt, gt, first_frame="skip")
    with pytest.raises(ValueError, match="absent must be one of"):
        score_sequence(gt, gt, absent="drop")
    with pytest.raises(ValueError, match="no frame to score"):  # in both modes
        score_sequence(gt, np.full((3, 4), np.nan), absent="fail")


def test_overall_averages_sequences():
    gt = np.tile([0.0, 0.0, 10.0, 10.0], (5, 1))
    shifted = gt + [5.0, 0, 0, 0]
    metrics = evaluate_sequences({"b": (shifted, gt), "a": (gt, gt)})
    assert list(metrics) == ["a", "b", "OVERALL"]
    auc_b = (PERFECT_AUC + 4 * 7 / 21) / 5
    assert metrics["b"]["auc"] == pytest.approx(auc_b)
    assert metrics["OVERALL"]["auc"] == pytest.approx((PERFECT_AUC + auc_b) / 2)
    assert metrics["OVERALL"]["precision20"] == 1.0
    assert metrics["OVERALL"]["norm_precision"] == pytest.approx((1 + 1 / 5) / 2)
    assert metrics["OVERALL"]["frames"] == 10


# ---------------------------------------------------------------------------------------
# Files on disk and the CLI
# ---------------------------------------------------------------------------------------

_GT = [[10, 10, 20, 20], [12, 10, 20, 20], [14, 10, 20, 20]]
_PRED = [[10, 10, 20, 20], [17, 10, 20, 20], [14, 10, 20, 20]]  # frame 2: IoU 15/25 = 0.6


@pytest.mark.parametrize("layout", ["flat", "got10k"])
def test_cli_on_folders_writes_json(tmp_path, layout, capsys):
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    for name in ("car", "dog"):
        gt_file = gt_dir / (f"{name}.txt" if layout == "flat" else f"{name}/groundtruth.txt")
        _write_boxes(gt_file, _GT)
        _write_boxes(pred_dir / f"{name}.txt", _PRED if name == "car" else _GT)
    if layout == "got10k":
        (gt_dir / "list.txt").write_text("car\ndog\n")  # GOT-10k's list is not a sequence
    out = tmp_path / "out" / "sot.json"
    rc = evaluate_sot.main(
        ["--predictions", str(pred_dir), "--groundtruth", str(gt_dir), "--json", str(out)]
    )
    assert rc == 0
    table = capsys.readouterr().out
    assert "car" in table and "dog" in table and "OVERALL" in table and "P@20" in table
    metrics = json.loads(out.read_text())
    assert set(metrics) == {"car", "dog", "OVERALL"}
    # car: two perfect frames, one at IoU 0.6 (beats 12 of 21 thresholds: 0..0.55)
    auc_car = (2 * PERFECT_AUC + 12 / 21) / 3
    assert metrics["car"]["auc"] == pytest.approx(auc_car)
    assert metrics["dog"]["auc"] == pytest.approx(PERFECT_AUC)
    assert metrics["OVERALL"]["auc"] == pytest.approx((auc_car + PERFECT_AUC) / 2)
    assert metrics["car"]["precision20"] == 1.0 and metrics["car"]["frames"] == 3


def test_cli_single_files(tmp_path, capsys):
    gt = _write_boxes(tmp_path / "seq" / "groundtruth.txt", _GT)
    pred = _write_boxes(tmp_path / "seq.txt", _GT)
    assert evaluate_sot.main(["--predictions", str(pred), "--groundtruth", str(gt)]) == 0
    assert "95.2" in capsys.readouterr().out  # AUC of a perfect tracker, 20/21
    # one prediction file against a folder of sequences: matched by its stem
    pairs = load_sequence_pairs(pred, tmp_path)
    assert list(pairs) == ["seq"]


def test_cli_missing_sequences_and_length_mismatch(tmp_path, capsys):
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    for name in ("a", "b", "c"):
        _write_boxes(gt_dir / f"{name}.txt", _GT)
    _write_boxes(pred_dir / "a.txt", _GT)
    rc = evaluate_sot.main(["--predictions", str(pred_dir), "--groundtruth", str(gt_dir)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "b.txt, c.txt" in err and str(pred_dir) in err

    _write_boxes(pred_dir / "b.txt", _GT[:2])
    _write_boxes(pred_dir / "c.txt", _GT)
    with pytest.raises(ValueError, match=r"b\.txt has 2 boxes but .*b\.txt has 3"):
        load_sequence_pairs(pred_dir, gt_dir)
    _write_boxes(pred_dir / "b.txt", _GT)
    _write_boxes(pred_dir / "extra.txt", _GT)
    with pytest.warns(UserWarning, match="extra"):
        assert list(load_sequence_pairs(pred_dir, gt_dir)) == ["a", "b", "c"]
    with pytest.raises(FileNotFoundError, match="ground truth not found"):
        load_sequence_pairs(pred_dir, tmp_path / "nowhere")


# ---------------------------------------------------------------------------------------
# OpenCV MIL baseline and frame reading
# ---------------------------------------------------------------------------------------


def _moving_square_video(n=30, size=(120, 160), side=24):
    """RGB frames: a bright square moving right and down over a fixed textured background."""
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 120, (size[0] // 4, size[1] // 4, 3), dtype=np.uint8)
    background = cv2.resize(noise, size[::-1], interpolation=cv2.INTER_NEAREST)
    frames, boxes = [], []
    for t in range(n):
        x, y = 20 + 3 * t, 30 + t
        frame = background.copy()
        frame[y : y + side, x : x + side] = (250, 240, 60)
        frame[y + 8 : y + 16, x + 8 : x + 16] = (40, 40, 200)  # some inner structure
        frames.append(frame)
        boxes.append([x, y, side, side])
    return frames, np.array(boxes, float)


def test_mil_follows_a_moving_square():
    frames, gt = _moving_square_video()
    boxes = track_sequence(iter(frames), gt[0])
    assert boxes.shape == gt.shape
    np.testing.assert_array_equal(boxes[0], gt[0])
    iou = paired_iou(boxes, gt)
    assert (iou > 0.5).mean() >= 0.8, iou.round(2)


def test_mil_tracker_api_and_errors():
    frames, gt = _moving_square_video(n=3)
    tracker = MILTracker(color_order="bgr")
    with pytest.raises(RuntimeError, match="init"):
        tracker.update(frames[0])
    tracker.init(frames[0][..., ::-1], gt[0] + 0.4)  # rounded to whole pixels
    box = tracker.update(frames[1][..., ::-1])
    assert box.shape == (4,) and box.dtype == np.float64
    np.testing.assert_array_equal(box[2:], gt[0, 2:])  # MIL keeps the size
    with pytest.raises(ValueError, match="outside"):
        MILTracker().init(frames[0], [500, 500, 10, 10])
    with pytest.raises(ValueError, match="color_order"):
        MILTracker(color_order="hsv")
    with pytest.raises(ValueError, match="no frames"):
        track_sequence([], gt[0])


def test_iter_frames_folder_and_video(tmp_path):
    frames, _ = _moving_square_video(n=4, size=(48, 64), side=8)
    for i, f in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"{i:05d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    read = list(iter_frames(frames_dir=tmp_path))
    assert count_frames(frames_dir=tmp_path) == 4
    np.testing.assert_array_equal(read[2], frames[2])  # PNG is lossless: RGB order kept

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    decoded = list(iter_frames(video=video))
    assert len(decoded) == count_frames(video=video) == 4
    assert decoded[0].shape == (48, 64, 3) and decoded[0].dtype == np.uint8
    # the square is yellow (R, G high) in RGB order after the JPEG round trip
    assert decoded[0][34, 22, 0] > 180 and decoded[0][34, 22, 2] < 140

    with pytest.raises(ValueError, match="exactly one"):
        list(iter_frames())
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        list(iter_frames(video=tmp_path / "missing.mp4"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .* images in .*empty"):
        count_frames(frames_dir=tmp_path / "empty")


# ---------------------------------------------------------------------------------------
# Boxes from masks, init boxes, DAVIS
# ---------------------------------------------------------------------------------------


def test_boxes_from_masks(tmp_path):
    masks = np.zeros((3, 40, 50), np.uint8)
    masks[0, 5:15, 10:30] = 255  # rows 5..14, cols 10..29
    masks[2, 39, 49] = 255  # one corner pixel
    for i, m in enumerate(masks):
        cv2.imwrite(str(tmp_path / f"{i:05d}.png"), m)
    boxes = boxes_from_masks(tmp_path)
    np.testing.assert_array_equal(boxes[0], [10, 5, 20, 10])
    assert np.isnan(boxes[1]).all()  # empty mask: target absent
    np.testing.assert_array_equal(boxes[2], [49, 39, 1, 1])


def test_read_init_box(tmp_path):
    (tmp_path / "ok.txt").write_text("300,110,165,250\n")
    np.testing.assert_array_equal(read_init_box(tmp_path / "ok.txt"), [300, 110, 165, 250])
    (tmp_path / "two.txt").write_text("1,2,3,4\n5,6,7,8\n")
    with pytest.raises(ValueError, match="two.txt: expected one"):
        read_init_box(tmp_path / "two.txt")
    (tmp_path / "bad.txt").write_text("1,2,0,4\n")
    with pytest.raises(ValueError, match="bad.txt:1"):
        read_init_box(tmp_path / "bad.txt")


@pytest.mark.shared_data
def test_davis_blackswan_boxes(shared_data):
    root = shared_data / "davis2016"
    seq = davis_sequence(root, "blackswan")
    assert len(seq.frames) == 50 and seq.boxes.shape == (50, 4)
    assert np.isfinite(seq.boxes).all()
    x, y, w, h = seq.boxes.T
    assert (w > 0).all() and (h > 0).all()
    assert (x >= 0).all() and (y >= 0).all() and (x + w <= 854).all() and (y + h <= 480).all()
    np.testing.assert_array_equal(
        boxes_from_masks(root / "Annotations" / "480p" / "blackswan"), seq.boxes
    )
    first = next(iter_frames(frames_dir=root / "JPEGImages" / "480p" / "blackswan"))
    assert first.shape == (480, 854, 3)


@pytest.mark.shared_data
def test_tennis_init_box(shared_data):
    box = read_init_box(shared_data / "tennis" / "init_rect_xywh_frame00000.txt")
    np.testing.assert_array_equal(box, [300, 110, 165, 250])
