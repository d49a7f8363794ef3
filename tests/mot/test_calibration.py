"""Appearance gates: tuned per extractor on validation scenes, carried to the trackers."""

import dataclasses
import json

import numpy as np
import pytest
from flax import nnx

from jaxmot.core.eval.metrics import evaluate
from jaxmot.core.extractor import gate_of
from jaxmot.core.mot_io import read_sequence
from jaxmot.core.registry import make_extractor, make_tracker
from jaxmot.core.sequence import track_sequence
from jaxmot.core.synthetic import SceneConfig, generate_sequence, scene_seed
from jaxmot.gnn.checkpoint import tuned_patience
from jaxmot.mot.calibration import (
    embed_sequence_detections,
    tune_appearance_gate,
    validation_seeds,
)
from jaxmot.mot.histogram import ColorHistogramExtractor
from jaxmot.reid.checkpoint import export_reid_model
from jaxmot.reid.model import ReIDModelConfig, build_reid_model

SMALL = SceneConfig(num_frames=25, num_objects=6)


def test_make_tracker_takes_the_gate():
    assert make_tracker("longterm").config.appearance_gate == 0.5  # the config's default
    assert make_tracker("longterm", appearance_gate=0.9).config.appearance_gate == 0.9
    assert make_tracker("reid", appearance_gate=2.0).config.appearance_gate == 2.0
    assert not make_tracker("iou", appearance_gate=0.9).needs_features  # ignored
    with pytest.raises(ValueError, match="appearance_gate must be > 0"):
        make_tracker("longterm", appearance_gate=0.0)


def test_make_tracker_takes_the_patience():
    # Kept while inactive <= patience, a frame count at any frame rate (the exercise's rule).
    assert make_tracker("longterm").tracks.max_lost_frames == 20
    assert make_tracker("longterm", patience=60).tracks.max_lost_frames == 60
    assert make_tracker("longterm", 14.0, patience=20).tracks.max_lost_frames == 20
    assert make_tracker("longterm", 1.0, patience=20).tracks.max_lost_frames == 20
    assert make_tracker("reid", 14.0).tracks.max_lost_frames == 0  # dies at its first miss
    # The shipped GNN's patience, tuned by train_gnn and stored in its model.json.
    assert tuned_patience() == 120
    assert make_tracker("gnn").tracks.max_lost_frames == 120
    assert make_tracker("gnn", 14.0, patience=90).tracks.max_lost_frames == 90
    with pytest.raises(ValueError, match="patience applies to longterm and gnn, not iou"):
        make_tracker("iou", patience=10)
    with pytest.raises(ValueError, match="patience must be >= 1"):
        make_tracker("longterm", patience=0)


def test_validation_scenes_are_their_own():
    seeds = validation_seeds(6)
    assert len(set(seeds)) == 6 and 0 not in seeds  # 0: the demo
    reid_scenes = {scene_seed(0, part, j) for part in (0, 1) for j in range(200)}
    assert not reid_scenes & set(seeds)


def test_tuning_picks_the_best_gate_of_independent_runs(tmp_path):
    extractor = ColorHistogramExtractor()
    gates = (0.05, 0.5, 2.0)
    tuning = tune_appearance_gate(extractor, 2, gates, scene=SMALL, progress=False)
    assert tuning.gates == gates and tuning.idf1.shape == (3,)
    assert tuning.idf1_per_scene.shape == (2, 3)
    assert tuning.gate == gates[int(np.argmax(tuning.idf1))]
    # The same numbers from scratch, scene by scene, for every gate.
    pairs = {g: {} for g in gates}
    for j, seed in enumerate(validation_seeds(2)):
        seq = read_sequence(
            generate_sequence(tmp_path, dataclasses.replace(SMALL, seed=seed), name=f"S{j}")
        )
        features = embed_sequence_detections(seq, extractor)
        for g in gates:
            run = track_sequence(
                make_tracker("longterm", appearance_gate=g), seq, features=features
            )
            pairs[g][seq.info.name] = (seq.gt, run.results)
    expected = [evaluate(pairs[g])["OVERALL"]["IDF1"] for g in gates]
    np.testing.assert_allclose(tuning.idf1, expected)
    # A gate of 0.05 rejects most true matches of colour histograms: fragmented tracks.
    assert tuning.idf1[0] < tuning.idf1[1]
    assert "chosen gate" in tuning.table() and json.dumps(tuning.to_json())
    with pytest.raises(ValueError, match="at least one"):
        tune_appearance_gate(extractor, 0, gates)


def test_tune_gate_pipeline_writes_the_gate_a_checkpoint_carries(tmp_path, capsys):
    from pipelines import tune_gate

    config = ReIDModelConfig(depth=18, width=4, embed_dim=16, num_classes=5, input_size=(32, 16))
    export_reid_model(build_reid_model(config, nnx.Rngs(0)), config, tmp_path / "m")
    assert gate_of(make_extractor("reid", tmp_path / "m")) is None  # not tuned yet
    weights = sorted(p.read_bytes() for p in (tmp_path / "m" / "state").rglob("*") if p.is_file())
    args = ["--extractor", "reid", "--checkpoint", str(tmp_path / "m"), "--scenes", "1",
            "--frames", "12", "--gates", "0.5", "2.0", "--write", "--json",
            str(tmp_path / "t.json"), "--no-progress"]  # fmt: skip
    assert tune_gate.main(args) == 0
    tuned = json.loads((tmp_path / "t.json").read_text())
    assert tuned["gate"] in (0.5, 2.0) and "chosen gate" in capsys.readouterr().out
    assert gate_of(make_extractor("reid", tmp_path / "m")) == tuned["gate"]
    after = sorted(p.read_bytes() for p in (tmp_path / "m" / "state").rglob("*") if p.is_file())
    assert after == weights  # only the manifest changed
    with pytest.raises(SystemExit):
        tune_gate.main(["--extractor", "histogram", "--write"])
