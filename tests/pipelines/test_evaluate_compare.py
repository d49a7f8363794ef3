"""`pipelines.evaluate` comparing several trackers: one table, JSON, CSV and a plot."""

from __future__ import annotations

import csv
import dataclasses
import json

import pytest

from jaxmot.core.synthetic import SceneConfig, generate_sequence
from pipelines import evaluate, track


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cmp")
    config = dataclasses.replace(SceneConfig(), num_frames=20, width=320, height=240, seed=5)
    gt = root / "gt"
    for name, seed in (("A", 5), ("B", 6)):
        generate_sequence(gt, dataclasses.replace(config, seed=seed, render=False), name=name)
    for tracker in ("iou", "sort"):
        for seq in ("A", "B"):
            out = root / "runs" / tracker / f"{seq}.txt"
            args = ["--sequence", str(gt / seq), "--tracker", tracker, "--output", str(out)]
            assert track.main([*args, "--no-progress"]) == 0
    return root


def test_several_results_one_table_json_csv_plot(runs, capsys):
    gt, folder = runs / "gt", runs / "runs"
    js, table, plot = runs / "c.json", runs / "c.csv", runs / "c.png"
    args = ["--gt", str(gt), "--results", str(folder / "iou"), str(folder / "sort")]
    assert evaluate.main([*args, "--json", str(js), "--csv", str(table), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("Tracker") and "iou" in out and "sort" in out
    by_tracker = json.loads(js.read_text())
    assert set(by_tracker) == {"iou", "sort"} and set(by_tracker["iou"]) == {"A", "B", "OVERALL"}
    # Each tracker's OVERALL equals evaluating its folder alone.
    alone = runs / "iou.json"
    assert (
        evaluate.main(["--gt", str(gt), "--results", str(folder / "iou"), "--json", str(alone)])
        == 0
    )
    assert json.loads(alone.read_text())["OVERALL"] == by_tracker["iou"]["OVERALL"]
    rows = list(csv.DictReader(table.open()))
    assert [r["tracker"] for r in rows] == ["iou", "sort"]
    assert float(rows[1]["HOTA"]) == pytest.approx(by_tracker["sort"]["OVERALL"]["HOTA"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A folder of tracker folders is the same comparison.
    again = runs / "d.json"
    assert evaluate.main(["--gt", str(gt), "--results", str(folder), "--json", str(again)]) == 0
    assert json.loads(again.read_text()) == by_tracker


def test_compare_errors(runs, capsys):
    gt = str(runs / "gt")
    assert (
        evaluate.main(["--gt", gt, "--results", str(runs / "runs" / "iou"), "--csv", "x.csv"]) == 2
    )
    assert "compare several" in capsys.readouterr().err
    assert (
        evaluate.main(["--gt", gt, "--results", str(runs / "nope"), str(runs / "runs" / "iou")])
        == 2
    )
    assert "not found" in capsys.readouterr().err


def test_plot_sets_draws_one_panel_per_set(tmp_path):
    import cv2

    from jaxmot.core.eval.compare import plot_sets

    metrics = {"MOTA": 0.5, "IDF1": 0.6, "HOTA": 0.4}
    table = {s: {"iou": metrics, "boxmot bytetrack (class)": metrics} for s in ("TUD", "MOT17/x")}
    one, two = tmp_path / "one.png", tmp_path / "two.png"
    assert plot_sets(two, table) == ["TUD", "MOT17/x"]
    plot_sets(one, {"TUD": table["TUD"]})
    # one panel a set, stacked: two sets make an image twice as tall
    h1, h2 = cv2.imread(str(one)).shape[0], cv2.imread(str(two)).shape[0]
    assert h2 == pytest.approx(2 * h1, rel=0.02)
    with pytest.raises(ValueError, match="empty"):
        plot_sets(tmp_path / "none.png", {})
