"""Metrics: parity with py-motmetrics' own asserted values, hand-made cases, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from jaxmot.core.eval.metrics import evaluate, evaluate_sequence
from jaxmot.core.eval.pairs import load_pairs
from jaxmot.core.eval.preprocess import preprocess_sequence
from jaxmot.core.eval.report import format_table, write_json
from jaxmot.core.mot_io import GroundTruth, TrackResults, write_gt, write_results
from pipelines import evaluate as evaluate_cli

METRIC_KEYS = {
    "MOTA",
    "MOTP",
    "IDF1",
    "IDP",
    "IDR",
    "Rcll",
    "Prcn",
    "FP",
    "FN",
    "IDs",
    "Frag",
    "MT",
    "PT",
    "ML",
    "GT",
    "num_frames",
    "HOTA",
    "DetA",
    "AssA",
    "LocA",
    "DetRe",
    "DetPr",
    "AssRe",
    "AssPr",
}


def _gt(frames, ids, boxes, flags=None, classes=None) -> GroundTruth:
    n = len(frames)
    return GroundTruth(
        frames=frames,
        ids=ids,
        boxes=boxes,
        flags=np.ones(n) if flags is None else flags,
        classes=-np.ones(n) if classes is None else classes,
        visibility=-np.ones(n),
    )


def _res(frames, ids, boxes) -> TrackResults:
    return TrackResults(frames=frames, ids=ids, boxes=boxes, scores=np.ones(len(frames)))


def _two_walkers(num_frames=6) -> GroundTruth:
    """Two people walking apart, one box each per frame."""
    frames, ids, boxes = [], [], []
    for f in range(1, num_frames + 1):
        for pid, x in ((1, 10 + 5 * f), (2, 200 - 5 * f)):
            frames.append(f)
            ids.append(pid)
            boxes.append([x, 50, 40, 100])
    return _gt(frames, ids, boxes)


# --- parity -----------------------------------------------------------------------------

# Values py-motmetrics asserts for its own test data (see shared/data/README.md).
EXPECTED = {
    "TUD-Campus": dict(IDF1=0.557659, MOTA=0.526462, MOTP=0.277201, FP=13, FN=150, IDs=7),
    "TUD-Stadtmitte": dict(IDF1=0.644619, MOTA=0.564014, MOTP=0.345904, FP=45, FN=452, IDs=7),
    "OVERALL": dict(IDF1=0.624296, MOTA=0.555116),
}


@pytest.mark.shared_data
def test_py_motmetrics_parity(shared_data):
    mot15 = shared_data / "mot15"
    pairs = {}
    for seq in ("TUD-Campus", "TUD-Stadtmitte"):
        results = mot15 / "trackers" / "py-motmetrics-test" / f"{seq}.txt"
        pairs.update(load_pairs(mot15 / "train" / seq, results))
    metrics = evaluate(pairs)
    assert list(metrics) == ["TUD-Campus", "TUD-Stadtmitte", "OVERALL"]
    for name, expected in EXPECTED.items():
        for key, value in expected.items():
            got = metrics[name][key]
            if isinstance(value, int):
                assert got == value and isinstance(got, int), (name, key)
            else:
                assert got == pytest.approx(value, abs=1e-6), (name, key)
    # TrackEval's own full pipeline gives HOTA 39.140 / 39.785 / COMBINED 39.996 here.
    assert metrics["TUD-Campus"]["HOTA"] == pytest.approx(0.39140, abs=1e-5)
    assert metrics["OVERALL"]["HOTA"] == pytest.approx(0.39996, abs=1e-5)


# --- hand-made cases --------------------------------------------------------------------


def test_perfect_tracking():
    gt = _two_walkers()
    m = evaluate_sequence(gt, _res(gt.frames, gt.ids, gt.boxes))
    assert set(m) == METRIC_KEYS
    for key in ("MOTA", "IDF1", "HOTA", "DetA", "AssA", "LocA", "Rcll", "Prcn"):
        assert m[key] == pytest.approx(1.0), key
    assert (m["FP"], m["FN"], m["IDs"], m["MT"], m["GT"], m["num_frames"]) == (0, 0, 0, 2, 2, 6)
    assert m["MOTP"] == pytest.approx(0.0)
    assert all(isinstance(v, float | int) and not isinstance(v, np.generic) for v in m.values())


def test_one_id_switch():
    gt = _two_walkers()
    ids = gt.ids.copy()
    ids[(gt.frames >= 4) & (gt.ids == 1)] = 7  # person 1 gets a new id halfway
    m = evaluate_sequence(gt, _res(gt.frames, ids, gt.boxes))
    assert (m["IDs"], m["FP"], m["FN"]) == (1, 0, 0)
    assert m["MOTA"] == pytest.approx(1 - 1 / 12)
    assert m["IDF1"] < 1 and m["AssA"] < 1 and m["DetA"] == pytest.approx(1.0)


def test_hota_matches_hand_computation():
    # One gt box per frame over 4 frames; the tracker covers it with IoU 0.52 (same x,
    # y, w; 52% of the height) and switches id after frame 2.
    gt = _gt([1, 2, 3, 4], [1] * 4, [[0, 0, 10, 10]] * 4)
    split = _res([1, 2, 3, 4], [1, 1, 2, 2], [[0, 0, 10, 5.2]] * 4)
    m = evaluate_sequence(gt, split)
    # Alphas 0.05..0.95 (19): the 10 with alpha <= 0.52 match all 4 boxes, the other 9
    # match none. Where matched: DetA 1; each match's track holds 2 of the gt's 4
    # boxes, so AssA = AssRe = 2/4, AssPr = 2/2; LocA 0.52. Unmatched alphas score 0,
    # except LocA, which TrackEval sets to 1 when there is no match.
    w = 10 / 19
    assert m["DetA"] == pytest.approx(w)
    assert m["DetRe"] == pytest.approx(w) and m["DetPr"] == pytest.approx(w)
    assert m["AssA"] == pytest.approx(w * 0.5)
    assert m["AssRe"] == pytest.approx(w * 0.5) and m["AssPr"] == pytest.approx(w)
    assert m["HOTA"] == pytest.approx(w * math.sqrt(0.5))
    assert m["LocA"] == pytest.approx((10 * 0.52 + 9 * 1.0) / 19)
    # CLEAR-MOT / identity on the same case.
    assert m["IDs"] == 1 and m["MOTA"] == pytest.approx(0.75)
    assert m["IDF1"] == pytest.approx(0.5) and m["MOTP"] == pytest.approx(0.48)

    # Without the split, association is perfect at every alpha that matches.
    whole = evaluate_sequence(gt, _res([1, 2, 3, 4], [1] * 4, [[0, 0, 10, 5.2]] * 4))
    assert whole["DetA"] == pytest.approx(m["DetA"])
    assert whole["AssA"] == pytest.approx(w) and whole["HOTA"] > m["HOTA"]


def test_distractor_preprocessing():
    # MOT17-style gt: a pedestrian (class 1), a static person (class 7, a distractor), a
    # pedestrian flagged 0 (not to be considered) and a car (class 3, not a distractor).
    boxes = [[0, 0, 50, 100], [200, 0, 50, 100], [400, 0, 50, 100], [600, 0, 50, 100]]
    gt = _gt([1] * 4, [1, 2, 3, 4], boxes, flags=[1, 1, 0, 1], classes=[1, 7, 1, 3])
    on_static = [203, 2, 50, 100]  # IoU ~0.9 with the class-7 box
    res = _res([1] * 4, [10, 11, 12, 13], [boxes[0], on_static, boxes[2], boxes[3]])

    gt_kept, res_kept = preprocess_sequence(gt, res)
    assert gt_kept.ids.tolist() == [1]
    assert res_kept.ids.tolist() == [10, 12, 13]  # only the box on the distractor goes

    m = evaluate_sequence(gt, res)
    # 12 (on a flag-0 pedestrian) and 13 (on a car) are FPs; 11 is not, the zero-flag
    # pedestrian is no FN.
    assert (m["FP"], m["FN"], m["GT"]) == (2, 0, 1)


def test_mot15_gt_uses_flags_only():
    gt = _gt([1, 1], [1, 2], [[0, 0, 10, 10], [50, 0, 10, 10]], flags=[1, 0])
    res = _res([1], [5], [[50, 0, 10, 10]])
    gt_kept, res_kept = preprocess_sequence(gt, res)
    assert gt_kept.ids.tolist() == [1] and len(res_kept) == 1
    assert (evaluate_sequence(gt, res)["FP"], evaluate_sequence(gt, res)["FN"]) == (1, 1)


def test_empty_results_and_duplicate_ids():
    gt = _two_walkers(3)
    empty = _res(np.zeros(0), np.zeros(0), np.zeros((0, 4)))
    m = evaluate_sequence(gt, empty)
    assert (m["FN"], m["FP"], m["MOTA"], m["HOTA"]) == (6, 0, 0.0, 0.0)
    dup = _res([1, 1], [3, 3], [[0, 0, 5, 5], [9, 9, 5, 5]])
    with pytest.raises(ValueError, match="frame 1 has tracker id 3 more than once"):
        evaluate_sequence(gt, dup, "seqX")


def test_overall_pools_sequences():
    gt = _two_walkers()
    perfect = _res(gt.frames, gt.ids, gt.boxes)
    keep = gt.frames <= 3
    half = _res(gt.frames[keep], gt.ids[keep], gt.boxes[keep])
    m = evaluate({"a": (gt, perfect), "b": (gt, half)})
    assert list(m) == ["a", "b", "OVERALL"]
    assert m["OVERALL"]["FN"] == m["b"]["FN"] == 6 and m["OVERALL"]["num_frames"] == 12
    assert m["OVERALL"]["MOTA"] == pytest.approx(1 - 6 / 24)


def test_format_table_and_json(tmp_path):
    gt = _two_walkers()
    metrics = evaluate({"seq-A": (gt, _res(gt.frames, gt.ids, gt.boxes))})
    metrics["seq-A"]["MOTP"] = float("nan")
    table = format_table(metrics)
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["Sequence", "HOTA", "DetA", "AssA"]
    assert lines[2].startswith("seq-A") and lines[3].startswith("OVERALL")
    assert " 100.0 " in lines[2] and "nan" in lines[2]
    write_json(tmp_path / "m.json", metrics)
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["seq-A"]["MOTP"] is None and data["OVERALL"]["MOTA"] == 1.0


# --- loading and the command line -------------------------------------------------------


def _make_benchmark(root, names=("S1", "S2")):
    gt = _two_walkers()
    for name in names:
        write_gt(root / "gt" / name / "gt" / "gt.txt", gt)
        write_results(root / "res" / f"{name}.txt", _res(gt.frames, gt.ids, gt.boxes))
    return root / "gt", root / "res"


def test_load_pairs_errors(tmp_path):
    gt_dir, res_dir = _make_benchmark(tmp_path)
    assert list(load_pairs(gt_dir, res_dir)) == ["S1", "S2"]
    assert list(load_pairs(gt_dir / "S2", res_dir / "S2.txt")) == ["S2"]
    with pytest.raises(ValueError, match="single results file"):
        load_pairs(gt_dir, res_dir / "S1.txt")
    (res_dir / "S2.txt").unlink()
    write_results(res_dir / "Other.txt", _res([1], [1], [[0, 0, 1, 1]]))
    with pytest.raises(FileNotFoundError, match="S2"):
        load_pairs(gt_dir, res_dir)
    with pytest.warns(UserWarning, match="Other"):
        assert list(load_pairs(gt_dir / "S1", res_dir)) == ["S1"]


def test_cli_writes_json(tmp_path, capsys):
    gt_dir, res_dir = _make_benchmark(tmp_path)
    out = tmp_path / "out" / "metrics.json"
    rc = evaluate_cli.main(["--gt", str(gt_dir), "--results", str(res_dir), "--json", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "S1" in printed and "OVERALL" in printed
    data = json.loads(out.read_text())
    assert list(data) == ["S1", "S2", "OVERALL"]
    for metrics in data.values():
        assert set(metrics) == METRIC_KEYS
    assert data["OVERALL"]["IDF1"] == 1.0


def test_cli_reports_missing_results(tmp_path, capsys):
    gt_dir, res_dir = _make_benchmark(tmp_path)
    (res_dir / "S1.txt").unlink()
    assert evaluate_cli.main(["--gt", str(gt_dir), "--results", str(res_dir)]) == 2
    assert "S1" in capsys.readouterr().err
