"""JDE end to end: train a tiny model on generated frames, export it, detect and track
from pixels (library and `pipelines.track --tracker jde`), and the detector wrapper."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from scenes import TINY_SCENE

from jaxmot.core.mot_io import read_results, read_sequence
from jaxmot.core.synthetic import generate_sequence
from jaxmot.jde.checkpoint import export_jde, load_jde
from jaxmot.jde.configs import JDEDataConfig, JDEExperiment
from jaxmot.jde.data import JDEBatches
from jaxmot.jde.detector import JDEDetector, JDEDetectorConfig
from jaxmot.jde.model import JDEConfig
from jaxmot.jde.sources import SyntheticSource
from jaxmot.jde.trainer import JDETask
from jaxmot.train import OptimizerConfig, TrainConfig, train
from pipelines import track as track_cli
from pipelines import train_jde as train_jde_cli

TINY_MODEL = JDEConfig(
    width=128, height=96, width_multiplier=0.125, blocks=(1, 1, 1, 1, 1), embedding_dim=16
)


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
        ),
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
    """The jde rows (docs/jde.md) of `pipelines.compare_association` (MOT17-09, gt-derived
    detections, simulated embeddings); iou / longterm / gnn are checked in test_gnn."""
    from pipelines import compare_association

    out = tmp_path / "compare.json"
    assert compare_association.main(["--trackers", "jde", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    idf1 = [round(100 * rows[f"noise_{n}"]["jde"]["IDF1"], 1) for n in (0.3, 0.5, 0.7)]
    switches = [rows[f"noise_{n}"]["jde"]["IDs"] for n in (0.3, 0.5, 0.7)]
    assert idf1 == [58.5, 61.7, 59.3] and switches == [34, 13, 76]


# `pipelines.train_jde` at its smallest: a 64x64 JDE of 8-channel convs without residual
# blocks, 2 steps of 1 image from one 2-frame generated scene, evaluated on one held-out
# scene of 8 frames (one detector batch). Warmup 0: the preset's 100 warmup steps leave
# a 2-step cosine schedule nothing to decay over. Detector conf 0 (max_detections before
# top_k: JDEDetectorConfig checks the pair as each override is applied): the barely
# trained model must still output boxes.
TINY_TRAIN_JDE = ["--steps", "2", "--workers", "1", "--no-progress",
                  "--set", "model.width=64", "--set", "model.height=64",
                  "--set", "model.width_multiplier=0.125", "--set", "model.blocks=0,0,0,0,0",
                  "--set", "model.embedding_dim=16", "--set", "train.batch_size=1",
                  "--set", "train.optimizer.warmup_steps=0",
                  "--set", "data.synthetic_scenes=1", "--set", "data.synthetic_frames=2",
                  "--set", "data.synthetic_size=128,96", "--set", "data.eval_scenes=1",
                  "--set", "data.eval_frames=8", "--set", "detector.conf_threshold=0",
                  "--set", "detector.max_detections=16", "--set", "detector.top_k=64"]  # fmt: skip


@pytest.mark.slow  # trains, evaluates and exports a tiny JDE: about 1.5 min on 2 cores
def test_train_jde_cli_trains_evaluates_exports_and_resumes(tmp_path, capsys):
    """`pipelines.train_jde` end to end: metrics.jsonl, eval.json (evaluate_jde's
    numbers), the export (loadable, detects), and a second run that only resumes."""
    workdir, export = tmp_path / "run", tmp_path / "export"
    argv = ["--workdir", str(workdir), "--export", str(export), *TINY_TRAIN_JDE]
    assert train_jde_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "JDE 64x64: synthetic:1 scenes (2 images" in out and "AP@0.5" in out
    assert f"exported -> {export}" in out
    metrics = (workdir / "metrics.jsonl").read_text()
    last = json.loads(metrics.splitlines()[-1])
    assert last["step"] == 2 and np.isfinite(last["loss"])

    evaluation_text = (workdir / "eval.json").read_text()
    evaluation = json.loads(evaluation_text)
    assert evaluation["weights"] == "ema"  # the preset keeps an EMA of the weights
    assert evaluation["scenes"] == 1 and evaluation["frames"] == 8
    for key in ("ap50", "jde_ap50", "recall"):
        assert 0.0 <= evaluation[key] <= 1.0, key
    # TPR at FAR needs matched detections of >= 2 ids; a 2-step model may have none,
    # which is reported instead of failing the run
    assert ("tpr_at_far" in evaluation) != ("tpr_at_far_error" in evaluation)
    if "tpr_at_far" in evaluation:
        assert "0.1" in evaluation["tpr_at_far"]
        assert all(0.0 <= v <= 1.0 for v in evaluation["tpr_at_far"].values())
    assert set(evaluation["tracking"]) == {"jde", "longterm"}
    for name, m in evaluation["tracking"].items():
        assert m["MOTA"] <= 1.0 and np.isfinite(m["MOTA"]), name  # MOTA may be negative
        assert 0.0 <= m["IDF1"] <= 1.0 and 0.0 <= m["HOTA"] <= 1.0, name
        assert isinstance(m["IDs"], int) and m["IDs"] >= 0, name
        assert m["num_frames"] == 8, name

    # the same command again: restores the finished run, trains no step, and evaluates
    # the restored weights to the same numbers
    assert train_jde_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Training already complete at step 2 (steps=2)" in out
    assert (workdir / "metrics.jsonl").read_text() == metrics
    assert (workdir / "eval.json").read_text() == evaluation_text

    model, detector_config, _, manifest = load_jde(export)
    assert manifest["step"] == 2 and manifest["command"].startswith("python -m pipelines.train_jde")
    # compared as text; a metric without matches (MOTP) is stored as null
    sorted_evaluation = json.dumps(evaluation, sort_keys=True)
    assert json.dumps(manifest["evaluation"], sort_keys=True) == sorted_evaluation
    assert (model.config.width, model.config.height, model.config.embedding_dim) == (64, 64, 16)
    assert model.config.num_ids > 0  # the classifier over the training scene's ids
    assert detector_config == JDEDetectorConfig(conf_threshold=0.0, top_k=64, max_detections=16)
    frame = np.random.default_rng(0).integers(0, 256, (96, 128, 3), np.uint8)
    dets = JDEDetector(model, detector_config)(frame)
    assert 0 < len(dets) <= 16
    assert dets.boxes.shape == (len(dets), 4) and dets.features.shape == (len(dets), 16)
    assert np.isfinite(dets.boxes).all() and np.isfinite(dets.features).all()
    assert ((dets.scores >= 0) & (dets.scores <= 1)).all()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["--set", "data.synthetic_scenes=0"], "no training data"),
        (["--set", "data.jde_lists=caltech.train"], "data.jde_lists needs data.jde_root"),
        (["--set", "data.mot_sequences=/nonexistent/MOT17-02"], "sequence folder not found"),
        (["--set", "data.synthetic_scnes=2"], "did you mean synthetic_scenes"),
        (["--set", "data.eval_scenes=0"], "to skip the evaluation pass --no-eval"),
    ],
)
def test_train_jde_cli_rejects_bad_data(tmp_path, capsys, overrides, message):
    """Bad data settings (or a mistyped key) fail at once: exit code 2, an error
    line naming the problem, no traceback, nothing written to the workdir."""
    workdir = tmp_path / "run"
    assert train_jde_cli.main(["--workdir", str(workdir), "--no-progress", *overrides]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not workdir.exists()
