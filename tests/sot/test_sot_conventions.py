"""Benchmark conventions of the single-object evaluation: frames without ground truth
(failures by default, as pytracking and pysot; skipped on request), GOT-10k's AO and
SR, and the success / precision plots.

Every number is checked against plain loops written here from the toolkits' definitions
(pytracking `extract_results` with `exclude_invalid_frames=False`, pysot `OPEBenchmark`,
GOT-10k `ExperimentGOT10k.report`)."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from jaxmot.sot.metrics import (
    NORM_PRECISION_THRESHOLDS,
    OVERALL,
    PRECISION_THRESHOLDS,
    SUCCESS_THRESHOLDS,
    evaluate_sequences,
    score_sequence,
    score_sequences,
)
from jaxmot.sot.plots import plot_success_precision
from pipelines import evaluate_sot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _valid(box) -> bool:
    return all(math.isfinite(v) for v in box) and box[2] > 0 and box[3] > 0


def _iou(p, g) -> float:
    iw = max(0.0, min(p[0] + p[2], g[0] + g[2]) - max(p[0], g[0]))
    ih = max(0.0, min(p[1] + p[3], g[1] + g[3]) - max(p[1], g[1]))
    inter = iw * ih
    return min(1.0, inter / (p[2] * p[3] + g[2] * g[3] - inter))


def _repaired(pred):
    """OTB: an invalid prediction repeats the last valid one (None before any)."""
    out, last = [], None
    for box in pred:
        if _valid(box):
            last = list(box)
        out.append(last)
    return out


def _reference(pred, gt, first_frame="gt", absent="fail"):
    """(success [21], precision [51], norm precision [51], GOT-10k IoUs) by plain loops."""
    pred, gt = _repaired(np.asarray(pred, float)), np.asarray(gt, float)
    ious, errs, norms = [], [], []
    for t, (p, g) in enumerate(zip(pred, gt, strict=True)):
        if t == 0 and first_frame == "exclude":
            continue
        if t == 0 and first_frame == "gt" and _valid(g):
            p = list(g)
        if not _valid(g):
            if absent == "fail":  # in the denominator, never a hit
                ious.append(-1.0)
                errs.append(math.inf)
                norms.append(math.inf)
            continue
        if p is None:
            ious.append(0.0)
            errs.append(math.inf)
            norms.append(math.inf)
            continue
        ious.append(_iou(p, g))
        dx = (p[0] + p[2] / 2) - (g[0] + g[2] / 2)
        dy = (p[1] + p[3] / 2) - (g[1] + g[3] / 2)
        errs.append(math.hypot(dx, dy))
        norms.append(math.hypot(dx / g[2], dy / g[3]))
    n = len(ious)
    succ = [sum(i > t for i in ious) / n for t in SUCCESS_THRESHOLDS]
    prec = [sum(e <= t for e in errs) / n for t in PRECISION_THRESHOLDS]
    norm = [sum(e <= t for e in norms) / n for t in NORM_PRECISION_THRESHOLDS]
    got = [  # GOT-10k: frames 2..T with a gt box, first_frame and absent ignored
        _iou(p, g) if p is not None else 0.0
        for t, (p, g) in enumerate(zip(pred, gt, strict=True))
        if t > 0 and _valid(g)
    ]
    return np.array(succ), np.array(prec), np.array(norm), np.array(got)


def _sequence_with_absences(rng, frames=40):
    gt = np.concatenate([rng.uniform(0, 200, (frames, 2)), rng.uniform(5, 80, (frames, 2))], 1)
    pred = gt + rng.normal(0, 10, gt.shape)
    pred[:, 2:] = np.abs(pred[:, 2:]) + 1
    start = int(rng.integers(3, frames - 8))
    gt[start : start + int(rng.integers(2, 7))] = np.nan  # the target leaves the view
    gt[int(rng.integers(1, frames)), 3] = 0.0  # an empty gt box (UAV123 writes 0,0,0,0)
    pred[int(rng.integers(1, frames))] = np.nan  # a missing prediction, repaired
    return pred, gt


@pytest.mark.parametrize("first_frame", ["gt", "exclude", "keep"])
@pytest.mark.parametrize("absent", ["fail", "skip"])
def test_absent_targets_match_the_plain_reference(first_frame, absent):
    rng = np.random.default_rng(7)
    pairs = {f"seq{i}": _sequence_with_absences(rng, 30 + 10 * i) for i in range(3)}
    scores = score_sequences(pairs, first_frame, absent)
    refs = {name: _reference(*pair, first_frame, absent) for name, pair in pairs.items()}
    for name, (succ, prec, norm, got) in refs.items():
        s = scores[name]
        np.testing.assert_allclose(s.success, succ, atol=1e-12)
        np.testing.assert_allclose(s.precision, prec, atol=1e-12)
        np.testing.assert_allclose(s.norm_precision, norm, atol=1e-12)
        np.testing.assert_allclose(s.overlaps, got, atol=1e-12)
        absent_rows = sum(not _valid(g) for g in pairs[name][1][int(first_frame == "exclude") :])
        assert s.absent == (absent_rows if absent == "fail" else 0)
    overall = scores[OVERALL]
    np.testing.assert_allclose(overall.success, np.mean([r[0] for r in refs.values()], 0))
    np.testing.assert_allclose(overall.precision, np.mean([r[1] for r in refs.values()], 0))
    pooled = np.concatenate([r[3] for r in refs.values()])
    assert overall.ao == pytest.approx(pooled.mean())
    assert overall.success_rate(0.5) == pytest.approx((pooled > 0.5).mean())


def test_failing_absent_frames_lowers_every_curve_by_their_share():
    # 10 frames, perfect where the target is there, 4 frames without it.
    gt = np.tile([20.0, 30.0, 40.0, 50.0], (10, 1))
    gt[3:7] = np.nan
    pred = np.tile([20.0, 30.0, 40.0, 50.0], (10, 1))
    skip, fail = score_sequence(pred, gt, absent="skip"), score_sequence(pred, gt)
    assert skip.auc == pytest.approx(20 / 21) and skip.precision20 == 1.0
    assert fail.auc == pytest.approx(20 / 21 * 6 / 10) and fail.precision20 == 0.6
    assert fail.norm_precision_at_02 == 0.6 and fail.scored == 10 and fail.absent == 4
    # GOT-10k's numbers ignore absent frames in both modes.
    assert skip.ao == fail.ao == 1.0 and len(fail.overlaps) == 5  # frames 1, 2, 7, 8, 9


def test_per_sequence_absent_modes():
    gt = np.tile([0.0, 0.0, 10.0, 10.0], (4, 1))
    gt[2] = np.nan
    pairs = {"sparse": (gt.copy(), gt), "lasot": (gt.copy(), gt)}
    out = evaluate_sequences(pairs, absent={"sparse": "skip"})  # unnamed: "fail"
    assert out["sparse"]["auc"] == pytest.approx(20 / 21)
    assert out["lasot"]["auc"] == pytest.approx(20 / 21 * 3 / 4)
    assert out["sparse"]["absent_frames"] == 0 and out["lasot"]["absent_frames"] == 1
    with pytest.raises(ValueError, match="absent must be one of"):
        evaluate_sequences(pairs, absent={"sparse": "ignore"})


def test_ao_and_success_rates_on_hand_made_boxes():
    gt = np.tile([10.0, 10.0, 20.0, 20.0], (7, 1))
    pred = np.array([
        [90, 90, 5, 5],      # frame 0: the init frame, never scored by GOT-10k
        [10, 10, 20, 20],    # IoU 1
        [10, 10, 20, 10],    # IoU exactly 0.5: not > 0.5 (strict, as the toolkit)
        [10, 10, 20, 15],    # IoU exactly 0.75: in SR0.5, not in SR0.75
        [15, 10, 20, 20],    # IoU 15 * 20 / (800 - 300) = 0.6
        [300, 300, 20, 20],  # IoU 0
        [10, 10, 20, 20],    # absent target below: not scored
    ], float)  # fmt: skip
    gt[6] = np.nan
    s = score_sequence(pred, gt)
    np.testing.assert_allclose(s.overlaps, [1.0, 0.5, 0.75, 0.6, 0.0])
    summary = s.summary()
    assert summary["ao"] == pytest.approx((1 + 0.5 + 0.75 + 0.6) / 5)
    assert summary["sr50"] == pytest.approx(3 / 5)  # 1, 0.75, 0.6
    assert summary["sr75"] == pytest.approx(1 / 5)  # 1 only
    assert summary["got10k_frames"] == 5
    # Overall pools frames (the toolkit concatenates IoUs): a 1-frame-scored sequence at
    # IoU 1 moves the overall AO by 1/6 of the way, not half of it.
    short_gt = np.tile([10.0, 10.0, 20.0, 20.0], (2, 1))
    overall = evaluate_sequences({"a": (pred, gt), "b": (short_gt, short_gt)})[OVERALL]
    assert overall["ao"] == pytest.approx((1 + 0.5 + 0.75 + 0.6 + 1) / 6)
    assert overall["sr50"] == pytest.approx(4 / 6)
    # No frame after the first: AO undefined (NaN; null in JSON).
    assert math.isnan(score_sequence(short_gt[:1], short_gt[:1]).ao)


def _write_boxes(path, boxes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(",".join(f"{v:g}" for v in b) + "\n" for b in boxes))


def test_evaluate_sot_absent_flag_several_trackers_and_plot(tmp_path, capsys):
    gt = np.tile([10.0, 10.0, 20.0, 20.0], (6, 1))
    gt[4] = np.nan
    good = gt.copy()
    good[4] = [10, 10, 20, 20]
    bad = good + [6.0, 0, 0, 0]
    _write_boxes(tmp_path / "gt" / "seq" / "groundtruth.txt", gt)
    _write_boxes(tmp_path / "good" / "seq.txt", good)
    _write_boxes(tmp_path / "bad" / "seq.txt", bad)
    base = ["--groundtruth", str(tmp_path / "gt")]

    out = tmp_path / "fail.json"
    assert (
        evaluate_sot.main([*base, "--predictions", str(tmp_path / "good"), "--json", str(out)]) == 0
    )
    assert json.loads(out.read_text())["OVERALL"]["auc"] == pytest.approx(20 / 21 * 5 / 6)
    out = tmp_path / "skip.json"
    assert evaluate_sot.main([*base, "--predictions", str(tmp_path / "good"),
                              "--absent", "skip", "--json", str(out)]) == 0  # fmt: skip
    metrics = json.loads(out.read_text())["OVERALL"]
    assert metrics["auc"] == pytest.approx(20 / 21) and metrics["ao"] == 1.0
    assert "SR0.5" in capsys.readouterr().out

    plot, out = tmp_path / "plots" / "sot.png", tmp_path / "both.json"
    two = ["--predictions", str(tmp_path / "good"), "--predictions", str(tmp_path / "bad")]
    rc = evaluate_sot.main([*base, *two, "--plot", str(plot), "--json", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "good\n" in printed and "bad\n" in printed and str(plot) in printed
    both = json.loads(out.read_text())
    assert set(both) == {"good", "bad"} and set(both["bad"]) == {"seq", OVERALL}
    assert both["bad"][OVERALL]["auc"] < both["good"][OVERALL]["auc"]
    assert plot.read_bytes()[:8] == PNG_MAGIC
    image = cv2.imread(str(plot))
    assert image is not None and image.shape[1] > 1.5 * image.shape[0]  # two panels side by side
    with pytest.raises(SystemExit):  # argparse names the choices
        evaluate_sot.main([*base, "--predictions", str(tmp_path / "good"), "--absent", "none"])


def test_plot_function_writes_a_png(tmp_path):
    gt = np.tile([0.0, 0.0, 10.0, 10.0], (5, 1))
    scores = {"perfect": score_sequence(gt, gt), "shifted": score_sequence(gt + [4, 0, 0, 0], gt)}
    plot_success_precision(scores, tmp_path / "p.png", title="two trackers")
    assert (tmp_path / "p.png").read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="no results"):
        plot_success_precision({}, tmp_path / "q.png")
