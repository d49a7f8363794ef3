"""Training curves: which quantities become panels, in which order, and the PNG."""

import json
import math

import cv2
import pytest

from jaxmot.train.plots import metric_series, plot_metrics
from pipelines import plot_metrics as plot_cli

RECORDS = [
    {"step": 10, "grad_norm": 2.0, "loss": 4.0, "learning_rate": 1e-4, "time": 1.0},
    {"step": 20, "grad_norm": 1.5, "loss": 3.0, "learning_rate": 2e-4, "examples_per_sec": 50.0},
    {"step": 30, "loss": float("nan"), "flag": True, "name": "x", "eval": {"idf1": 0.5}},
    {"step": 40, "loss": 2.0, "grad_norm": None, "eval": {"idf1": 0.6, "mota": float("inf")}},
]


def test_series_keep_finite_numbers_in_panel_order():
    series = metric_series(RECORDS)
    # loss, learning rate, examples/s first; other scalars as first logged; eval last
    assert list(series) == ["loss", "learning_rate", "examples_per_sec", "grad_norm", "eval/idf1"]
    assert series["loss"] == ([10, 20, 40], [4.0, 3.0, 2.0])  # NaN dropped
    assert series["grad_norm"] == ([10, 20], [2.0, 1.5])  # None dropped
    assert series["eval/idf1"] == ([30, 40], [0.5, 0.6])  # inf mota: no panel at all
    assert "flag" not in series and "name" not in series and "time" not in series


def test_plot_writes_a_png_with_every_panel(tmp_path):
    out = tmp_path / "sub" / "curves.png"
    panels = plot_metrics(RECORDS, out, title="run")
    assert panels == list(metric_series(RECORDS))
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 600
    assert len(list(out.parent.iterdir())) == 1  # no temporary file left


def test_nothing_to_plot_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no numeric metric"):
        plot_metrics([{"step": 1, "note": "x"}], tmp_path / "x.png")


def _write_log(folder, lines):
    folder.mkdir()
    (folder / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))


def test_cli_draws_into_the_workdir(tmp_path, capsys):
    run = tmp_path / "run"
    rows = [
        {"step": s, "loss": math.exp(-s / 50), "learning_rate": 1e-3} for s in range(10, 200, 10)
    ]
    _write_log(run, [json.dumps(r) for r in rows])
    assert plot_cli.main([str(run)]) == 0
    assert (run / "metrics.png").is_file()
    assert "2 panels (loss, learning_rate)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (None, "metrics.jsonl: not found"),
        (['{"step": 1, "loss": 1.0}', "not json", '{"step": 3}'], "metrics.jsonl:2: malformed"),
        (['{"step": 1, "note": "x"}'], "no numeric metric"),
    ],
)
def test_cli_bad_input_is_one_line(tmp_path, capsys, lines, message):
    run = tmp_path / "run"
    if lines is None:
        run.mkdir()
    else:
        _write_log(run, lines)
    assert plot_cli.main([str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert not (run / "metrics.png").exists()
