"""JDE end to end: train a tiny model on generated frames, export it, detect and track
from pixels (library and `pipelines.track --tracker jde`), and the detector wrapper."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from jaxmot.configs.jde import JDEDataConfig, JDEExperiment
from jaxmot.data.jde_data import JDEBatches
from jaxmot.data.jde_sources import SyntheticSource
from jaxmot.data.mot import read_results, read_sequence
from jaxmot.data.synthetic import SceneConfig, generate_sequence
from jaxmot.models.jde import JDEConfig
from jaxmot.models.jde_checkpoint import export_jde, load_jde
from jaxmot.models.jde_detector import JDEDetector, JDEDetectorConfig
from jaxmot.train import OptimizerConfig, TrainConfig, train
from pipelines import track as track_cli
from pipelines.train_jde import JDETask

TINY_SCENE = SceneConfig(width=160, height=128, num_frames=6, num_objects=3,
                         height_range=(40.0, 70.0), speed_range=(1.0, 2.0))  # fmt: skip
TINY_MODEL = JDEConfig(width=128, height=96, width_multiplier=0.125, blocks=(1, 1, 1, 1, 1),
                       embedding_dim=16)  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny JDE trained 4 steps on two generated scenes, exported."""
    exp = JDEExperiment(
        model=TINY_MODEL,
        # conf 0: the barely trained model must still output boxes for the tracker
        detector=JDEDetectorConfig(conf_threshold=0.0, top_k=64, max_detections=16),
        train=TrainConfig(
            steps=4,
            batch_size=2,
            log_every=2,
            checkpoint_every=4,
            optimizer=OptimizerConfig(learning_rate=1e-3),
        ),  # fmt: skip
        data=JDEDataConfig(synthetic_scenes=2, synthetic_frames=6, synthetic_size=(160, 128)),
    )
    source = SyntheticSource.from_seeds([0, 1], TINY_SCENE)
    batches = JDEBatches([source], TINY_MODEL.width, TINY_MODEL.height, 2, max_boxes=8)
    workdir = tmp_path_factory.mktemp("jde_train")
    result = train(JDETask(exp, batches), exp.train, workdir, progress=False)
    export = workdir / "export"
    export_jde(result.model, exp.detector, exp.tracker, export, step=result.step)
    return exp, result, export


def test_training_logs_finite_losses(trained):
    _, result, _ = trained
    assert result.step == 4
    losses = [r["loss"] for r in result.history if "loss" in r]
    assert losses and np.isfinite(losses).all()
    # one classifier output per identity of the two scenes
    assert result.model.config.num_ids == sum(
        int(SyntheticSource.from_seeds([s], TINY_SCENE).num_ids) for s in (0, 1)
    )


def test_export_round_trip_and_detector(trained):
    exp, result, export = trained
    model, detector_config, tracker_config, manifest = load_jde(export)
    assert manifest["kind"] == "jde" and model.config == result.model.config
    assert detector_config == exp.detector and tracker_config == exp.tracker
    detector = JDEDetector(model, detector_config)
    frame = np.random.default_rng(0).integers(0, 256, (128, 160, 3), np.uint8)
    one = detector(frame)
    batch = detector.detect_batch([frame, frame])
    assert 0 < len(one) <= detector_config.max_detections
    assert one.features.shape == (len(one), TINY_MODEL.embedding_dim)
    np.testing.assert_allclose(np.linalg.norm(one.features, axis=1), 1.0, rtol=1e-4)
    # boxes are mapped back into the frame
    assert (one.boxes[:, :2] >= -1e-3).all()
    assert (one.boxes[:, 0] + one.boxes[:, 2] <= 160 + 1e-3).all()
    assert (one.boxes[:, 1] + one.boxes[:, 3] <= 128 + 1e-3).all()
    for d in batch:  # a batch of the same frame gives the same detections
        np.testing.assert_allclose(d.boxes, one.boxes, atol=1e-3)
    with pytest.raises(ValueError, match="RGB uint8"):
        detector(frame.astype(np.float32))


def test_track_cli_on_frames(trained, tmp_path):
    _, _, export = trained
    seq = generate_sequence(tmp_path / "data", dataclasses.replace(TINY_SCENE, seed=5))
    out, saved = tmp_path / "res.txt", tmp_path / "dets.npz"
    argv = ["--sequence", str(seq), "--tracker", "jde", "--jde-checkpoint", str(export),
            "--output", str(out), "--save-detections", str(saved), "--no-progress"]  # fmt: skip
    assert track_cli.main(argv) == 0
    results = read_results(out)
    assert len(results) > 0 and results.frames.max() <= TINY_SCENE.num_frames
    # the saved detections and embeddings feed the association alone (and any other
    # appearance tracker), with the tracker settings stored with the model
    argv = ["--sequence", str(seq), "--tracker", "jde", "--features", str(saved),
            "--jde-checkpoint", str(export), "--output", str(tmp_path / "assoc.txt"),
            "--no-progress"]  # fmt: skip
    assert track_cli.main(argv) == 0
    np.testing.assert_array_equal(read_results(tmp_path / "assoc.txt").ids, results.ids)
    assert read_sequence(seq).info.length == TINY_SCENE.num_frames


def test_track_cli_jde_needs_frames(trained, tmp_path, capsys):
    _, _, export = trained
    seq = generate_sequence(tmp_path / "data", dataclasses.replace(TINY_SCENE, render=False))
    argv = ["--sequence", str(seq), "--tracker", "jde", "--jde-checkpoint", str(export),
            "--output", str(tmp_path / "r.txt"), "--no-progress"]  # fmt: skip
    assert track_cli.main(argv) == 2
    assert "--features" in capsys.readouterr().err


def test_detector_config_errors():
    with pytest.raises(ValueError, match="conf_threshold"):
        JDEDetectorConfig(conf_threshold=1.5)
    with pytest.raises(ValueError, match="max_detections"):
        JDEDetectorConfig(top_k=8, max_detections=16)


@pytest.mark.slow  # compiles the shipped model's detector and trackers: about 1 min
def test_bench_jde_and_demo_jde_run(tmp_path, capsys):
    """`bench jde` records have the documented fields; `demo jde` writes its outputs."""
    from pipelines import bench, demo

    out = tmp_path / "bench.json"
    args = ["jde", "--variants", "small", "--resolutions", "576x320", "--repeats", "1",
            "--tracker-dets", "10", "--tracker-frames", "10", "--json", str(out)]  # fmt: skip
    assert bench.main(args) == 0
    records = json.loads(out.read_text())
    assert [r["mode"] for r in records] == ["model", "end_to_end", "tracker"]
    for r in records:
        assert {"variant", "resolution", "fps", "ms_median"} <= set(r) and r["fps"] > 0
    assert records[-1]["tracker"] == "jde" and records[-1]["ms_per_frame_median"] > 0
    workdir = tmp_path / "demo"
    assert demo.main(["jde", "--workdir", str(workdir), "--frames", "12", "--no-video"]) == 0
    summary = json.loads((workdir / "summary.json").read_text())
    assert set(summary["trackers"]) == {"jde", "longterm"} and 0 <= summary["ap50"] <= 1
    assert len(read_results(workdir / "jde.txt")) > 0
    assert "AP@0.5" in capsys.readouterr().out


@pytest.mark.slow  # tracks MOT17-09 at three noise levels: about 1 min
def test_compare_association_reproduces_the_readme(shared_data, tmp_path):
    """The README's jde rows of `pipelines.compare_association` (MOT17-09, gt-derived
    detections, simulated embeddings); iou / longterm / gnn are checked in test_gnn."""
    from pipelines import compare_association

    out = tmp_path / "compare.json"
    assert compare_association.main(["--trackers", "jde", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    idf1 = [round(100 * rows[f"noise_{n}"]["jde"]["IDF1"], 1) for n in (0.3, 0.5, 0.7)]
    switches = [rows[f"noise_{n}"]["jde"]["IDs"] for n in (0.3, 0.5, 0.7)]
    assert idf1 == [58.5, 61.7, 60.1] and switches == [22, 13, 40]
