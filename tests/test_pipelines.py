"""The command-line programs, end to end on small generated data."""

import dataclasses
import json

import numpy as np
import pytest

from jaxmot.data.features import load_detection_features, save_detection_features
from jaxmot.data.mot import read_results, read_sequence
from jaxmot.data.synthetic import SceneConfig, generate_sequence
from pipelines import bench, demo, evaluate, track

SORT_TUD = {  # SORT (max_age 1, min_hits 3, IoU 0.3) on the same detections: MOTA, IDF1
    "TUD-Campus": (0.627, 0.607),
    "TUD-Stadtmitte": (0.717, 0.735),
    "OVERALL": (0.696, 0.705),
}


@pytest.fixture(scope="module")
def small_sequence(tmp_path_factory):
    config = dataclasses.replace(SceneConfig(), num_frames=25, width=320, height=240, seed=2)
    return generate_sequence(tmp_path_factory.mktemp("seq"), config, name="SMALL")


@pytest.mark.parametrize("tracker", ["iou", "reid", "longterm"])
def test_track_and_evaluate(small_sequence, tmp_path, tracker, capsys):
    out = tmp_path / "res" / "SMALL.txt"
    assert track.main(["--sequence", str(small_sequence), "--tracker", tracker,
                       "--output", str(out), "--no-progress"]) == 0  # fmt: skip
    results = read_results(out)
    assert len(results) > 0 and results.frames.max() <= 25
    js = tmp_path / "m.json"
    assert (
        evaluate.main(["--gt", str(small_sequence), "--results", str(out), "--json", str(js)]) == 0
    )
    metrics = json.loads(js.read_text())
    assert set(metrics) == {"SMALL", "OVERALL"} and metrics["OVERALL"]["MOTA"] > 0.2


def test_track_writes_video(small_sequence, tmp_path):
    video = tmp_path / "v.mp4"
    track.main(["--sequence", str(small_sequence), "--output", str(tmp_path / "r.txt"),
                "--video", str(video), "--no-progress"])  # fmt: skip
    assert video.stat().st_size > 1000


def test_appearance_tracker_from_precomputed_features(small_sequence, tmp_path):
    seq = read_sequence(small_sequence)
    feats = np.random.default_rng(0).normal(size=(len(seq.detections), 32))
    path = tmp_path / "f.npz"
    save_detection_features(path, seq.detections, feats)
    dets, loaded = load_detection_features(path)
    np.testing.assert_allclose(loaded, feats.astype(np.float32))
    out = tmp_path / "r.txt"
    args = ["--sequence", str(small_sequence), "--tracker", "longterm", "--features", str(path)]
    assert track.main([*args, "--output", str(out), "--no-progress"]) == 0
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="bad.npz"):
        load_detection_features(tmp_path / "bad.npz")


def test_demo_runs(tmp_path, capsys):
    assert demo.main(["--workdir", str(tmp_path), "--frames", "30", "--no-video"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary) == {"iou", "reid", "longterm"}
    assert "MOTA" in capsys.readouterr().out


def test_bench_tracker_json(tmp_path):
    out = tmp_path / "b.json"
    assert bench.main(["tracker", "--trackers", "iou", "--dets", "10", "--frames", "20",
                       "--json", str(out)]) == 0  # fmt: skip
    (record,) = json.loads(out.read_text())
    for key in ("tracker", "dets_per_frame", "ms_per_frame_median", "ms_per_frame_p90", "fps",
                "compiles_after_warmup"):  # fmt: skip
        assert key in record
    assert record["compiles_after_warmup"] == 0


@pytest.mark.shared_data
def test_iou_tracker_beats_sort_on_tud(shared_data, tmp_path):
    for name in ("TUD-Campus", "TUD-Stadtmitte"):
        out = tmp_path / "res" / f"{name}.txt"
        sequence = shared_data / "mot15/train" / name
        track.main(["--sequence", str(sequence), "--output", str(out), "--no-progress"])
    js = tmp_path / "m.json"
    evaluate.main(["--gt", str(shared_data / "mot15/train"), "--results", str(tmp_path / "res"),
                   "--json", str(js)])  # fmt: skip
    metrics = json.loads(js.read_text())
    for name, (mota, idf1) in SORT_TUD.items():
        assert metrics[name]["MOTA"] >= mota and metrics[name]["IDF1"] >= idf1, (
            name,
            metrics[name],
        )
